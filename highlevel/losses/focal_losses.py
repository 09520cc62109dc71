"""Focal and noise-robust crossentropies: binary and categorical focal crossentropy, generalized CE."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.losses.base import EPSILON, _float, _FunctionLoss, _pair, _same_shape

__all__ = [
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
]


# Per-sample loss functions -------------------------------------------------------------

def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1):
    """Binary crossentropy scaled by ``(1 - p_t) ** gamma``, averaged over ``axis``.

    ``p_t`` is the predicted probability of the true label; with
    ``apply_class_balancing`` positives are also weighted by ``alpha`` and negatives by
    ``1 - alpha`` (Lin et al., 2017), as ``keras.losses.binary_focal_crossentropy``.

    Args:
        y_true: Labels in [0, 1], shape ``[B, ..., D]``.
        y_pred: Probabilities (or logits), the shape of ``y_true`` (a trailing axis of size 1
            on either is dropped or added to match, as Keras does).
        apply_class_balancing: Whether to weight positives by ``alpha``, negatives by ``1 - alpha``.
        alpha: The positive-class weight used with ``apply_class_balancing``.
        gamma: The focusing exponent (0 gives plain binary crossentropy).
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Squeezes labels towards 0.5 by this amount (0 to 1).
        axis: The axis averaged over.

    Returns:
        Per-sample losses, ``y_pred``'s shape without ``axis``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.binary_focal_crossentropy(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]), gamma=2.0)
    Array([0.32986...], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    _same_shape("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1):
    """Categorical crossentropy with each class term scaled by ``alpha * (1 - p) ** gamma``.

    Probabilities are renormalized to sum to one over ``axis`` and clipped to
    ``[1e-7, 1 - 1e-7]``, as ``keras.losses.categorical_focal_crossentropy``.

    Args:
        y_true: One-hot (or soft) labels, shape ``[B, ..., C]``.
        y_pred: Probabilities (or logits), the shape of ``y_true``.
        alpha: The weight of every class term.
        gamma: The focusing exponent.
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Mixes labels with the uniform distribution by this amount (0 to 1).
        axis: The class axis, summed over.

    Returns:
        Per-sample losses, ``y_pred``'s shape without ``axis``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.categorical_focal_crossentropy(jnp.array([[0., 1., 0.]]), jnp.array([[0.1, 0.5, 0.4]]))
    Array([0.04332...], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    _same_shape("categorical_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    return jnp.sum(alpha * jnp.power(1.0 - p, gamma) * -y_true * jnp.log(p), axis=axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q: float = 0.5):
    """Generalized crossentropy ``(1 - p ** q) / q`` of the true class's probability ``p``.

    Zhang & Sabuncu (2018): between crossentropy (``q`` near 0) and mean absolute error
    (``q = 1``), robust to noisy labels; as ``keras.losses.categorical_generalized_cross_entropy``.

    Args:
        y_true: Integer class indices, shape ``[B, ...]``.
        y_pred: Class probabilities, shape ``[B, ..., C]``.
        q: The exponent, in (0, 1).

    Returns:
        Per-sample losses, shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.categorical_generalized_cross_entropy(jnp.array([1]), jnp.array([[0.75, 0.25]]), q=0.5)
    Array([1.], dtype=float32)
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "categorical_generalized_cross_entropy: y_true must be integer labels of y_pred's "
            f"shape without its class axis, got y_true.shape={y_true.shape} and "
            f"y_pred.shape={y_pred.shape}; pass labels, not one-hot rows.")
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * one_hot, axis=-1)
    return (1.0 - jnp.power(p, q)) / q


# Loss objects ------------------------------------------------------------------------

class BinaryFocalCrossentropy(_FunctionLoss):
    """Binary focal crossentropy (see :func:`binary_focal_crossentropy`).

    Args:
        apply_class_balancing: Whether to weight positives by ``alpha``, negatives by ``1 - alpha``.
        alpha: The positive-class weight used with ``apply_class_balancing``.
        gamma: The focusing exponent.
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Squeezes labels towards 0.5 by this amount (0 to 1).
        axis: The axis averaged over.
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"binary_focal_crossentropy"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.BinaryFocalCrossentropy()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]])))
    0.3298...
    """

    _fn = staticmethod(binary_focal_crossentropy)
    default_name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)

    def _fn_kwargs(self):
        return {"apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalFocalCrossentropy(_FunctionLoss):
    """Categorical focal crossentropy (see :func:`categorical_focal_crossentropy`).

    Args:
        alpha: The weight of every class term.
        gamma: The focusing exponent.
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Mixes labels with the uniform distribution by this amount (0 to 1).
        axis: The class axis.
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's,
            ``"categorical_focal_crossentropy"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CategoricalFocalCrossentropy()(jnp.array([[0., 1., 0.]]), jnp.array([[0.1, 0.5, 0.4]])))
    0.0433...
    """

    _fn = staticmethod(categorical_focal_crossentropy)
    default_name = "categorical_focal_crossentropy"

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)

    def _fn_kwargs(self):
        return {"alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalGeneralizedCrossEntropy(_FunctionLoss):
    """Generalized crossentropy for integer labels (see :func:`categorical_generalized_cross_entropy`).

    Args:
        q: The exponent, in (0, 1): near 0 acts as crossentropy, near 1 as mean absolute error.
        reduction: How ``__call__`` reduces the per-sample losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's,
            ``"categorical_generalized_cross_entropy"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CategoricalGeneralizedCrossEntropy()(jnp.array([1]), jnp.array([[0.75, 0.25]])))
    1.0
    """

    _fn = staticmethod(categorical_generalized_cross_entropy)
    default_name = "categorical_generalized_cross_entropy"

    def __init__(self, q: float = 0.5, reduction="sum_over_batch_size", name=None):
        if not 0.0 < float(q) < 1.0:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in (0, 1), got q={q}.")
        super().__init__(name=name, reduction=reduction)
        self.q = float(q)

    def _fn_kwargs(self):
        return {"q": self.q}
