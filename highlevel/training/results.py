"""Keras 3's order of results: what ``evaluate``, ``train_on_batch`` and ``test_on_batch`` list.

Keras (``Trainer._flatten_metrics_in_order``) goes through the names of its metrics: the
loss, then each compiled metric by its own name (``metric.name``: the string given to
``compile`` or the metric object's name, without the output prefix of its log entry, so
for a model of several outputs it names no entry), then each output's loss
(``<output>_loss``, tracked only when more than one output has a loss). It lists the
entry of each name found (a name two metrics share is listed twice), then the entries
not listed in sorted order, and returns one value alone as a scalar. The logs themselves
(``return_dict=True``, History) are sorted by name (Keras's ``pythonify_logs``).
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["keras_names", "ordered_keys", "ordered_values", "sorted_logs"]


def keras_names(outputs: list) -> list[str]:
    """The names Keras orders results by, for the outputs' specs (``step.OutputSpec``).

    Unweighted metrics of every output come before the weighted ones (``weighted_metrics``),
    as Keras's ``CompileMetrics`` keeps them.
    """
    names = ["loss"]
    for weighted in (False, True):
        for spec in outputs:
            own = spec.own_names or [log_name for log_name, _ in spec.metrics]
            names.extend(name for name, (_, metric) in zip(own, spec.metrics)
                         if bool(getattr(metric, "sample_weighted", False)) == weighted)
    if sum(spec.loss is not None for spec in outputs) > 1:
        names.extend(f"{spec.name}_loss" for spec in outputs if spec.loss is not None)
    return names


def _entries(name: str, present: set) -> list[str]:
    """The log entries of ``name``: itself, or a vector metric's ``name_0``, ``name_1``..."""
    if name in present:
        return [name]
    parts = []
    while f"{name}_{len(parts)}" in present:
        parts.append(f"{name}_{len(parts)}")
    return parts


def ordered_keys(keys: Iterable[str], names: list[str]) -> list[str]:
    """``keys`` (of the logs) in Keras's order of ``names`` (``keras_names``), the rest sorted.

    >>> ordered_keys(["cls_accuracy", "cls_loss", "loss", "reg_loss"], ["loss", "accuracy", "cls_loss", "reg_loss"])
    ['loss', 'cls_loss', 'reg_loss', 'cls_accuracy']
    """
    present = set(keys)
    ordered: list[str] = []
    for name in names:
        ordered.extend(_entries(name, present))
    listed = set(ordered)
    return ordered + sorted(k for k in present if k not in listed)


def ordered_values(logs: dict[str, Any], names: list[str]):
    """The values of ``logs`` as Keras returns them without ``return_dict``: a list in the order
    of ``ordered_keys``, or the one value alone.

    >>> ordered_values({"accuracy": 0.5, "loss": 1.0}, ["loss", "accuracy"])
    [1.0, 0.5]
    >>> ordered_values({"loss": 1.0}, ["loss"])
    1.0
    """
    values = [logs[k] for k in ordered_keys(logs, names)]
    return values[0] if len(values) == 1 else values


def sorted_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """``logs`` with its keys sorted, as Keras's ``pythonify_logs`` gives them."""
    return dict(sorted(logs.items()))
