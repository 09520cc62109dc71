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
    """Mean squared error over the last axis: ``mean(square(y_true - y_pred), axis=-1)``.

    Also exported as ``mse``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.mean_squared_error(jnp.array([[0., 1.], [1., 1.]]), jnp.array([[1., 1.], [1., 0.]]))
    Array([0.5, 0.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean absolute error over the last axis: ``mean(abs(y_true - y_pred), axis=-1)``.

    Also exported as ``mae``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.mean_absolute_error(jnp.array([[0., 1.], [1., 3.]]), jnp.array([[1., 1.], [1., 0.]]))
    Array([0.5, 1.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """Mean absolute percentage error: ``100 * mean(abs((y_true - y_pred) / y_true), axis=-1)``.

    ``abs(y_true)`` is floored at ``1e-7``. Also exported as ``mape``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.mean_absolute_percentage_error(jnp.array([[2., 4.]]), jnp.array([[1., 4.]]))
    Array([25.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean squared logarithmic error: ``mean(square(log(1 + y_pred) - log(1 + y_true)), axis=-1)``.

    Both inputs are floored at ``1e-7``. Also exported as ``msle``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.mean_squared_logarithmic_error(jnp.array([[0., 1.]]), jnp.array([[0., 1.]]))
    Array([0.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    """Huber loss: quadratic for ``|error| <= delta``, linear beyond; averaged over the last axis.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).
        delta: The error size where the loss turns from quadratic to linear.

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.huber(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]))
    Array([0.18], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    return jnp.mean(jnp.where(abs_error <= delta, 0.5 * jnp.square(error),
                              delta * abs_error - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """Log-cosh loss: ``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.log_cosh(jnp.array([[0., 0.]]), jnp.array([[0., 0.]]))
    Array([0.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype), axis=-1)


def _l2_normalize(x, axis=-1):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / EPSILON)


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """Negative cosine similarity along ``axis`` (minimizing it aligns the vectors).

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).
        axis: The axis along which the vectors lie.

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.cosine_similarity(jnp.array([[0., 1.], [1., 0.]]), jnp.array([[0., 2.], [-1., 0.]]))
    Array([-1.,  1.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# Loss objects ------------------------------------------------------------------------

class MeanSquaredError(_FunctionLoss):
    """Mean of squared errors over the last axis (Keras's ``"mse"``).

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"mean_squared_error"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.MeanSquaredError()(jnp.array([[0., 1.], [1., 1.]]), jnp.array([[1., 1.], [1., 0.]])))
    0.5
    """

    _fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"


class MeanAbsoluteError(_FunctionLoss):
    """Mean of absolute errors over the last axis (Keras's ``"mae"``).

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"mean_absolute_error"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.MeanAbsoluteError()(jnp.array([[0., 1.], [1., 1.]]), jnp.array([[1., 1.], [1., 0.]])))
    0.5
    """

    _fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_FunctionLoss):
    """``100 * mean(|(y_true - y_pred) / y_true|)`` over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"mean_absolute_percentage_error"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.MeanAbsolutePercentageError()(jnp.array([[2., 4.]]), jnp.array([[1., 4.]])))
    25.0
    """

    _fn = staticmethod(mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_FunctionLoss):
    """Mean of squared ``log(1 + x)`` differences over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"mean_squared_logarithmic_error"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.MeanSquaredLogarithmicError()(jnp.array([[0., 1.]]), jnp.array([[0., 1.]])))
    0.0
    """

    _fn = staticmethod(mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


class LogCosh(_FunctionLoss):
    """Mean of ``log(cosh(y_pred - y_true))`` over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"log_cosh"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.LogCosh()(jnp.array([[0., 0.]]), jnp.array([[0., 0.]])))
    0.0
    """

    _fn = staticmethod(log_cosh)
    default_name = "log_cosh"


class Huber(_FunctionLoss):
    """Huber loss: quadratic for ``|error| <= delta``, linear beyond.

    Args:
        delta: The error size where the loss turns from quadratic to linear.
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"huber_loss"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.Huber()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]])))
    0.18...
    """

    _fn = staticmethod(huber)
    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.delta = float(delta)

    def _fn_kwargs(self):
        return {"delta": self.delta}


class CosineSimilarity(_FunctionLoss):
    """Negative cosine similarity along ``axis`` (``-1`` when aligned, ``1`` when opposite).

    Args:
        axis: The axis along which the vectors lie.
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"cosine_similarity"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CosineSimilarity()(jnp.array([[0., 1.]]), jnp.array([[0., 3.]])))
    -1.0
    """

    _fn = staticmethod(cosine_similarity)
    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.axis = int(axis)

    def _fn_kwargs(self):
        return {"axis": self.axis}
