"""Accuracy metrics: exact, binary, categorical, sparse and top-k accuracy, and how ``"accuracy"`` is resolved.

The module is not called ``accuracy``: that is the name of the metric function
``hl.metrics.accuracy``, which a submodule of the same name would shadow.
"""

from __future__ import annotations

import jax.numpy as jnp

from highlevel import losses as _losses
from highlevel.metrics.base import Metric, _MeanOf, _squeeze_or_expand

__all__ = [
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
]


# Per-sample metric functions ----------------------------------------------------------

def accuracy(y_true, y_pred):
    """1.0 where ``y_pred == y_true`` exactly, else 0.0.

    Args:
        y_true: Targets, shape ``[B, ...]``.
        y_pred: Predictions, the shape of ``y_true``.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.accuracy(jnp.array([1., 2., 3.]), jnp.array([1., 2., 0.]))
    Array([1., 1., 0.], dtype=float32)
    """
    y_pred = jnp.asarray(y_pred)
    y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
    return (y_true == y_pred).astype(jnp.float32)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1.0 where ``(y_pred > threshold) == y_true``, else 0.0.

    Args:
        y_true: Binary labels (0 or 1), shape ``[B, ...]``.
        y_pred: Probabilities (or scores), the shape of ``y_true``.
        threshold: Predictions above it count as 1.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.binary_accuracy(jnp.array([[1.], [0.]]), jnp.array([[0.7], [0.6]]))
    Array([[1.], [0.]], dtype=float32)
    """
    y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true), jnp.asarray(y_pred))
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(jnp.float32)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` over the last axis.

    Args:
        y_true: One-hot labels, shape ``[B, ..., C]``.
        y_pred: Predicted scores, shape ``[B, ..., C]``.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.categorical_accuracy(jnp.array([[0., 1.], [1., 0.]]), jnp.array([[0.3, 0.7], [0.4, 0.6]]))
    Array([1., 0.], dtype=float32)
    """
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def _sparse_labels(y_true, y_pred):
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label is ``argmax(y_pred)``, else 0.0.

    Args:
        y_true: Integer labels, shape ``[B, ...]`` or ``[B, ..., 1]``.
        y_pred: Predicted scores, shape ``[B, ..., C]``.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.sparse_categorical_accuracy(jnp.array([1, 0]), jnp.array([[0.3, 0.7], [0.4, 0.6]]))
    Array([1., 0.], dtype=float32)
    """
    y_pred = jnp.asarray(y_pred)
    # Compared in float32: a bfloat16 prediction dtype cannot hold every class index.
    y_true = _sparse_labels(y_true, y_pred).astype(jnp.float32)
    return (y_true == jnp.argmax(y_pred, axis=-1).astype(jnp.float32)).astype(jnp.float32)


def _in_top_k(labels, y_pred, k: int):
    at_label = jnp.take_along_axis(y_pred, labels[..., None].astype(jnp.int32), axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(y_pred > at_label, axis=-1)
    return (rank <= k).astype(jnp.float32)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1.0 where the one-hot label's class is among the ``k`` highest predictions.

    Args:
        y_true: One-hot labels, shape ``[B, ..., C]``.
        y_pred: Predicted scores, shape ``[B, ..., C]``.
        k: How many of the highest predictions count as a hit.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.top_k_categorical_accuracy(jnp.array([[0., 0., 1.]]), jnp.array([[0.5, 0.3, 0.2]]), k=2)
    Array([0.], dtype=float32)
    """
    return _in_top_k(jnp.argmax(y_true, axis=-1), jnp.asarray(y_pred), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1.0 where the integer label is among the ``k`` highest predictions.

    Args:
        y_true: Integer labels, shape ``[B, ...]`` or ``[B, ..., 1]``.
        y_pred: Predicted scores, shape ``[B, ..., C]``.
        k: How many of the highest predictions count as a hit.

    Returns:
        Per-sample values, 1.0 or 0.0 (float32), shape ``[B, ...]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.metrics.sparse_top_k_categorical_accuracy(jnp.array([1]), jnp.array([[0.5, 0.3, 0.2]]), k=2)
    Array([1.], dtype=float32)
    """
    y_pred = jnp.asarray(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


# Metric objects ------------------------------------------------------------------------

class Accuracy(_MeanOf):
    """How often ``y_pred`` equals ``y_true`` exactly.

    Args:
        name: The name in logs and configs (default ``"accuracy"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.Accuracy()
    >>> m.result(m.update(m.init(), jnp.array([1., 2., 3., 4.]), jnp.array([1., 2., 0., 4.])))
    0.75
    """

    default_name, direction = "accuracy", "up"

    def values(self, y_true, y_pred):
        return accuracy(y_true, y_pred)


class BinaryAccuracy(_MeanOf):
    """How often ``y_pred > threshold`` matches the binary label.

    Args:
        threshold: Predictions above it count as 1.
        name: The name in logs and configs (default ``"binary_accuracy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.BinaryAccuracy()
    >>> m.result(m.update(m.init(), jnp.array([[1.], [0.]]), jnp.array([[0.7], [0.6]])))
    0.5
    """

    default_name, direction = "binary_accuracy", "up"

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        super().__init__(name)
        self.threshold = float(threshold)

    def values(self, y_true, y_pred):
        return binary_accuracy(y_true, y_pred, self.threshold)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(_MeanOf):
    """How often ``argmax(y_pred)`` matches the one-hot label's class.

    Args:
        name: The name in logs and configs (default ``"categorical_accuracy"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.CategoricalAccuracy()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.], [1., 0.]]), jnp.array([[0.3, 0.7], [0.4, 0.6]])))
    0.5
    """

    default_name, direction = "categorical_accuracy", "up"

    def values(self, y_true, y_pred):
        return categorical_accuracy(y_true, y_pred)


class SparseCategoricalAccuracy(_MeanOf):
    """How often ``argmax(y_pred)`` equals the integer label.

    Args:
        name: The name in logs and configs (default ``"sparse_categorical_accuracy"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SparseCategoricalAccuracy()
    >>> m.result(m.update(m.init(), jnp.array([1, 0]), jnp.array([[0.3, 0.7], [0.4, 0.6]])))
    0.5
    """

    default_name, direction = "sparse_categorical_accuracy", "up"

    def values(self, y_true, y_pred):
        return sparse_categorical_accuracy(y_true, y_pred)


class TopKCategoricalAccuracy(_MeanOf):
    """How often the one-hot label's class is among the ``k`` highest predictions.

    Args:
        k: How many of the highest predictions count as a hit.
        name: The name in logs and configs (default ``"top_k_categorical_accuracy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.TopKCategoricalAccuracy(k=2)
    >>> y_pred = jnp.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    >>> m.result(m.update(m.init(), jnp.array([[0., 0., 1.], [1., 0., 0.]]), y_pred))
    0.5
    """

    default_name, direction = "top_k_categorical_accuracy", "up"

    def __init__(self, k: int = 5, name: str | None = None):
        super().__init__(name)
        self.k = int(k)

    def values(self, y_true, y_pred):
        return top_k_categorical_accuracy(y_true, y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(_MeanOf):
    """How often the integer label is among the ``k`` highest predictions.

    Args:
        k: How many of the highest predictions count as a hit.
        name: The name in logs and configs (default ``"sparse_top_k_categorical_accuracy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SparseTopKCategoricalAccuracy(k=2)
    >>> m.result(m.update(m.init(), jnp.array([1, 2]), jnp.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])))
    0.5
    """

    default_name, direction = "sparse_top_k_categorical_accuracy", "up"

    def __init__(self, k: int = 5, name: str | None = None):
        super().__init__(name)
        self.k = int(k)

    def values(self, y_true, y_pred):
        return sparse_top_k_categorical_accuracy(y_true, y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class _AutoAccuracy(_MeanOf):
    """``"accuracy"`` whose kind is picked from the traced shapes with Keras 3's rule."""

    default_name, direction = "accuracy", "up"

    def values(self, y_true, y_pred):
        kind = _accuracy_kind_from_shapes(jnp.shape(y_true), jnp.shape(y_pred))
        return _ACCURACY_FUNCTIONS[kind](y_true, y_pred)


# "accuracy" resolution ----------------------------------------------------------------

_ACCURACY_FUNCTIONS = {"binary": binary_accuracy, "sparse": sparse_categorical_accuracy,
                       "categorical": categorical_accuracy}
_ACCURACY_CLASSES = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                     "categorical": CategoricalAccuracy}


def _accuracy_kind_from_shapes(y_true_shape, y_pred_shape) -> str:
    """Keras 3's ``compile_utils.get_metric`` rule."""
    if y_pred_shape[-1] == 1:
        return "binary"
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return "sparse"
    return "categorical"


def _accuracy_kind_from_loss(loss) -> str | None:
    if loss is None:
        return None
    try:
        loss = _losses.get(loss)
    except (ValueError, TypeError):
        return None
    if isinstance(loss, _losses.BinaryCrossentropy):
        return "binary"
    if isinstance(loss, _losses.SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, _losses.CategoricalCrossentropy):
        return "categorical"
    return None


def _resolve_accuracy(name: str, loss, output_shape, target_shape) -> Metric:
    kind = _accuracy_kind_from_loss(loss)
    if kind is None and output_shape is not None:
        if target_shape is not None:
            kind = _accuracy_kind_from_shapes(tuple(target_shape), tuple(output_shape))
        elif tuple(output_shape)[-1] == 1:
            kind = "binary"
    if kind is None:
        return _AutoAccuracy(name=name)
    return _ACCURACY_CLASSES[kind](name=name)
