"""F-scores: ``FBetaScore`` and ``F1Score``, from true/false positive counts per class, on the device."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from highlevel.metrics.base import Metric, _weights

__all__ = ["FBetaScore", "F1Score"]

_EPSILON = 1e-7


class FBetaScore(Metric):
    """The F-beta score of multi-label (or one-hot multi-class) predictions, as Keras's ``FBetaScore``.

    Predictions become positives where ``y_pred > threshold``, or, with no threshold, where
    they equal their row's maximum (one positive per row). True positives, false positives
    and false negatives are counted per class (over everything seen, weighted), then
    ``(1 + beta^2) * precision * recall / (beta^2 * precision + recall)``.

    Args:
        average: ``None`` (the per-class scores; in ``fit`` logs one entry per class,
            ``fbeta_score_0``...), ``"micro"`` (counts pooled over classes), ``"macro"``
            (the mean of the per-class scores) or ``"weighted"`` (weighted by the classes'
            support).
        beta: The weight of recall (a float > 0).
        threshold: A float in (0, 1], or ``None`` for the row's maximum.
        name: The name in logs and configs (default ``"fbeta_score"``).
        dtype: Accepted for Keras compatibility (float32).

    Inputs are ``(batch, classes)`` for both ``y_true`` (0/1) and ``y_pred``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.FBetaScore(beta=2.0, threshold=0.5, average="micro")
    >>> m.update_state(jnp.array([[1.0, 0.0], [1.0, 1.0]]), jnp.array([[0.9, 0.8], [0.2, 0.7]]))
    >>> round(float(m.result()), 4)
    0.6667
    """

    default_name, direction = "fbeta_score", "up"

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', "
                             f"got {average!r}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{type(self).__name__}: beta must be a Python float > 0, got {beta!r}.")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{type(self).__name__}: threshold must be None or a float in (0, 1], "
                             f"got {threshold!r}.")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.num_classes: int | None = None

    def build(self, output_shape) -> None:
        if self.num_classes is None:
            shape = tuple(output_shape)
            if len(shape) != 2 or shape[-1] is None:
                raise ValueError(f"{type(self).__name__} expects outputs of shape (batch_size, classes), "
                                 f"got {shape}.")
            self.num_classes = int(shape[-1])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self.build(np.shape(y_pred))
        super().update_state(y_true, y_pred, sample_weight)

    def init(self):
        if self.num_classes is None:
            raise ValueError(f"{type(self).__name__} does not know the number of classes yet: compile a model "
                             "with it, or call update_state on a batch first.")
        shape = () if self.average == "micro" else (self.num_classes,)
        zeros = jnp.zeros(shape, jnp.float32)
        return {"tp": zeros, "fp": zeros, "fn": zeros, "support": zeros}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred = jnp.asarray(y_pred, jnp.float32)
        y_true = jnp.asarray(y_true, jnp.float32).reshape(y_pred.shape)
        if self.threshold is None:
            positive = (y_pred >= jnp.max(y_pred, axis=-1, keepdims=True)) & (jnp.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        pred = positive.astype(jnp.float32)
        w = _weights(sample_weight, y_pred.shape[0])[:, None]
        axis = None if self.average == "micro" else 0

        def total(values):
            return jnp.sum(jnp.where(w != 0, values * w, 0.0), axis=axis)

        return {"tp": state["tp"] + total(pred * y_true), "fp": state["fp"] + total(pred * (1 - y_true)),
                "fn": state["fn"] + total((1 - pred) * y_true), "support": state["support"] + total(y_true)}

    def result(self, state):
        tp, fp, fn, support = (np.asarray(state[k], np.float32) for k in ("tp", "fp", "fn", "support"))
        precision = tp / (tp + fp + _EPSILON)
        recall = tp / (tp + fn + _EPSILON)
        b2 = np.float32(self.beta ** 2)
        score = (precision * recall) / (b2 * precision + recall + _EPSILON) * (1 + b2)
        if self.average == "weighted":
            score = np.sum(score * (support / (np.sum(support) + _EPSILON)))
        elif self.average is not None:
            score = np.mean(score)
        return float(score) if np.ndim(score) == 0 else np.asarray(score, np.float32)

    def get_config(self):
        return {"name": self.name, "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score (``FBetaScore`` with ``beta=1``), as Keras's ``F1Score``.

    Args:
        average: ``None`` (per class), ``"micro"``, ``"macro"`` or ``"weighted"``.
        threshold: A float in (0, 1], or ``None`` for the row's maximum.
        name: The name in logs and configs (default ``"f1_score"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.F1Score(average="macro")
    >>> m.update_state(jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([[0.9, 0.1], [0.6, 0.4]]))
    >>> round(float(m.result()), 4)
    0.3333
    """

    default_name = "f1_score"

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str | None = None,
                 dtype: str | None = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
