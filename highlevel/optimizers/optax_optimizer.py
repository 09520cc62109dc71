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
    was built with ``optax.inject_hyperparams(...)(learning_rate=...)``.

    Args:
        tx: The optax transformation.
        name: The optimizer's name (default ``"optax"``).

    >>> import highlevel as hl, optax
    >>> opt = hl.optimizers.OptaxOptimizer(optax.inject_hyperparams(optax.sgd)(learning_rate=0.1))
    >>> round(opt.learning_rate, 6)
    0.1
    """

    default_name = "optax"

    def __init__(self, tx: optax.GradientTransformation, name: str | None = None):
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"OptaxOptimizer wraps an optax.GradientTransformation, got {tx!r}.")
        self.tx = tx
        self.name = name or self.default_name
        self._learning_rate = None
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._getter = self._setter = None

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
        return self.tx

    def get_config(self) -> dict[str, Any]:
        raise ValueError("A raw optax transformation has no config to save; use an hl.optimizers "
                         "optimizer (e.g. hl.optimizers.Adam) to save and restore the optimizer.")

    def __repr__(self) -> str:
        return f"OptaxOptimizer({self.tx!r})"


# Registry --------------------------------------------------------------------------------
