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
from typing import Any

from highlevel import losses as _losses
# Keras's keras.metrics exports these loss functions too: the same objects as hl.losses'.
from highlevel.losses import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                              categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence,
                              log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                              mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                              squared_hinge)
from highlevel.utils.serialization import class_config, lookup_serializable, resolve_class
from highlevel.metrics.accuracy_metrics import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, _AutoAccuracy, _resolve_accuracy,
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from highlevel.metrics.base import (Mean, MeanMetricWrapper, Metric, MetricVariable, Sum, result_logs,
                                    update_in_step)
from highlevel.metrics.confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision, Recall,
                                                 TrueNegatives, TruePositives)
from highlevel.metrics.correlation_metrics import (ConcordanceCorrelation, PearsonCorrelation,
                                                   concordance_correlation, pearson_correlation)
from highlevel.metrics.f_score_metrics import F1Score, FBetaScore
from highlevel.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from highlevel.metrics.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from highlevel.metrics.probabilistic_metrics import (BinaryCrossentropy, CategoricalCrossentropy, KLDivergence,
                                                     Poisson, SparseCategoricalCrossentropy)
from highlevel.metrics.threshold_metrics import (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
                                                 SpecificityAtSensitivity)
from highlevel.metrics.regression_metrics import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                                                  MeanAbsolutePercentageError, MeanSquaredError,
                                                  MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)

__all__ = [
    "Metric", "MetricVariable", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "R2Score", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
    "SquaredHinge", "CategoricalHinge", "AUC", "Precision", "Recall", "TruePositives", "FalsePositives",
    "TrueNegatives", "FalseNegatives", "F1Score", "FBetaScore", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
    "OneHotMeanIoU", "update_in_step", "result_logs",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "PearsonCorrelation",
    "ConcordanceCorrelation", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "PrecisionAtRecall", "RecallAtPrecision", "pearson_correlation", "concordance_correlation",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge",
    "get", "serialize", "deserialize",
]


# Registry ----------------------------------------------------------------------------

def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, RootMeanSquaredError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    LogCoshError, CosineSimilarity, R2Score, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, AUC, Precision,
    Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, F1Score, FBetaScore, IoU, MeanIoU,
    BinaryIoU, OneHotIoU, OneHotMeanIoU, PearsonCorrelation, ConcordanceCorrelation,
    SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)}
# Keras's string names: each class in snake case (``io_u``, ``f_beta_score``, as Keras's
# ALL_OBJECTS_DICT) and its short aliases. Metrics that need arguments (IoU's num_classes)
# are named by string only to fail with Python's own missing-argument message.
_NAMES: dict[str, type] = {_snake(name): cls for name, cls in _CLASSES.items()}
_NAMES.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
               "MAE": MeanAbsoluteError, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
               "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
               "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
               "logcosh": LogCoshError, "kld": KLDivergence, "KLD": KLDivergence})
_CLASSES.update({"MeanMetricWrapper": MeanMetricWrapper, "AutoAccuracy": _AutoAccuracy})
# Names of functions Keras's metrics export with no class of that snake-case name here
# (``"huber"``, ``"log_cosh"``, the focal crossentropies): their weighted mean, as in Keras.
_FUNCTION_NAMES: dict[str, Any] = {fn.__name__: fn for fn in (
    binary_focal_crossentropy, categorical_focal_crossentropy, huber, log_cosh) if fn.__name__ not in _NAMES}


def metric_classes() -> dict[str, type]:
    """The built-in metric classes by name (a copy of the registry: for config checks).

    >>> "Accuracy" in metric_classes()
    True
    """
    return dict(_CLASSES)


def _known() -> str:
    return ", ".join(sorted({"accuracy", "acc"} | set(_NAMES) | set(_FUNCTION_NAMES)
                            | set(_CLASSES) - {"AutoAccuracy"}))


def get(identifier, loss=None, output_shape=None, target_shape=None) -> Metric:
    """A ``Metric`` from a Keras name, a config dict, a ``Metric``, a class, a loss or a function.

    A string names the metric in logs, as in Keras (``"mse"`` logs as ``mse``).
    ``"accuracy"``/``"acc"`` picks its kind, first from ``loss`` (binary crossentropy:
    ``BinaryAccuracy``; sparse categorical crossentropy: ``SparseCategoricalAccuracy``;
    categorical crossentropy: ``CategoricalAccuracy``), else from the shapes with Keras 3's
    rule (``output_shape[-1] == 1``: binary; a target of lower rank or last dimension 1:
    sparse; otherwise categorical). Shapes may include the batch dimension. When neither
    settles it, the kind is decided from the shapes seen when ``update`` is traced.
    ``"huber"``, ``"log_cosh"``, ``"binary_focal_crossentropy"`` and
    ``"categorical_focal_crossentropy"`` give the weighted mean of that loss function (a
    ``MeanMetricWrapper``), as passing ``keras.metrics.huber`` does in Keras, whose
    ``compile`` refuses those four strings.

    Args:
        identifier: A Keras name (``"mse"``, ``"accuracy"``), a ``{"class_name", "config"}``
            dict, a ``Metric`` (returned as is), a ``Metric`` class, a ``hl.losses.Loss`` or a
            callable ``fn(y_true, y_pred) -> per-sample values`` (both: their weighted mean).
        loss: The model's loss (anything ``hl.losses.get`` accepts), to resolve ``"accuracy"``.
        output_shape: The model output's shape, to resolve ``"accuracy"``.
        target_shape: The targets' shape, to resolve ``"accuracy"``.

    Returns:
        The ``Metric``.

    >>> import highlevel as hl
    >>> hl.metrics.get("acc", loss="sparse_categorical_crossentropy")
    SparseCategoricalAccuracy(name='acc')
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _resolve_accuracy(identifier, loss, output_shape, target_shape)
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None and identifier in _FUNCTION_NAMES:
            return MeanMetricWrapper(_FUNCTION_NAMES[identifier], name=identifier)
        if cls is None:
            found = lookup_serializable(identifier)   # a user's registered (or lent) metric
            if found is not None:
                return get(found, loss, output_shape, target_shape)
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
    """Keras's config dict of a metric: ``{"class_name": ..., "config": ...}``.

    Args:
        metric: A ``Metric``, or anything :func:`get` accepts.

    Returns:
        The dict, which :func:`deserialize` (or :func:`get`) reads back.

    >>> import highlevel as hl
    >>> hl.metrics.serialize(hl.metrics.TopKCategoricalAccuracy(k=3))
    {'class_name': 'TopKCategoricalAccuracy', 'config': {'name': 'top_k_categorical_accuracy', 'k': 3}}
    """
    if not isinstance(metric, Metric):
        metric = get(metric)
    config = class_config(metric)
    if isinstance(metric, _AutoAccuracy):
        config["class_name"] = "AutoAccuracy"
    return config


def deserialize(config: dict[str, Any]) -> Metric:
    """The ``Metric`` described by a ``{"class_name": ..., "config": ...}`` dict.

    Args:
        config: A dict as :func:`serialize` writes.

    Returns:
        A new ``Metric``.

    >>> import highlevel as hl
    >>> hl.metrics.deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
    'PR'
    """
    if "class_name" not in config:
        raise ValueError(f"A metric config needs a 'class_name' key, got {config!r}.")
    cls = resolve_class(config, {**_NAMES, **_CLASSES}, "metric", _known())
    return cls.from_config(config.get("config", {}))
