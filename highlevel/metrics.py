"""Metrics by Keras name, as pure functions over a small state that lives on the device.

A metric is three functions, so that it accumulates inside a compiled step and is
read on the host only when someone looks::

    state = metric.init()                                    # pytree of float32 zeros
    state = metric.update(state, y_true, y_pred, sample_weight)   # pure, jit-able
    value = metric.result(jax.device_get(state))             # NumPy on the host

``sample_weight`` has one weight per sample (shape ``[B]``); a weight of zero makes a
row count for nothing, which is how padded rows of a last partial batch are ignored.
``result`` uses NumPy only, so reading a metric never compiles anything.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "AUC", "Precision", "Recall",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "get", "serialize",
    "deserialize",
]

_squeeze_or_expand = _losses.squeeze_or_expand_to_same_rank
_NEG_INF = -1e10  # Keras's stand-in for "not in the top k"


# Per-sample metric functions ----------------------------------------------------------

def accuracy(y_true, y_pred):
    """1.0 where ``y_pred == y_true`` exactly, else 0.0."""
    y_pred = jnp.asarray(y_pred)
    y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
    return (y_true == y_pred).astype(jnp.float32)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1.0 where ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true), jnp.asarray(y_pred))
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(jnp.float32)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` over the last axis."""
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def _sparse_labels(y_true, y_pred):
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label ``y_true`` (``[B]`` or ``[B, 1]``) is ``argmax(y_pred)``."""
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
    """1.0 where the one-hot label's class is among the ``k`` highest predictions."""
    return _in_top_k(jnp.argmax(y_true, axis=-1), jnp.asarray(y_pred), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1.0 where the integer label is among the ``k`` highest predictions."""
    y_pred = jnp.asarray(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


# State helpers -------------------------------------------------------------------------

def _weights(sample_weight, batch: int):
    if sample_weight is None:
        return jnp.ones((batch,), jnp.float32)
    w = jnp.asarray(sample_weight, jnp.float32)
    if w.ndim == 0:
        return jnp.broadcast_to(w, (batch,))
    if w.ndim == 2 and w.shape[-1] == 1:
        w = jnp.squeeze(w, -1)
    if w.ndim != 1 or w.shape[0] != batch:
        raise ValueError(f"sample_weight must have one weight per sample, shape ({batch},); got "
                         f"shape {w.shape}.")
    return w


def _mean_init():
    return {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}


def _mean_update(state, values, sample_weight):
    values = jnp.asarray(values, jnp.float32)
    if values.ndim == 0:
        values = values[None]
    if values.ndim > 1:  # Keras averages a sample's values before weighting the sample
        values = jnp.mean(values, axis=tuple(range(1, values.ndim)))
    w = _weights(sample_weight, values.shape[0])
    # `where`, not a product: a padded row may hold inf or NaN and must still count as zero.
    weighted = jnp.where(w != 0, values * w, 0.0)
    return {"total": state["total"] + jnp.sum(weighted), "count": state["count"] + jnp.sum(w)}


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _mean_result(state) -> float:
    return float(_divide_no_nan(state["total"], state["count"]))


def _broadcast_weight(w, shape):
    """A ``[B]`` weight broadcast over an array of ``shape`` ``[B, ...]``."""
    return jnp.broadcast_to(jnp.reshape(w, w.shape + (1,) * (len(shape) - 1)), shape)


# Metric objects ------------------------------------------------------------------------

class Metric:
    """Abstract: ``init() -> state``, ``update(state, y_true, y_pred, sample_weight) -> state``,
    ``result(state) -> float``.

    ``init`` and ``update`` are pure ``jax.numpy`` (``update`` is meant to run inside a
    jitted step); ``result`` takes the state as NumPy arrays (``jax.device_get(state)``)
    and computes on the host. ``direction`` is ``"up"`` when larger is better,
    ``"down"`` when smaller is, ``None`` when unknown (for ``mode="auto"`` callbacks).
    """

    default_name = "metric"
    direction: str | None = None

    def __init__(self, name: str | None = None):
        self.name = name or self.default_name

    def init(self) -> dict[str, jax.Array]:
        raise NotImplementedError

    def update(self, state, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self, state) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The weighted mean of values: ``update(state, values, sample_weight=None)``.

    Unlike other metrics (and as in Keras), ``update`` takes the values themselves:
    ``[B]`` per-sample values with ``[B]`` weights, or one scalar with a scalar weight.
    For Keras's logged ``loss``, feed the batch's scalar loss weighted by the number of
    real samples in the batch: ``update(state, loss, n_real)``.

    >>> m = Mean("loss")
    >>> m.result(m.update(m.init(), jnp.array([1.0, 3.0, 5.0]), jnp.array([1.0, 1.0, 0.0])))
    2.0
    """

    default_name = "mean"

    def init(self):
        return _mean_init()

    def update(self, state, values, sample_weight=None):
        return _mean_update(state, values, sample_weight)

    def result(self, state) -> float:
        return _mean_result(state)


class _MeanOf(Metric):
    """Abstract: the weighted mean of ``values(y_true, y_pred)`` (Keras's ``MeanMetricWrapper``)."""

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def init(self):
        return _mean_init()

    def update(self, state, y_true, y_pred, sample_weight=None):
        return _mean_update(state, self.values(y_true, y_pred), sample_weight)

    def result(self, state) -> float:
        return _mean_result(state)


class MeanMetricWrapper(_MeanOf):
    """The weighted mean of any ``fn(y_true, y_pred, **kwargs) -> per-sample values``."""

    def __init__(self, fn: Callable, name: str | None = None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self.fn = fn
        self.fn_kwargs = kwargs
        if isinstance(fn, _losses.Loss) or _losses._is_registered_function(fn):
            self.direction = "down"

    def values(self, y_true, y_pred):
        if isinstance(self.fn, _losses.Loss):
            return self.fn.call(y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        if isinstance(self.fn, _losses.Loss):
            fn = _losses.serialize(self.fn)
        else:
            fn = _losses._function_path(self.fn)
        return {"name": self.name, "fn": fn, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn")
        fn = _losses.get(fn) if isinstance(fn, dict) else _losses._import_function(fn)
        return cls(fn, **config)


class Accuracy(_MeanOf):
    """How often ``y_pred`` equals ``y_true`` exactly."""

    default_name, direction = "accuracy", "up"

    def values(self, y_true, y_pred):
        return accuracy(y_true, y_pred)


class BinaryAccuracy(_MeanOf):
    """How often ``y_pred > threshold`` matches the binary label.

    >>> m = BinaryAccuracy()
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
    """How often ``argmax(y_pred)`` matches the one-hot label's class."""

    default_name, direction = "categorical_accuracy", "up"

    def values(self, y_true, y_pred):
        return categorical_accuracy(y_true, y_pred)


class SparseCategoricalAccuracy(_MeanOf):
    """How often ``argmax(y_pred)`` equals the integer label."""

    default_name, direction = "sparse_categorical_accuracy", "up"

    def values(self, y_true, y_pred):
        return sparse_categorical_accuracy(y_true, y_pred)


class TopKCategoricalAccuracy(_MeanOf):
    """How often the one-hot label's class is among the ``k`` highest predictions."""

    default_name, direction = "top_k_categorical_accuracy", "up"

    def __init__(self, k: int = 5, name: str | None = None):
        super().__init__(name)
        self.k = int(k)

    def values(self, y_true, y_pred):
        return top_k_categorical_accuracy(y_true, y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(_MeanOf):
    """How often the integer label is among the ``k`` highest predictions."""

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


class MeanSquaredError(_MeanOf):
    """Mean of squared errors (per sample over the last axis, then over samples)."""

    default_name, direction = "mean_squared_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(_MeanOf):
    """Mean of absolute errors (per sample over the last axis, then over samples)."""

    default_name, direction = "mean_absolute_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_absolute_error(y_true, y_pred)


class RootMeanSquaredError(_MeanOf):
    """The square root of the weighted mean of squared errors over everything seen."""

    default_name, direction = "root_mean_squared_error", "down"

    def values(self, y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
        return jnp.square(y_pred - y_true)

    def result(self, state) -> float:
        return float(np.sqrt(_mean_result(state)))


class BinaryCrossentropy(_MeanOf):
    """Mean binary crossentropy (see ``hl.losses.binary_crossentropy``)."""

    default_name, direction = "binary_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(name)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true), jnp.asarray(y_pred))
        return _losses.binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_MeanOf):
    """Mean categorical crossentropy (see ``hl.losses.categorical_crossentropy``)."""

    default_name, direction = "categorical_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(name)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def values(self, y_true, y_pred):
        return _losses.categorical_crossentropy(y_true, y_pred, self.from_logits,
                                                self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(_MeanOf):
    """Mean sparse categorical crossentropy (see ``hl.losses.sparse_categorical_crossentropy``)."""

    default_name, direction = "sparse_categorical_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False):
        super().__init__(name)
        self.from_logits = bool(from_logits)

    def values(self, y_true, y_pred):
        return _losses.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


# Confusion-matrix metrics --------------------------------------------------------------

def _confusion_inputs(y_true, y_pred, sample_weight):
    """Aligned float labels, predictions and per-entry weights, as Keras aligns them."""
    y_pred = jnp.asarray(y_pred, jnp.float32)
    y_true = jnp.asarray(y_true, jnp.float32)
    y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
    w = _weights(sample_weight, y_pred.shape[0] if y_pred.ndim else 1)
    return y_true, y_pred, _broadcast_weight(w, y_pred.shape)


class _PrecisionRecall(Metric):
    """Abstract: true positives plus false positives (precision) or false negatives (recall)."""

    direction = "up"
    _other = "fp"

    def __init__(self, thresholds: float | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None):
        super().__init__(name)
        if isinstance(thresholds, (list, tuple)):
            if len(thresholds) != 1:
                raise ValueError(
                    f"{type(self).__name__} takes one threshold, got thresholds={thresholds}: "
                    "create one metric per threshold (each with its own name).")
            thresholds = thresholds[0]
        if thresholds is not None and not 0.0 <= float(thresholds) <= 1.0:
            raise ValueError(f"{type(self).__name__} threshold must be in [0, 1], got {thresholds}.")
        self.thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # With top_k and no threshold, Keras counts every top-k entry as predicted positive.
        self._threshold = (0.5 if top_k is None else _NEG_INF) if thresholds is None else float(thresholds)

    def init(self):
        return {"tp": jnp.zeros((), jnp.float32), self._other: jnp.zeros((), jnp.float32)}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = _confusion_inputs(y_true, y_pred, sample_weight)
        if self.top_k is not None:
            top = jax.lax.top_k(y_pred, self.top_k)[1]
            in_top = jnp.sum(jax.nn.one_hot(top, y_pred.shape[-1]), axis=-2) > 0
            y_pred = jnp.where(in_top, y_pred, _NEG_INF)
        if self.class_id is not None:
            if y_pred.ndim < 2:
                raise ValueError(f"{type(self).__name__}(class_id={self.class_id}) needs "
                                 f"predictions of shape (batch, classes), got {y_pred.shape}.")
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
            w = w[..., self.class_id]
        pred_pos = y_pred > self._threshold
        label_pos = y_true != 0
        other = (~label_pos & pred_pos) if self._other == "fp" else (label_pos & ~pred_pos)
        return {"tp": state["tp"] + jnp.sum(jnp.where(label_pos & pred_pos, w, 0.0)),
                self._other: state[self._other] + jnp.sum(jnp.where(other, w, 0.0))}

    def result(self, state) -> float:
        return float(_divide_no_nan(state["tp"], np.asarray(state["tp"]) + state[self._other]))

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` with predictions above ``thresholds`` (default 0.5) as positive.

    Args:
        thresholds: one threshold in [0, 1] (0.5 by default; use 0 for logits).
        top_k: count only the ``k`` highest predictions of each sample as positive.
        class_id: compute the metric for this class (last-axis index) only.
    """

    default_name, _other = "precision", "fp"


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` with predictions above ``thresholds`` (default 0.5) as positive.

    Args: as ``Precision``.
    """

    default_name, _other = "recall", "fn"


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at ``num_thresholds`` thresholds.

    The counts and the interpolation follow ``keras.metrics.AUC`` (trapezoids for ROC,
    Davis & Goadrich interpolation for PR). All labels and predictions are flattened
    (Keras's ``multi_label=False``).

    Args:
        num_thresholds: thresholds evenly spaced over [0, 1] (with 0 - eps and 1 + eps ends).
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        thresholds: explicit thresholds in [0, 1], instead of ``num_thresholds``.
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    default_name, direction = "auc", "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 thresholds=None, from_logits: bool = False):
        super().__init__(name)
        self.curve = str(curve).upper()
        if self.curve not in ("ROC", "PR"):
            raise ValueError(f"AUC curve must be 'ROC' or 'PR', got {curve!r}.")
        self.summation_method = str(summation_method).lower()
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("AUC summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}.")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            if any(t < 0.0 or t > 1.0 for t in inner):
                raise ValueError(f"AUC thresholds must be in [0, 1], got {list(thresholds)}.")
            self.num_thresholds = len(inner) + 2
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"AUC num_thresholds must be an integer > 1, got {num_thresholds}.")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self._explicit = thresholds is not None
        eps = _losses.EPSILON
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps], np.float32)
        self.from_logits = bool(from_logits)

    @property
    def thresholds(self) -> list[float]:
        return [float(t) for t in self._thresholds]

    def init(self):
        zeros = jnp.zeros((self.num_thresholds,), jnp.float32)
        return {"tp": zeros, "fp": zeros, "tn": zeros, "fn": zeros}

    def update(self, state, y_true, y_pred, sample_weight=None):
        if self.from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        y_true, y_pred, w = _confusion_inputs(y_true, y_pred, sample_weight)
        pos = (y_true != 0).astype(jnp.float32).reshape(-1)
        y_pred, w = y_pred.reshape(-1), w.reshape(-1)
        true_w, false_w = pos * w, (1.0 - pos) * w
        n = self.num_thresholds
        if self._explicit:
            above = y_pred[None, :] > jnp.asarray(self._thresholds)[:, None]
            tp = jnp.sum(jnp.where(above, true_w[None, :], 0.0), axis=1)
            fp = jnp.sum(jnp.where(above, false_w[None, :], 0.0), axis=1)
        else:
            # Keras's O(N + T) form for even thresholds: a prediction is above thresholds
            # 0..bucket, so count it in its bucket and sum the buckets from the top.
            bucket = jnp.ceil(jnp.clip(y_pred, 0.0, 1.0) * (n - 1)) - 1
            bucket = jnp.maximum(bucket, 0).astype(jnp.int32)
            tp = jnp.cumsum(jnp.zeros((n,), jnp.float32).at[bucket].add(true_w)[::-1])[::-1]
            fp = jnp.cumsum(jnp.zeros((n,), jnp.float32).at[bucket].add(false_w)[::-1])[::-1]
        return {"tp": state["tp"] + tp, "fp": state["fp"] + fp,
                "tn": state["tn"] + (jnp.sum(false_w) - fp),
                "fn": state["fn"] + (jnp.sum(true_w) - tp)}

    def result(self, state) -> float:
        tp, fp, tn, fn = (np.asarray(state[k], np.float64) for k in ("tp", "fp", "tn", "fn"))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return float(_interpolate_pr_auc(tp, fp, fn))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def get_config(self):
        config = {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "from_logits": self.from_logits}
        if self._explicit:
            config["thresholds"] = self.thresholds[1:-1]
        return config


def _interpolate_pr_auc(tp, fp, fn):
    """Keras's PR-AUC interpolation (Davis & Goadrich 2006), on NumPy arrays."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _divide_no_nan(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
    log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
    return np.sum(_divide_no_nan(slope * (dtp + intercept * log_ratio),
                                 np.maximum(tp[1:] + fn[1:], 0)))


# Registry and "accuracy" resolution ----------------------------------------------------

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


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, AUC, Precision, Recall)}
_NAMES: dict[str, type] = {_snake(name): cls for name, cls in _CLASSES.items()}
_NAMES.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
               "MAE": MeanAbsoluteError, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy})
_CLASSES.update({"MeanMetricWrapper": MeanMetricWrapper, "AutoAccuracy": _AutoAccuracy})


def _known() -> str:
    return ", ".join(sorted({"accuracy", "acc"} | set(_NAMES) | set(_CLASSES) - {"AutoAccuracy"}))


def get(identifier, loss=None, output_shape=None, target_shape=None) -> Metric:
    """A ``Metric`` from a Keras name, a ``{"class_name", "config"}`` dict, a ``Metric``
    (returned as is), a ``Metric`` class, a ``hl.losses.Loss`` or a callable
    ``fn(y_true, y_pred) -> per-sample values`` (its weighted mean).

    A string names the metric in logs, as in Keras (``"mse"`` logs as ``mse``).
    ``"accuracy"``/``"acc"`` picks its kind, first from ``loss`` (binary crossentropy:
    ``BinaryAccuracy``; sparse categorical crossentropy: ``SparseCategoricalAccuracy``;
    categorical crossentropy: ``CategoricalAccuracy``), else from the shapes with Keras 3's
    rule (``output_shape[-1] == 1``: binary; a target of lower rank or last dimension 1:
    sparse; otherwise categorical). Shapes may include the batch dimension. When neither
    settles it, the kind is decided from the shapes seen when ``update`` is traced.

    >>> get("acc", loss="sparse_categorical_crossentropy")
    SparseCategoricalAccuracy(name='acc')
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _resolve_accuracy(identifier, loss, output_shape, target_shape)
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None or cls in (MeanMetricWrapper, _AutoAccuracy):
            raise ValueError(f"Unknown metric {identifier!r}. Known metrics: {_known()}; or pass "
                             "a hl.metrics.Metric or a function fn(y_true, y_pred) -> "
                             "per-sample values.")
        return cls(name=identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, _losses.Loss):
        return MeanMetricWrapper(identifier, name=identifier.name)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"A metric must be a name, a config dict, a hl.metrics.Metric or a callable, "
                    f"got {identifier!r}.")


def serialize(metric: Metric) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a ``Metric`` (``get`` reads it back)."""
    if not isinstance(metric, Metric):
        metric = get(metric)
    name = "AutoAccuracy" if isinstance(metric, _AutoAccuracy) else type(metric).__name__
    return {"class_name": name, "config": metric.get_config()}


def deserialize(config: dict[str, Any]) -> Metric:
    """The ``Metric`` described by ``{"class_name": ..., "config": ...}``."""
    if "class_name" not in config:
        raise ValueError(f"A metric config needs a 'class_name' key, got {config!r}.")
    name = config["class_name"]
    cls = _CLASSES.get(name) or _NAMES.get(name)
    if cls is None:
        raise ValueError(f"Unknown metric class {name!r} in config. Known metrics: {_known()}.")
    return cls.from_config(config.get("config", {}))
