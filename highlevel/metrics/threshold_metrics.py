"""Metrics at a constrained operating point: sensitivity at specificity, precision at recall, ..."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from highlevel.metrics.base import Metric, _divide_no_nan
from highlevel.metrics.confusion_metrics import _confusion_inputs, confusion_at_thresholds

__all__ = ["SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
           "RecallAtPrecision"]


class _AtConstraint(Metric):
    """Abstract: the best ``dependent`` rate over thresholds whose ``constrained`` rate reaches a value.

    Confusion counts accumulate at ``num_thresholds`` thresholds ``0, 1/(n-1), ..., 1`` (one
    threshold, 0.5, for ``num_thresholds=1``), as Keras's ``SensitivitySpecificityBase``.
    """

    direction = "up"
    _value_name: str   # the constructor argument: "specificity", "recall", ...

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)
        cls = type(self).__name__
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{cls}: {self._value_name} must be in [0, 1], got "
                             f"{self._value_name}={value}.")
        if int(num_thresholds) <= 0:
            raise ValueError(f"{cls}: num_thresholds must be an integer > 0, got "
                             f"num_thresholds={num_thresholds}.")
        self.value = float(value)
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        n = self.num_thresholds
        self.thresholds = [0.5] if n == 1 else [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0]

    def init(self):
        zeros = jnp.zeros((len(self.thresholds),), jnp.float32)
        return {"tp": zeros, "fp": zeros, "tn": zeros, "fn": zeros}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = _confusion_inputs(y_true, y_pred, sample_weight)
        if self.class_id is not None:
            if y_pred.ndim < 2:
                raise ValueError(f"{type(self).__name__}(class_id={self.class_id}) needs predictions of "
                                 f"shape (batch, classes), got {y_pred.shape}; drop class_id for one output.")
            y_true, y_pred, w = (a[..., self.class_id] for a in (y_true, y_pred, w))
        counts = confusion_at_thresholds(y_true, y_pred, w, self.thresholds, self.num_thresholds > 1)
        return {k: state[k] + counts[k] for k in ("tp", "fp", "tn", "fn")}

    def _rates(self, state):
        tp, fp, tn, fn = (np.asarray(state[k], np.float32) for k in ("tp", "fp", "tn", "fn"))
        return {"sensitivity": _divide_no_nan(tp, tp + fn), "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def _best(self, state, constrained: str, dependent: str) -> float:
        rates = self._rates(state)
        feasible = rates[constrained] >= self.value
        return float(np.max(np.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self):
        return {"name": self.name, "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) over thresholds whose specificity is at least ``specificity``.

    Args:
        specificity: The specificity to reach, in [0, 1].
        num_thresholds: The number of thresholds over [0, 1] (1: the single threshold 0.5).
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"sensitivity_at_specificity"``).
        dtype: Accepted for Keras compatibility (float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    probabilities of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SensitivityAtSpecificity(0.5)
    >>> m.update_state(jnp.array([0, 0, 0, 1, 1]), jnp.array([0, 0.3, 0.8, 0.3, 0.8]))
    >>> m.result()
    0.5
    """

    default_name, _value_name = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    @property
    def specificity(self) -> float:
        return self.value

    def result(self, state) -> float:
        return self._best(state, "specificity", "sensitivity")


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity over thresholds whose sensitivity (recall) is at least ``sensitivity``.

    Args:
        sensitivity: The sensitivity to reach, in [0, 1].
        num_thresholds: The number of thresholds over [0, 1] (1: the single threshold 0.5).
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"specificity_at_sensitivity"``).
        dtype: Accepted for Keras compatibility (float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    probabilities of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SpecificityAtSensitivity(0.5)
    >>> m.update_state(jnp.array([0, 0, 0, 1, 1]), jnp.array([0, 0.3, 0.8, 0.3, 0.8]))
    >>> round(m.result(), 4)
    0.6667
    """

    default_name, _value_name = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    @property
    def sensitivity(self) -> float:
        return self.value

    def result(self, state) -> float:
        return self._best(state, "sensitivity", "specificity")


class PrecisionAtRecall(_AtConstraint):
    """The best precision over thresholds whose recall is at least ``recall``.

    Args:
        recall: The recall to reach, in [0, 1].
        num_thresholds: The number of thresholds over [0, 1] (1: the single threshold 0.5).
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"precision_at_recall"``).
        dtype: Accepted for Keras compatibility (float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    probabilities of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.PrecisionAtRecall(0.5)
    >>> m.update_state(jnp.array([0, 0, 0, 1, 1]), jnp.array([0, 0.3, 0.8, 0.3, 0.8]))
    >>> m.result()
    0.5
    """

    default_name, _value_name = "precision_at_recall", "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    @property
    def recall(self) -> float:
        return self.value

    def result(self, state) -> float:
        return self._best(state, "sensitivity", "precision")


class RecallAtPrecision(_AtConstraint):
    """The best recall over thresholds whose precision is at least ``precision``.

    Args:
        precision: The precision to reach, in [0, 1].
        num_thresholds: The number of thresholds over [0, 1] (1: the single threshold 0.5).
        class_id: Compute the metric for this class (last-axis index) only.
        name: The name in logs and configs (default ``"recall_at_precision"``).
        dtype: Accepted for Keras compatibility (float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes binary labels and
    probabilities of the same shape ``[B, ...]`` and ``[B]`` weights.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.RecallAtPrecision(0.8)
    >>> m.update_state(jnp.array([0, 0, 1, 1]), jnp.array([0, 0.5, 0.3, 0.9]))
    >>> m.result()
    0.5
    """

    default_name, _value_name = "recall_at_precision", "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    @property
    def precision(self) -> float:
        return self.value

    def result(self, state) -> float:
        return self._best(state, "precision", "sensitivity")
