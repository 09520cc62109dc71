"""Hinge losses (maximum-margin classification): hinge, squared hinge, categorical hinge."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.losses.base import _FunctionLoss, _pair

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge", "hinge", "squared_hinge", "categorical_hinge"]


# Per-sample loss functions -------------------------------------------------------------

def _hinge_labels(y_true):
    # Keras maps {0, 1} labels to {-1, 1}; labels already in {-1, 1} are kept.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Hinge loss: ``mean(max(1 - y_true * y_pred, 0), axis=-1)``.

    Labels are in {-1, 1}; labels in {0, 1} are mapped to {-1, 1}.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.hinge(jnp.array([[0., 1.]]), jnp.array([[0.5, 0.5]]))
    Array([1.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Squared hinge loss: ``mean(square(max(1 - y_true * y_pred, 0)), axis=-1)``.

    Labels are in {-1, 1}; labels in {0, 1} are mapped to {-1, 1}.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.squared_hinge(jnp.array([[0., 1.]]), jnp.array([[0.5, 0.5]]))
    Array([1.25], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """Categorical hinge loss: ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    ``y_true`` is one-hot over the last axis.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.categorical_hinge(jnp.array([[0., 1., 0.]]), jnp.array([[0.2, 0.7, 0.1]]))
    Array([0.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)



# Loss objects ------------------------------------------------------------------------

class Hinge(_FunctionLoss):
    """Mean hinge loss for labels in {-1, 1} or {0, 1}.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"hinge"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.Hinge()(jnp.array([[0., 1.]]), jnp.array([[0.5, 0.5]])))
    1.0
    """

    _fn = staticmethod(hinge)
    default_name = "hinge"


class SquaredHinge(_FunctionLoss):
    """Mean squared hinge loss for labels in {-1, 1} or {0, 1}.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"squared_hinge"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.SquaredHinge()(jnp.array([[0., 1.]]), jnp.array([[0.5, 0.5]])))
    1.25
    """

    _fn = staticmethod(squared_hinge)
    default_name = "squared_hinge"


class CategoricalHinge(_FunctionLoss):
    """Categorical hinge loss for one-hot labels, over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"categorical_hinge"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CategoricalHinge()(jnp.array([[0., 1., 0.]]), jnp.array([[0.2, 0.7, 0.1]])))
    0.5
    """

    _fn = staticmethod(categorical_hinge)
    default_name = "categorical_hinge"
