"""Resolving ``compile``'s loss, loss_weights and metrics into one spec per model output."""

from __future__ import annotations

from typing import Any, Sequence

from highlevel import losses as _losses
from highlevel import metrics as _metrics
from highlevel.training.step import OutputSpec

__all__ = ["output_specs", "combine_metrics", "per_output_metrics", "MetricsArguments", "WeightedMetric"]


class WeightedMetric:
    """A metric of ``compile(weighted_metrics=...)``: its updates get the sample (and class) weights.

    Metrics of ``compile(metrics=...)`` are not weighted, as in Keras: they see every real
    row once (padding rows excluded).
    """

    def __init__(self, metric):
        self.metric = metric


class MetricsArguments:
    """``compile``'s ``metrics`` and ``weighted_metrics``, kept apart until the outputs are known:
    Keras pairs each with the outputs by its own form (``per_output_metrics``)."""

    def __init__(self, metrics, weighted_metrics):
        self.metrics = metrics
        self.weighted_metrics = weighted_metrics


def combine_metrics(metrics, weighted_metrics):
    """``metrics`` as given, or both arguments together when ``weighted_metrics`` is given; each is
    paired with the outputs by itself (as Keras's ``CompileMetrics``), and an output's weighted
    metrics come after its unweighted ones."""
    if weighted_metrics is None:
        return metrics
    return MetricsArguments(metrics, weighted_metrics)


def per_output_metrics(metrics, names: Sequence[str], argument: str = "metrics") -> list[list]:
    """The metrics of each output, by Keras 3's rule (``CompileMetrics._build_metrics_set``).

    One output takes every metric given (nested lists flattened). With
    several outputs, a list or tuple of exactly one entry per output pairs them in order
    (an entry is a metric, a list of metrics or None), and a dict names outputs; any other
    list is an error, as in Keras (a flat list is not applied to every output).

    >>> per_output_metrics(["mae", "mse"], ["a", "b"])
    [['mae'], ['mse']]
    >>> per_output_metrics([None, ["mae", "mse"]], ["a", "b"])
    [[], ['mae', 'mse']]
    >>> per_output_metrics(["mae", "mse"], ["a"])
    [['mae', 'mse']]
    """
    names = list(names)
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict) and "class_name" not in metrics:   # by output name, not a metric's config
        unknown = sorted(set(metrics) - set(names), key=str)
        if unknown:
            raise ValueError(f"compile({argument}=...) names outputs {unknown} that the model does not have; "
                             f"its outputs are {names}.")
        return [_flatten_metrics(metrics.get(n)) for n in names]
    if len(names) == 1:
        return [_flatten_metrics(metrics)]
    entries = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    if len(entries) != len(names):
        count = f"{len(entries)} entry" if len(entries) == 1 else f"{len(entries)} entries"
        raise ValueError(f"compile({argument}=...) has {count} but the model has {len(names)} "
                         f"outputs {names}: as in Keras 3, pass one entry per output (a metric, a list of "
                         f"metrics or None), e.g. {argument}={[['mae']] * len(names)}, or a dict by output name.")
    return [_flatten_metrics(m) for m in entries]


def _flatten_metrics(metrics) -> list:
    if metrics is None:
        return []
    if isinstance(metrics, (list, tuple)):
        return [m for item in metrics for m in _flatten_metrics(item)]
    return [metrics]


def output_specs(names: Sequence[str], shapes: Sequence[tuple], loss: Any, loss_weights: Any,
                 metrics: Any) -> list[OutputSpec]:
    """One ``OutputSpec`` (loss, weight, metrics) per output, from Keras's forms of the arguments:
    a single loss for every output, a list in output order, or a dict by output name; metrics
    (and ``MetricsArguments``) are paired with the outputs by ``per_output_metrics``.
    """
    names = list(names)
    if isinstance(loss, dict):
        unknown = set(loss) - set(names)
        if unknown:
            raise ValueError(f"loss names outputs {sorted(unknown)} that the model does not have; "
                             f"its outputs are {names}.")
        per_output = [loss.get(n) for n in names]
    elif isinstance(loss, (list, tuple)):
        if len(loss) != len(names):
            raise ValueError(f"loss is a list of {len(loss)} but the model has {len(names)} outputs {names}.")
        per_output = list(loss)
    else:
        per_output = [loss] * len(names)
    lw = loss_weights
    if lw is None:
        weights = [1.0] * len(names)
    elif isinstance(lw, dict):
        weights = [float(lw.get(n, 1.0)) for n in names]
    else:
        if len(lw) != len(names):
            raise ValueError(f"loss_weights has {len(lw)} entries but the model has {len(names)} outputs.")
        weights = [float(w) for w in lw]
    if isinstance(metrics, MetricsArguments):
        per_metrics = [plain + [WeightedMetric(m) for m in weighted] for plain, weighted in zip(
            per_output_metrics(metrics.metrics, names),
            per_output_metrics(metrics.weighted_metrics, names, "weighted_metrics"))]
    else:
        per_metrics = per_output_metrics(metrics, names)
    specs = []
    for name, l, w, ms, shape in zip(names, per_output, weights, per_metrics, shapes):
        loss_obj = None if l is None else _losses.get(l)
        resolved, own, used = [], [], {}
        for m in ms:
            weighted = isinstance(m, WeightedMetric)
            m = m.metric if weighted else m
            metric = _metrics.get(m, loss=loss_obj, output_shape=shape)
            metric.build(shape)   # metrics sized by the number of classes (F1Score, R2Score)
            metric.sample_weighted = weighted
            own.append(m if isinstance(m, str) else metric.name)
            resolved.append((_unique_log_name(own[-1], weighted, used), metric))
        specs.append(OutputSpec(name=name, loss=loss_obj, weight=w, metrics=resolved, own_names=own))
    return specs


def _unique_log_name(name: str, weighted: bool, used: dict[str, int]) -> str:
    """Keras's log names for repeated metrics: ``acc``, ``acc_1``...; a weighted metric named as an
    unweighted one is ``weighted_acc``."""
    if name in used and weighted:
        name = f"weighted_{name}"
    if name in used:
        used[name] += 1
        return f"{name}_{used[name] - 1}"
    used[name] = 1
    return name


def _as_list(m):
    if m is None:
        return []
    return list(m) if isinstance(m, (list, tuple)) else [m]
