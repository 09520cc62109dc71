"""highlevel through its public API: build, compile, fit(verbose=0)."""

from __future__ import annotations

hl = None


def import_framework() -> None:
    global hl
    import highlevel
    hl = highlevel
    _warm_backend()


def _warm_backend() -> None:
    # Start the XLA client here, so that it counts as import time in every JAX framework alike.
    import jax
    jax.numpy.zeros(()).block_until_ready()


def train(w, x, y, on_epoch_end, steps_per_execution: int | str = 1):
    from workloads import keras_style, spec

    class Clock(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch_end(float(logs["loss"]))

    hl.utils.set_random_seed(0)
    model = keras_style.build(hl, w)
    loss = "mse" if w.task == "regression" else hl.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=hl.optimizers.Adam(spec.LEARNING_RATE), loss=loss,
                  steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=w.batch_size, epochs=w.epochs, verbose=0, callbacks=[Clock()])
    # "auto" resolved. (A checkout from before the trainer seam, run with --tree, has no model.trainer.)
    trainer = model.trainer if hasattr(model, "trainer") else getattr(model, "_trainer")
    return {"steps_per_execution": trainer.steps_per_execution}
