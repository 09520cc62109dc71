"""Confusion-matrix metrics: Precision, Recall, AUC (ROC and PR) and the four counts, on the device."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses
from highlevel.metrics.base import (Metric, _broadcast_weight, _divide_no_nan,
                                    _squeeze_or_expand, _weights)

__all__ = ["Precision", "Recall", "AUC", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]


_NEG_INF = -1e10  # Keras's stand-in for "not in the top k"


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
    """``tp / (tp + fp)``, with predictions above ``thresholds`` (default 0.5) as positive.

    Args:
        thresholds: One threshold in [0, 1] (0.5 by default; use 0 for logits).
        top_k: Count only the ``k`` highest predictions of each sample as positive.
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"precision"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    predictions of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.Precision()
    >>> m.result(m.update(m.init(), jnp.array([1., 0., 1., 0.]), jnp.array([0.9, 0.8, 0.2, 0.1])))
    0.5
    """

    default_name, _other = "precision", "fp"


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)``, with predictions above ``thresholds`` (default 0.5) as positive.

    Args:
        thresholds: One threshold in [0, 1] (0.5 by default; use 0 for logits).
        top_k: Count only the ``k`` highest predictions of each sample as positive.
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"recall"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    predictions of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.Recall()
    >>> m.result(m.update(m.init(), jnp.array([1., 1., 1., 0.]), jnp.array([0.9, 0.8, 0.2, 0.1])))
    0.666...
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
        name: the name in logs and configs (default ``"auc"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.AUC(num_thresholds=11)
    >>> m.result(m.update(m.init(), jnp.array([0., 0., 1., 1.]), jnp.array([0.1, 0.6, 0.35, 0.8])))
    0.75
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
        counts = confusion_at_thresholds(y_true, y_pred, w, self._thresholds, not self._explicit)
        return {k: state[k] + counts[k] for k in ("tp", "fp", "tn", "fn")}

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


def confusion_at_thresholds(y_true, y_pred, weight, thresholds, evenly: bool):
    """Weighted ``tp``, ``fp``, ``tn``, ``fn`` at each threshold (prediction above it: positive).

    ``evenly``: the thresholds are ``0, 1/(n-1), ..., 1`` (their ends may be nudged outwards by
    an epsilon, as AUC's), and Keras's O(N + T) bucket form is used. With a first threshold
    below 0 every prediction is above it; with one of exactly 0 a prediction of 0 is not.
    """
    pos = (y_true != 0).astype(jnp.float32).reshape(-1)
    y_pred, weight = y_pred.reshape(-1), weight.reshape(-1)
    true_w, false_w = pos * weight, (1.0 - pos) * weight
    total_true, total_false = jnp.sum(true_w), jnp.sum(false_w)
    n = len(thresholds)
    if not evenly:
        above = y_pred[None, :] > jnp.asarray(thresholds, jnp.float32)[:, None]
        tp = jnp.sum(jnp.where(above, true_w[None, :], 0.0), axis=1)
        fp = jnp.sum(jnp.where(above, false_w[None, :], 0.0), axis=1)
    else:
        # Keras's O(N + T) form for even thresholds: a prediction is above thresholds
        # 0..bucket, so count it in its bucket and sum the buckets from the top.
        bucket = (jnp.ceil(jnp.clip(y_pred, 0.0, 1.0) * (n - 1)) - 1).astype(jnp.int32)
        if thresholds[0] >= 0.0:
            # A first threshold of exactly 0: a prediction of 0 is above none (Keras's rule).
            true_w, false_w = jnp.where(bucket >= 0, true_w, 0.0), jnp.where(bucket >= 0, false_w, 0.0)
        bucket = jnp.maximum(bucket, 0)
        tp = jnp.cumsum(jnp.zeros((n,), jnp.float32).at[bucket].add(true_w)[::-1])[::-1]
        fp = jnp.cumsum(jnp.zeros((n,), jnp.float32).at[bucket].add(false_w)[::-1])[::-1]
    return {"tp": tp, "fp": fp, "tn": total_false - fp, "fn": total_true - tp}


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


class _ConfusionCount(Metric):
    """Abstract: the weighted count of one cell of the binary confusion matrix at each threshold."""

    _cell: tuple[bool, bool]   # (label positive, predicted positive)

    def __init__(self, thresholds=None, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)
        values = [0.5] if thresholds is None else (list(thresholds) if isinstance(thresholds, (list, tuple))
                                                     else [thresholds])
        if not values or any(not 0.0 <= float(t) <= 1.0 for t in values):
            raise ValueError(f"{type(self).__name__}: thresholds must be in [0, 1], got {thresholds!r}.")
        self.thresholds = thresholds
        self._values = [float(t) for t in values]

    def init(self):
        return {"count": jnp.zeros((len(self._values),), jnp.float32)}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = _confusion_inputs(y_true, y_pred, sample_weight)
        label_pos = (y_true != 0)[None]
        pred_pos = y_pred[None] > jnp.asarray(self._values, jnp.float32).reshape((-1,) + (1,) * y_pred.ndim)
        label_want, pred_want = self._cell
        hit = (label_pos == label_want) & (pred_pos == pred_want)
        counted = jnp.sum(jnp.where(hit, w[None], 0.0), axis=tuple(range(1, hit.ndim)))
        return {"count": state["count"] + counted}

    def result(self, state):
        count = np.asarray(state["count"], np.float32)
        return float(count[0]) if not isinstance(self.thresholds, (list, tuple)) else count

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds}


class TruePositives(_ConfusionCount):
    """The weighted number of true positives (labels != 0 predicted above the threshold).

    Args:
        thresholds: A threshold in [0, 1] (0.5 by default) or a list of them (the result is then
            one count per threshold).
        name: The name in logs and configs (default ``"true_positives"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.TruePositives()
    >>> m.update_state(jnp.array([0, 1, 1, 1]), jnp.array([1.0, 0.0, 1.0, 1.0]))
    >>> m.result()
    2.0
    """

    default_name, direction, _cell = "true_positives", "up", (True, True)


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives (labels 0 predicted above the threshold).

    Args:
        thresholds: A threshold in [0, 1] (0.5 by default) or a list of them.
        name: The name in logs and configs (default ``"false_positives"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.FalsePositives()
    >>> m.update_state(jnp.array([0, 1, 0, 0]), jnp.array([0.0, 0.0, 1.0, 1.0]))
    >>> m.result()
    2.0
    """

    default_name, direction, _cell = "false_positives", "down", (False, True)


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives (labels 0 predicted at or below the threshold).

    Args:
        thresholds: A threshold in [0, 1] (0.5 by default) or a list of them.
        name: The name in logs and configs (default ``"true_negatives"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.TrueNegatives()
    >>> m.update_state(jnp.array([0, 1, 0, 0]), jnp.array([1.0, 1.0, 0.0, 0.0]))
    >>> m.result()
    2.0
    """

    default_name, direction, _cell = "true_negatives", "up", (False, False)


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives (labels != 0 predicted at or below the threshold).

    Args:
        thresholds: A threshold in [0, 1] (0.5 by default) or a list of them.
        name: The name in logs and configs (default ``"false_negatives"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.FalseNegatives()
    >>> m.update_state(jnp.array([0, 1, 1, 1]), jnp.array([0.1, 1.0, 0.0, 0.0]))
    >>> m.result()
    2.0
    """

    default_name, direction, _cell = "false_negatives", "down", (True, False)
