"""The trainer's side of the optimizer numerics: loss scaling chosen at compile, EMA weights at the end of fit.

The arithmetic lives in the optimizer (``highlevel/optimizers/numerics.py``,
``loss_scale_optimizer.py``) and its state; the step multiplies the loss by the optimizer's
``loss_scale`` (``training/step.py``). What is left for the host loop is here.
"""

from __future__ import annotations

import jax
import numpy as np

from highlevel import mixed_precision as _mixed_precision
from highlevel import optimizers as _optimizers

__all__ = ["auto_loss_scale", "finalize_ema", "state_getter"]


def _float16_policy(model) -> bool:
    """Whether ``model`` or one of its layers has the ``"mixed_float16"`` policy (a model loaded while
    the global policy was float32 keeps its layers' policies, not its own)."""
    layers = model.flatten_layers() if hasattr(model, "flatten_layers") else [model]
    return any(getattr(layer, "dtype_policy", None) is not None
               and _mixed_precision.get(layer.dtype_policy).name == "mixed_float16" for layer in layers)


def auto_loss_scale(model, optimizer, auto_scale_loss: bool = True):
    """``optimizer`` in a ``LossScaleOptimizer`` when ``model`` computes under ``"mixed_float16"`` (Keras's
    ``compile(auto_scale_loss=True)``), else as given."""
    if (not auto_scale_loss or isinstance(optimizer, _optimizers.LossScaleOptimizer)
            or not hasattr(optimizer, "loss_scale") or not _float16_policy(model)):
        return optimizer
    return _optimizers.LossScaleOptimizer(optimizer, name="loss_scale_optimizer")


def state_getter(program):
    """``() -> opt_state`` of ``program``'s live state (None before it exists), for ``optimizer.bind``."""
    def get():
        return program.live.get().opt_state if program.ready else None
    return get


def finalize_ema(trainer) -> bool:
    """At the end of ``fit``: the trained weights take their moving averages (``use_ema=True``), as
    Keras's ``optimizer.finalize_variable_values``. Nothing happens before the first applied
    update. Returns whether the weights changed."""
    state = trainer.state
    if state is None or not _optimizers.has_ema(state.opt_state):
        return False
    done = _optimizers.iterations(state.opt_state)
    if done is None or int(np.max(np.asarray(jax.device_get(done)))) == 0:
        return False
    averages = _optimizers.ema_weights(state.opt_state, state.params)
    # Copies: the optimizer state keeps its averages, and a step donates each buffer once.
    params = jax.tree_util.tree_map(
        lambda a: jax.device_put(a, None if a.is_fully_addressable else a.sharding, may_alias=False), averages)
    trainer.state = state.replace(params=params)
    return True
