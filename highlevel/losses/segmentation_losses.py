"""Overlap losses for segmentation: Dice and Tversky."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.losses.base import EPSILON, _FunctionLoss, _pair, reduce_weighted_values

__all__ = ["Dice", "Tversky", "dice", "tversky"]


def _axis(axis):
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else (
        None if axis is None else int(axis))


def dice(y_true, y_pred, axis=None):
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis``.

    As ``keras.losses.dice``: with ``axis=None`` (the default) the sums run over every
    entry of the batch and the result is one scalar; pass ``axis=(1, 2, 3)`` for one loss per
    image of a ``[B, H, W, C]`` batch.

    Args:
        y_true: Targets (masks in [0, 1]), any shape.
        y_pred: Predictions, the shape of ``y_true``.
        axis: The axis or axes summed over (``None``: all).

    Returns:
        The losses, ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.dice(jnp.array([[1., 0.], [1., 1.]]), jnp.array([[1., 0.], [0., 1.]]))
    Array(0.19999..., dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis) + EPSILON
    return 1.0 - 2.0 * intersection / total


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None):
    """``1 - tp / (tp + alpha * fp + beta * fn + 1e-7)`` with soft counts summed over ``axis``.

    As ``keras.losses.tversky``, whose counts are ``tp = sum(y_true * y_pred)``,
    ``fp = sum((1 - y_pred) * y_true)`` and ``fn = sum(y_pred * (1 - y_true))``
    (so ``alpha`` weighs missed positives and ``beta`` false alarms). ``alpha = beta = 0.5``
    gives the Dice loss.

    Args:
        y_true: Targets (masks in [0, 1]), any shape.
        y_pred: Predictions, the shape of ``y_true``.
        alpha: The weight of the ``(1 - y_pred) * y_true`` term.
        beta: The weight of the ``y_pred * (1 - y_true)`` term.
        axis: The axis or axes summed over (``None``: all).

    Returns:
        The losses, ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.tversky(jnp.array([[1., 0.], [1., 1.]]), jnp.array([[1., 0.], [0., 1.]]), alpha=1.0, beta=0.0)
    Array(0.33333..., dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    axis = _axis(axis)
    tp = jnp.sum(y_true * y_pred, axis=axis)
    fp = jnp.sum((1.0 - y_pred) * y_true, axis=axis)
    fn = jnp.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - tp / (tp + alpha * fp + beta * fn + EPSILON)


class _OverlapLoss(_FunctionLoss):
    """Abstract: a loss that may be one scalar per batch, which sample weights then scale."""

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss; with ``axis=None`` a ``[B]`` weight scales the batch's one value.

        Args:
            y_true: Targets.
            y_pred: Predictions, the shape of ``y_true``.
            sample_weight: Optional weights (see :class:`Loss`).
            mask: Optional booleans (see :class:`Loss`).
        """
        values = self.call(y_true, y_pred)
        if values.ndim == 0:
            # Keras multiplies the scalar by the weights: the batch's value times mean weight.
            for extra in (sample_weight, mask):
                if extra is not None and jnp.ndim(extra):
                    values = jnp.broadcast_to(values, jnp.shape(extra))
                    break
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def call_on_rows(self, y_true, y_pred, rows):
        """The losses with padding rows zeroed, so that they add nothing to any sum.

        Args:
            y_true: Targets, ``[B, ...]``.
            y_pred: Predictions, ``[B, ...]``.
            rows: ``[B]`` floats, 1 for a real row and 0 for padding.
        """
        y_true, y_pred = _pair(y_true, y_pred)
        rows = jnp.asarray(rows, y_pred.dtype)

        def keep(a):
            return a * rows.reshape(rows.shape + (1,) * (a.ndim - 1)) if a.ndim else a
        return self.call(keep(y_true), keep(y_pred)), None


class Dice(_OverlapLoss):
    """The Dice loss (see :func:`dice`).

    Args:
        reduction: How ``__call__`` reduces the losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"dice"``).
        axis: The axis or axes summed over (``None``, the default: all, one value per batch).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.Dice()(jnp.array([[1., 0.], [1., 1.]]), jnp.array([[1., 0.], [0., 1.]])))
    0.19999...
    """

    _fn = staticmethod(dice)
    default_name = "dice"

    def __init__(self, reduction="sum_over_batch_size", name=None, axis=None):
        super().__init__(name=name, reduction=reduction)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def _fn_kwargs(self):
        return {"axis": self.axis}


class Tversky(_OverlapLoss):
    """The Tversky loss (see :func:`tversky`).

    Args:
        alpha: The weight of the ``(1 - y_pred) * y_true`` term.
        beta: The weight of the ``y_pred * (1 - y_true)`` term.
        reduction: How ``__call__`` reduces the losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"tversky"``).
        axis: The axis or axes summed over (``None``, the default: all, one value per batch).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.Tversky(alpha=1.0, beta=0.0)(jnp.array([[1., 0.], [1., 1.]]), jnp.array([[1., 0.], [0., 1.]])))
    0.333...
    """

    _fn = staticmethod(tversky)
    default_name = "tversky"

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction="sum_over_batch_size",
                 name=None, axis=None):
        super().__init__(name=name, reduction=reduction)
        self.alpha, self.beta = float(alpha), float(beta)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def _fn_kwargs(self):
        return {"alpha": self.alpha, "beta": self.beta, "axis": self.axis}
