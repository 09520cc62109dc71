"""The train state: one immutable pytree carried from compiled step to compiled step."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

__all__ = ["TrainState"]


@struct.dataclass
class TrainState:
    """Everything a train step reads and writes.

    Attributes:
      step: the number of optimizer steps taken (int32 scalar).
      params: the trainable weights (an ``nnx.State``).
      non_trainable: every other variable of the model except hyperparameters:
        moving statistics, frozen weights, random-stream state of wrapped modules.
      opt_state: the optax state (with ``hyperparams["learning_rate"]``).
      rng: the random key, split once per step.
      metrics: the on-device accumulators of the training metrics.
    """

    step: jax.Array
    params: Any
    non_trainable: Any
    opt_state: Any
    rng: jax.Array
    metrics: Any

    @classmethod
    def create(cls, *, params, non_trainable, opt_state, rng, metrics, step=None) -> "TrainState":
        import jax.numpy as jnp
        return cls(step=jnp.zeros((), jnp.int32) if step is None else step, params=params,
                   non_trainable=non_trainable, opt_state=opt_state, rng=rng, metrics=metrics)
