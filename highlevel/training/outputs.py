"""Resolving ``compile``'s loss, loss_weights and metrics into one spec per model output."""

from __future__ import annotations

from typing import Any, Sequence

from highlevel import losses as _losses
from highlevel import metrics as _metrics
from highlevel.training.step import OutputSpec

__all__ = ["output_specs"]


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
        resolved = []
        for m in ms:
            metric = _metrics.get(m, loss=loss_obj, output_shape=shape)
            resolved.append((m if isinstance(m, str) else metric.name, metric))
        specs.append(OutputSpec(name=name, loss=loss_obj, weight=w, metrics=resolved))
    return specs


def _as_list(m):
    if m is None:
        return []
    return list(m) if isinstance(m, (list, tuple)) else [m]
