"""Probabilistic losses: binary, categorical and sparse crossentropy, KL divergence, Poisson."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.losses.base import EPSILON, _float, _FunctionLoss, _pair, _same_shape

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson",
]


# Per-sample loss functions -------------------------------------------------------------

def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0):
    """Binary crossentropy averaged over the last axis.

    Probabilities are clipped to ``[1e-7, 1 - 1e-7]``; with ``from_logits=True`` the
    stable ``-t * log_sigmoid(x) - (1 - t) * log_sigmoid(-x)`` is used.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Squeezes labels towards 0.5 by this amount (0 to 1).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.binary_crossentropy(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]))
    Array([0.91629...], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    _same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=-1)


def _log_probs(y_pred, from_logits: bool):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=-1)
    p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0):
    """Crossentropy between one-hot (or soft) labels and predictions over the last axis.

    Probabilities are renormalized to sum to one and clipped to ``[1e-7, 1 - 1e-7]``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Mixes labels with the uniform distribution by this amount (0 to 1).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.categorical_crossentropy(jnp.array([[0., 1., 0.]]), jnp.array([[0.05, 0.95, 0.]]))
    Array([0.05129...], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    _same_shape("categorical_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    """Crossentropy between integer labels and predicted class probabilities (or logits).

    Args:
        y_true: Integer class indices (int or float dtype), shape ``[B, ...]`` or ``[B, ..., 1]``.
        y_pred: Predictions, shape ``[B, ..., C]``.
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).

    Returns:
        Per-sample losses, shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.sparse_categorical_crossentropy(jnp.array([1]), jnp.array([[0.05, 0.95, 0.]]))
    Array([0.05129...], dtype=float32)
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: y_true must have the shape of y_pred without its "
            f"last (class) axis, got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}. "
            "Labels are integers of shape [B] or [B, 1]; for one-hot labels use "
            "categorical_crossentropy.")
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    return -jnp.sum(one_hot * _log_probs(y_pred, from_logits), axis=-1)


def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence: ``sum(y_true * log(y_true / y_pred), axis=-1)``.

    Both inputs are clipped to ``[1e-7, 1]``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.kl_divergence(jnp.array([[0.5, 0.5]]), jnp.array([[0.5, 0.5]]))
    Array([0.], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    y_true = jnp.clip(y_true, EPSILON, 1.0)
    y_pred = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """Poisson loss: ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

    Args:
        y_true: Targets, shape ``[B, ..., D]``.
        y_pred: Predictions, the shape of ``y_true`` (a trailing axis of size 1 on either
            is dropped or added to match, as Keras does).

    Returns:
        Per-sample losses, shape ``[B, ...]`` (the last axis reduced).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.poisson(jnp.array([[0., 0.]]), jnp.array([[1., 2.]]))
    Array([1.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)



# Loss objects ------------------------------------------------------------------------

class BinaryCrossentropy(_FunctionLoss):
    """Binary crossentropy for labels in {0, 1} (or soft labels).

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Squeezes labels towards 0.5 by this amount (0 to 1).
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"binary_crossentropy"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.BinaryCrossentropy()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]])))
    0.916...
    """

    _fn = staticmethod(binary_crossentropy)
    default_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_FunctionLoss):
    """Crossentropy for one-hot labels ``[B, C]`` against ``[B, C]`` predictions.

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Mixes labels with the uniform distribution by this amount (0 to 1).
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"categorical_crossentropy"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CategoricalCrossentropy()(jnp.array([[0., 1., 0.]]), jnp.array([[0.05, 0.95, 0.]])))
    0.0512...
    """

    _fn = staticmethod(categorical_crossentropy)
    default_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(_FunctionLoss):
    """Crossentropy for integer labels ``[B]`` or ``[B, 1]`` against ``[B, C]`` predictions.

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"sparse_categorical_crossentropy"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.SparseCategoricalCrossentropy(from_logits=True)(jnp.array([0]), jnp.array([[0., 0.]])))
    0.693...
    """

    _fn = staticmethod(sparse_categorical_crossentropy)
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits}


class KLDivergence(_FunctionLoss):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"kl_divergence"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.KLDivergence()(jnp.array([[0.5, 0.5]]), jnp.array([[0.5, 0.5]])))
    0.0
    """

    _fn = staticmethod(kl_divergence)
    default_name = "kl_divergence"


class Poisson(_FunctionLoss):
    """Mean of ``y_pred - y_true * log(y_pred)`` over the last axis.

    Args:
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"poisson"``).

    Called as ``loss(y_true, y_pred, sample_weight=None, mask=None)`` on ``[B, ..., D]``
    inputs; returns a scalar (or ``[B, ...]`` per-sample losses with ``reduction=None``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.Poisson()(jnp.array([[0., 0.]]), jnp.array([[1., 2.]])))
    1.5
    """

    _fn = staticmethod(poisson)
    default_name = "poisson"
