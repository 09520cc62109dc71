"""Regression losses: squared, absolute, percentage and logarithmic errors, Huber, log-cosh, cosine."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.losses.base import EPSILON, _FunctionLoss, _pair

__all__ = [
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "CosineSimilarity",
    "mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error",
    "mape", "mean_squared_logarithmic_error", "msle", "huber", "log_cosh", "cosine_similarity",
]


# Per-sample loss functions -------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``.

    >>> mean_squared_error(jnp.array([[0., 1.]]), jnp.array([[1., 1.]]))
    Array([0.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(1 + y_pred) - log(1 + y_true)), axis=-1)`` with inputs floored at epsilon."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    """Quadratic for ``|error| <= delta``, linear beyond; averaged over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    return jnp.mean(jnp.where(abs_error <= delta, 0.5 * jnp.square(error),
                              delta * abs_error - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype), axis=-1)


def _l2_normalize(x, axis=-1):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / EPSILON)


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """The negative cosine similarity along ``axis`` (so that minimizing it aligns the vectors)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# Loss objects ------------------------------------------------------------------------

class MeanSquaredError(_FunctionLoss):
    """Mean of squared errors over the last axis."""

    _fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"


class MeanAbsoluteError(_FunctionLoss):
    """Mean of absolute errors over the last axis."""

    _fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_FunctionLoss):
    """``100 * mean(|(y_true - y_pred) / y_true|)`` over the last axis."""

    _fn = staticmethod(mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_FunctionLoss):
    """Mean of squared ``log(1 + x)`` differences over the last axis."""

    _fn = staticmethod(mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


class LogCosh(_FunctionLoss):
    """Mean of ``log(cosh(y_pred - y_true))`` over the last axis."""

    _fn = staticmethod(log_cosh)
    default_name = "log_cosh"


class Huber(_FunctionLoss):
    """Huber loss: quadratic for ``|error| <= delta``, linear beyond.

    >>> round(float(Huber()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]))), 4)
    0.18
    """

    _fn = staticmethod(huber)
    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.delta = float(delta)

    def _fn_kwargs(self):
        return {"delta": self.delta}


class CosineSimilarity(_FunctionLoss):
    """Negative cosine similarity along ``axis``."""

    _fn = staticmethod(cosine_similarity)
    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.axis = int(axis)

    def _fn_kwargs(self):
        return {"axis": self.axis}
