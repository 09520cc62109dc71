"""Intersection-over-union metrics from a confusion matrix counted on the device: ``IoU``, ``MeanIoU``,
``BinaryIoU``, ``OneHotIoU``, ``OneHotMeanIoU``."""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np

from highlevel.metrics.base import Metric, _weights

__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]

_EPSILON = 1e-7


class IoU(Metric):
    """Intersection over union, ``tp / (tp + fp + fn)``, averaged over ``target_class_ids``.

    Labels and predictions are accumulated in a ``num_classes x num_classes`` confusion
    matrix, weighted by the sample weights; entries out of ``[0, num_classes)`` (and
    ``ignore_class``) are left out. As in Keras, the matrix has the metric's ``dtype``,
    ``"int32"`` by default, so fractional weights are truncated unless ``dtype="float32"``.

    Args:
        num_classes: The number of classes.
        target_class_ids: The classes whose IoUs are averaged.
        name: The name in logs and configs (default ``"io_u"``, Keras's).
        dtype: The confusion matrix's dtype (``"int32"`` by default).
        ignore_class: A label value to leave out (a "void" class), or None.
        sparse_y_true: Whether labels are class ids (else one-hot/scores: ``argmax`` on ``axis``).
        sparse_y_pred: Whether predictions are class ids (else scores: ``argmax`` on ``axis``).
        axis: The class axis of dense labels or predictions.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state(jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
    >>> round(float(m.result()), 4)
    0.3333
    """

    default_name, direction = "io_u", "up"

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = None, ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name, dtype or "int32")
        self.num_classes = int(num_classes)
        self.target_class_ids = [int(i) for i in target_class_ids]
        if max(self.target_class_ids) >= self.num_classes:
            raise ValueError(f"{type(self).__name__}: target class id {max(self.target_class_ids)} is out of "
                             f"range [0, {self.num_classes}).")
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = bool(sparse_y_true), bool(sparse_y_pred), int(axis)

    def init(self):
        return {"total_cm": jnp.zeros((self.num_classes, self.num_classes), jnp.dtype(self.dtype))}

    def _predicted(self, y_pred):
        return y_pred if self.sparse_y_pred else jnp.argmax(y_pred, axis=self.axis)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        batch = y_pred.shape[0] if y_pred.ndim else 1
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        y_pred = self._predicted(y_pred)
        y_true = y_true.astype(jnp.int32).reshape(-1)
        y_pred = y_pred.astype(jnp.int32).reshape(-1)
        w = _weights(sample_weight, batch)
        w = jnp.repeat(w, y_true.shape[0] // batch) if y_true.shape[0] != batch else w
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        dtype = jnp.dtype(self.dtype)
        w = jnp.where(valid, w, 0.0).astype(dtype)
        index = jnp.where(valid, y_true, 0) * self.num_classes + jnp.where(valid, y_pred, 0)
        counts = jnp.zeros((self.num_classes * self.num_classes,), dtype).at[index].add(w)
        return {"total_cm": state["total_cm"] + counts.reshape(self.num_classes, self.num_classes)}

    def result(self, state) -> float:
        cm = np.asarray(state["total_cm"], np.float64)
        tp = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
        ids = self.target_class_ids
        tp, denominator = tp[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + _EPSILON), 0.0)
        return float(np.sum(iou) / (np.sum(valid) + _EPSILON))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes (Keras's ``MeanIoU``).

    Args:
        num_classes: The number of classes.
        name: The name in logs and configs (default ``"mean_io_u"``).
        dtype: The confusion matrix's dtype (``"int32"`` by default).
        ignore_class: A label value to leave out, or None.
        sparse_y_true: Whether labels are class ids.
        sparse_y_pred: Whether predictions are class ids.
        axis: The class axis of dense labels or predictions.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanIoU(num_classes=2)
    >>> m.update_state(jnp.array([0, 0, 1, 1]), jnp.array([0, 1, 0, 1]))
    >>> round(float(m.result()), 4)
    0.3333
    """

    default_name = "mean_io_u"

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, list(range(int(num_classes))), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred,
                         axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of a binary task whose predictions are scores: class 1 where ``y_pred >= threshold``.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]`` (the mean of both).
        threshold: The score from which a prediction counts as class 1.
        name: The name in logs and configs (default ``"binary_io_u"``).
        dtype: The confusion matrix's dtype (``"int32"`` by default).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state(jnp.array([0, 1, 0, 1]), jnp.array([0.1, 0.2, 0.4, 0.7]))
    >>> round(float(m.result()), 4)
    0.3333
    """

    default_name = "binary_io_u"

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: str | None = None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update(self, state, y_true, y_pred, sample_weight=None):
        # As Keras: labels are cast to the matrix's dtype, predictions thresholded.
        y_true = jnp.asarray(y_true).astype(jnp.dtype(self.dtype))
        y_pred = (jnp.asarray(y_pred, jnp.float32) >= self.threshold).astype(jnp.int32)
        return super().update(state, y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "target_class_ids": self.target_class_ids,
                "threshold": self.threshold}


class OneHotIoU(IoU):
    """IoU for one-hot labels and per-class scores (``argmax`` of both), as Keras's ``OneHotIoU``.

    Args:
        num_classes: The number of classes.
        target_class_ids: The classes whose IoUs are averaged.
        name: The name in logs and configs (default ``"one_hot_io_u"``).
        dtype: The confusion matrix's dtype (``"int32"`` by default).
        ignore_class: A label value to leave out, or None.
        sparse_y_pred: Whether predictions are class ids (else scores).
        axis: The class axis.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.OneHotIoU(num_classes=2, target_class_ids=[1])
    >>> m.update_state(jnp.array([[1, 0], [0, 1]]), jnp.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> round(float(m.result()), 4)
    0.5
    """

    default_name = "one_hot_io_u"

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = None, ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """The mean IoU for one-hot labels and per-class scores, as Keras's ``OneHotMeanIoU``.

    Args:
        num_classes: The number of classes.
        name: The name in logs and configs (default ``"one_hot_mean_io_u"``).
        dtype: The confusion matrix's dtype (``"int32"`` by default).
        ignore_class: A label value to leave out, or None.
        sparse_y_pred: Whether predictions are class ids (else scores).
        axis: The class axis.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.OneHotMeanIoU(num_classes=2)
    >>> m.update_state(jnp.array([[1, 0], [0, 1]]), jnp.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> round(float(m.result()), 4)
    0.25
    """

    default_name = "one_hot_mean_io_u"

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
