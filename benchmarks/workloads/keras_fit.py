"""Keras 3 on the JAX backend, default settings (and optionally steps_per_execution)."""

from __future__ import annotations

import os

keras = None


def import_framework() -> None:
    global keras
    os.environ["KERAS_BACKEND"] = "jax"
    import keras as _keras
    keras = _keras
    from workloads.hl_fit import _warm_backend
    _warm_backend()


def train(w, x, y, on_epoch_end, steps_per_execution: int = 1, policy: str | None = None):
    """``policy``: Keras's dtype policy for the model ("mixed_bfloat16"); float32 by default."""
    from workloads import keras_style, spec

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch_end(float(logs["loss"]))

    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(policy or "float32")
    try:
        model = keras_style.build(keras, w)
    finally:
        keras.config.set_dtype_policy("float32")
    loss = "mse" if w.task == "regression" else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(spec.LEARNING_RATE), loss=loss,
                  steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=w.batch_size, epochs=w.epochs, verbose=0, callbacks=[Clock()])
    return {"steps_per_execution": steps_per_execution, "policy": model.layers[-1].dtype_policy.name,
            "optimizer": type(model.optimizer).__name__}
