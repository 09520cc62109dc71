"""Correlation metrics: the mean Pearson and concordance correlation along an axis."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel import losses as _losses
from highlevel.metrics.base import _MeanOf

__all__ = ["PearsonCorrelation", "ConcordanceCorrelation", "pearson_correlation",
           "concordance_correlation"]


def _aligned(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    y_pred = y_pred.astype(jnp.promote_types(y_pred.dtype, jnp.float32))
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return _losses.squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1):
    """The Pearson correlation coefficient of ``y_true`` and ``y_pred`` along ``axis``.

    As ``keras.metrics.pearson_correlation``: both are centred and divided by their
    (population) standard deviation, then the mean of their product is taken. A constant
    row gives NaN, as in Keras.

    Args:
        y_true: Targets, shape ``[B, D]``.
        y_pred: Predictions, the shape of ``y_true``.
        axis: The axis along which the correlation is computed.

    Returns:
        The coefficients, ``y_pred``'s shape without ``axis``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.pearson_correlation(jnp.array([[1., 2., 3.]]), jnp.array([[2., 4., 7.]]))
    Array([0.99339...], dtype=float32)
    """
    y_true, y_pred = _aligned(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1):
    """Lin's concordance correlation coefficient along ``axis``, computed as Keras does.

    ``mean(2 * (y_true - mean(y_pred)) * (y_pred - mean(y_pred)) / (var(y_true) + var(y_pred)
    + (mean(y_true) - mean(y_pred)) ** 2 + 1e-7))``: the covariance term centres ``y_true``
    on ``y_pred``'s mean, as ``keras.metrics.concordance_correlation`` does (textbook CCC
    centres it on its own mean; the two agree when the means are equal).

    Args:
        y_true: Targets, shape ``[B, D]``.
        y_pred: Predictions, the shape of ``y_true``.
        axis: The axis along which the coefficient is computed.

    Returns:
        The coefficients, ``y_pred``'s shape without ``axis``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.concordance_correlation(jnp.array([[1., 2., 3.]]), jnp.array([[1., 2., 3.]]))
    Array([0.99999...], dtype=float32)
    """
    y_true, y_pred = _aligned(y_true, y_pred)
    true_mean = jnp.mean(y_true, axis=axis, keepdims=True)
    pred_mean = jnp.mean(y_pred, axis=axis, keepdims=True)
    true_var = jnp.var(y_true, axis=axis, keepdims=True)
    pred_var = jnp.var(y_pred, axis=axis, keepdims=True)
    covar = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + jnp.square(true_mean - pred_mean)
    return jnp.mean(2.0 * covar / (norm + _losses.EPSILON), axis=axis)


class PearsonCorrelation(_MeanOf):
    """The weighted mean over samples of :func:`pearson_correlation` along ``axis``.

    Args:
        name: The name in logs and configs (default ``"pearson_correlation"``).
        dtype: Accepted for Keras compatibility (float32).
        axis: The axis along which each sample's correlation is computed.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.PearsonCorrelation()
    >>> m.update_state(jnp.array([[1., 2., 3.], [1., 2., 3.]]), jnp.array([[1., 2., 3.], [3., 2., 1.]]))
    >>> round(m.result(), 4)
    0.0
    """

    default_name, direction = "pearson_correlation", "up"

    def __init__(self, name: str | None = None, dtype: str | None = None, axis: int = -1):
        super().__init__(name, dtype)
        self.axis = int(axis)

    def values(self, y_true, y_pred):
        return pearson_correlation(y_true, y_pred, axis=self.axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class ConcordanceCorrelation(_MeanOf):
    """The weighted mean over samples of :func:`concordance_correlation` along ``axis``.

    Args:
        name: The name in logs and configs (default ``"concordance_correlation"``).
        dtype: Accepted for Keras compatibility (float32).
        axis: The axis along which each sample's coefficient is computed.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.ConcordanceCorrelation()
    >>> m.update_state(jnp.array([[1., 2., 3.]]), jnp.array([[1., 2., 3.]]))
    >>> round(m.result(), 4)
    1.0
    """

    default_name, direction = "concordance_correlation", "up"

    def __init__(self, name: str | None = None, dtype: str | None = None, axis: int = -1):
        super().__init__(name, dtype)
        self.axis = int(axis)

    def values(self, y_true, y_pred):
        return concordance_correlation(y_true, y_pred, axis=self.axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}
