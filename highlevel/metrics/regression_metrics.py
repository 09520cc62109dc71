"""Regression metrics: mean squared, mean absolute and root mean squared error."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses
from highlevel.metrics.base import _MeanOf, _mean_result, _squeeze_or_expand

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError"]


class MeanSquaredError(_MeanOf):
    """Mean of squared errors (per sample over the last axis, then over samples).

    Args:
        name: The name in logs and configs (default ``"mean_squared_error"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanSquaredError()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.], [1., 1.]]), jnp.array([[1., 1.], [1., 0.]])))
    0.5
    """

    default_name, direction = "mean_squared_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(_MeanOf):
    """Mean of absolute errors (per sample over the last axis, then over samples).

    Args:
        name: The name in logs and configs (default ``"mean_absolute_error"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanAbsoluteError()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.], [1., 3.]]), jnp.array([[1., 1.], [1., 0.]])))
    1.0
    """

    default_name, direction = "mean_absolute_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_absolute_error(y_true, y_pred)


class RootMeanSquaredError(_MeanOf):
    """The square root of the weighted mean of squared errors over everything seen.

    Args:
        name: The name in logs and configs (default ``"root_mean_squared_error"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.RootMeanSquaredError()
    >>> m.result(m.update(m.init(), jnp.array([[0.], [0.]]), jnp.array([[3.], [4.]])))
    3.535...
    """

    default_name, direction = "root_mean_squared_error", "down"

    def values(self, y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
        return jnp.square(y_pred - y_true)

    def result(self, state) -> float:
        return float(np.sqrt(_mean_result(state)))
