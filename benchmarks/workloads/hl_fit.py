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


def train(w, x, y, on_epoch_end, steps_per_execution: int | str = 1, policy: str | None = None,
          optimizer_kwargs: dict | None = None):
    """``policy``: a dtype policy for the model ("mixed_bfloat16"); ``optimizer_kwargs``: Adam's extra
    arguments (``gradient_accumulation_steps``, ``use_ema``, ``global_clipnorm``)."""
    from workloads import keras_style, spec

    class Clock(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch_end(float(logs["loss"]))

    hl.utils.set_random_seed(0)
    if policy is None and not hasattr(hl, "mixed_precision"):
        model = keras_style.build(hl, w)  # a checkout from before dtype policies (--tree)
    else:
        with hl.mixed_precision.policy_scope(policy or "float32"):
            model = keras_style.build(hl, w)
    loss = "mse" if w.task == "regression" else hl.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=hl.optimizers.Adam(spec.LEARNING_RATE, **(optimizer_kwargs or {})), loss=loss,
                  steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=w.batch_size, epochs=w.epochs, verbose=0, callbacks=[Clock()])
    # "auto" resolved. (A checkout from before the trainer seam, run with --tree, has no model.trainer.)
    trainer = model.trainer if hasattr(model, "trainer") else getattr(model, "_trainer")
    policy = getattr(model.layers[-1], "dtype_policy", None)
    return {"steps_per_execution": trainer.steps_per_execution,
            "policy": None if policy is None else policy.name, "optimizer": type(model.optimizer).__name__}
