"""Resolving ``compile``'s loss, loss_weights and metrics into one spec per model output."""

from __future__ import annotations

from typing import Any, Sequence

from highlevel import losses as _losses
from highlevel import metrics as _metrics
from highlevel.training.step import OutputSpec

__all__ = ["output_specs", "combine_metrics", "WeightedMetric"]


class WeightedMetric:
    """A metric of ``compile(weighted_metrics=...)``: its updates get the sample (and class) weights.

    Metrics of ``compile(metrics=...)`` are not weighted, as in Keras: they see every real
    row once (padding rows excluded).
    """

    def __init__(self, metric):
        self.metric = metric


def combine_metrics(metrics, weighted_metrics):
    """``metrics`` with ``weighted_metrics`` appended (each wrapped in ``WeightedMetric``), in the same
    form: a list for every output, a dict by output name, or a list of lists per output."""
    if weighted_metrics is None:
        return metrics
    wrap = lambda ms: [WeightedMetric(m) for m in _as_list(ms)]
    if isinstance(weighted_metrics, dict):
        if metrics is not None and not isinstance(metrics, dict):
            raise ValueError("compile(): weighted_metrics is a dict by output name but metrics is not; pass both "
                             "as dicts (or both as lists).")
        merged = dict(metrics or {})
        for name, ms in weighted_metrics.items():
            merged[name] = _as_list(merged.get(name)) + wrap(ms)
        return merged
    if isinstance(metrics, dict):
        raise ValueError("compile(): metrics is a dict by output name but weighted_metrics is not; pass both as "
                         "dicts (or both as lists).")
    nested = lambda ms: isinstance(ms, (list, tuple)) and ms and all(isinstance(m, (list, tuple)) for m in ms)
    if nested(weighted_metrics) or nested(metrics):
        outer = max(len(weighted_metrics) if nested(weighted_metrics) else 0, len(metrics) if nested(metrics) else 0)
        per_w = list(weighted_metrics) if nested(weighted_metrics) else [weighted_metrics] * outer
        per_m = list(metrics) if nested(metrics) else [metrics] * outer
        return [_as_list(m) + wrap(w) for m, w in zip(per_m, per_w)]
    return _as_list(metrics) + wrap(weighted_metrics)


def output_specs(names: Sequence[str], shapes: Sequence[tuple], loss: Any, loss_weights: Any,
                 metrics: Any) -> list[OutputSpec]:
    """One ``OutputSpec`` (loss, weight, metrics) per output, from Keras's forms of the arguments:
    a single value for every output, a list in output order, or a dict by output name.
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
    if metrics is None:
        per_metrics = [[] for _ in names]
    elif isinstance(metrics, dict):
        per_metrics = [_as_list(metrics.get(n)) for n in names]
    elif isinstance(metrics, (list, tuple)) and len(names) > 1 and all(
            isinstance(m, (list, tuple)) or m is None for m in metrics):
        per_metrics = [_as_list(m) for m in metrics]
    else:
        per_metrics = [_as_list(metrics) for _ in names]
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
