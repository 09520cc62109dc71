"""Any optax transformation used as a highlevel optimizer."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from highlevel.optimizers.base import Optimizer
from highlevel.optimizers.hyperparams import get_hyperparam


class OptaxOptimizer(Optimizer):
    """Wraps any ``optax.GradientTransformation`` as an optimizer.

    Its learning rate can be read (and set, once compiled) only when the transformation
    was built with ``optax.inject_hyperparams(...)(learning_rate=...)``. Keras's clipping,
    gradient accumulation, EMA and loss-scale arguments apply around ``tx`` in Keras's order
    (unscale, accumulate, clip, ``tx``, average); a schedule inside ``tx`` then counts
    applied updates, since ``tx`` sees only those.

    Args:
        tx: The optax transformation.
        name: The optimizer's name (default ``"optax"``).
        clipnorm: Clip each weight's gradient to this L2 norm before ``tx``.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]`` before ``tx``.
        global_clipnorm: Clip all gradients together to this global L2 norm before ``tx``.
        use_ema: Keep an exponential moving average of the weights (as ``Optimizer``).
        ema_momentum: The average's momentum.
        ema_overwrite_frequency: Every this many updates the weights take their averages.
        loss_scale_factor: A fixed loss scale (the loss is multiplied, the gradients divided).
        gradient_accumulation_steps: Apply the mean gradient of this many batches at once.

    >>> import highlevel as hl, optax
    >>> opt = hl.optimizers.OptaxOptimizer(optax.inject_hyperparams(optax.sgd)(learning_rate=0.1))
    >>> round(opt.learning_rate, 6)
    0.1
    """

    default_name = "optax"

    def __init__(self, tx: optax.GradientTransformation, name: str | None = None, *,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None):
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"OptaxOptimizer wraps an optax.GradientTransformation, got {tx!r}.")
        set_clips = [k for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(f"Only one of clipnorm, clipvalue and global_clipnorm can be set, got {set_clips}.")
        self.tx = tx
        self.name = name or self.default_name
        self._learning_rate = None
        self.weight_decay = None
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self._set_numerics(use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                           gradient_accumulation_steps)
        self._getter = self._setter = self._state_getter = None

    @property
    def learning_rate(self) -> float:
        if self._getter is not None:
            value = self._getter()
            if value is not None:
                return float(value)
        try:
            state = self.tx.init({"w": jnp.zeros((1,), jnp.float32)})
        except Exception:  # a transformation that cannot init on a probe parameter
            state = None
        return float(get_hyperparam(state, "learning_rate"))

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._setter is None:
            raise ValueError(
                "The learning rate of a raw optax transformation lives in its state: set it "
                "after compile() (the model's optimizer is then bound to the train state), or "
                "build the transformation with the learning rate you want.")
        self._setter(float(value))

    def to_optax(self) -> optax.GradientTransformation:
        return self._with_numerics(self.tx, clip=True)

    def get_config(self) -> dict[str, Any]:
        raise ValueError("A raw optax transformation has no config to save; use an hl.optimizers "
                         "optimizer (e.g. hl.optimizers.Adam) to save and restore the optimizer.")

    def __repr__(self) -> str:
        return f"OptaxOptimizer({self.tx!r})"


# Registry --------------------------------------------------------------------------------
