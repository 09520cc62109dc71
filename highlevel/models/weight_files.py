"""Weights from other frameworks' files, matched to a model's layers by name.

Keras writes two weight formats, and both load here:

- Keras 3's ``.weights.h5`` (``model.save_weights``): groups ``layers/<auto name>/vars/<i>``,
  where the auto name is the layer's class in snake case, numbered in ``model.layers``
  order (``conv2d``, ``conv2d_1``, ...), and nested models nest (``layers/functional/layers/...``).
- The legacy ``.h5`` of Keras 2 (``keras.applications``' ImageNet files, and Keras 3's
  ``model.save("x.h5")``): a ``layer_names`` attribute and, per layer, ``weight_names``.

Each reader returns ``{layer name: [arrays in get_weights order]}``; :func:`assign` checks
every shape before anything changes and sets the weights, or reports what it left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["LoadReport", "read_keras_h5", "assign", "weighted_layers", "weight_groups", "is_keras_h5"]


@dataclass
class LoadReport:
    """What a weight file gave a model.

    Attributes:
        loaded: names of the layers whose weights were set.
        missing: layers with weights that the file has nothing for (left as they were).
        unused: entries of the file that no layer took.
        mismatched: ``(layer, what the layer holds, what the file holds)`` for shapes that differ.
    """

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unused or self.mismatched)

    def __str__(self) -> str:
        lines = [f"{len(self.loaded)} layers loaded from {self.source}"]
        if self.missing:
            lines.append(f"not in the file (left as they were): {', '.join(self.missing)}")
        if self.unused:
            lines.append(f"in the file but not in the model: {', '.join(self.unused)}")
        for name, ours, theirs in self.mismatched:
            lines.append(f"shape mismatch, skipped: {name} holds {ours}, the file {theirs}")
        return "\n".join(lines)


def is_keras_h5(path) -> bool:
    return str(path).endswith((".h5", ".hdf5", ".keras.h5", ".keras"))


def _is_container(layer) -> bool:
    from highlevel.models.model import Model
    return isinstance(layer, Model)


def weighted_layers(model) -> dict[str, Any]:
    """``{name: layer}`` for every layer holding weights, nested models flattened."""
    out: dict[str, Any] = {}
    for layer in model.layers:
        if _is_container(layer):
            inner = weighted_layers(layer)
            clash = sorted(set(inner) & set(out))
            if clash:
                raise ValueError(f"Model '{model.name}' has two layers named {clash[0]!r} (one inside "
                                 f"'{layer.name}'); weights are matched by name, so rename one of them.")
            out.update(inner)
        elif layer.weights:
            if layer.name in out:
                raise ValueError(f"Model '{model.name}' has two layers named {layer.name!r}; weights are "
                                 "matched by name, so rename one of them.")
            out[layer.name] = layer
    return out


def weight_groups(model) -> dict[str, list]:
    """``{name: variables in get_weights order}``: each layer of :func:`weighted_layers` with its
    weights, and, under a model's own name, the weights a model holds outside its layers (a
    subclassed model's ``add_weight``), so that every weight of ``model`` is in one group."""
    groups = {name: [v for _, v in layer.named_weights()] for name, layer in weighted_layers(model).items()}
    grouped = {id(v) for variables in groups.values() for v in variables}
    for container in [layer for layer in model.flatten_layers() if _is_container(layer)]:
        own = [v for _, v in container.named_weights() if id(v) not in grouped]
        if own:
            if container.name in groups:
                raise ValueError(f"Model '{model.name}' has two layers named {container.name!r}; weights are "
                                 "matched by name, so rename one of them.")
            groups[container.name] = own
            grouped.update(id(v) for v in own)
    return groups


def read_keras_h5(path, model) -> dict[str, list[np.ndarray]]:
    """The arrays of a Keras weight file (``.weights.h5``, legacy ``.h5``, or the weights inside a
    ``.keras`` zip), keyed by ``model``'s layer names."""
    from highlevel.models import keras_layout
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Weight file {path} does not exist.")
    from highlevel.models import keras_archive
    if str(path).endswith((".keras", ".weights.h5")):
        keras_archive.tidy(path)   # what a save of this path killed midway left beside it
    if str(path).endswith(".keras"):
        with keras_archive.open_weights(path) as f:
            return _read_keras3(f, model)
    with keras_layout.open_h5(path) as f:
        if "layer_names" in f.attrs or ("model_weights" in f and "layer_names" in f["model_weights"].attrs):
            return _read_legacy(f)
        if "layers" in f or "vars" in f:
            return _read_keras3(f, model)
    raise ValueError(f"{path} is an HDF5 file but not a Keras weight file (no 'layers' group and no "
                     "'layer_names' attribute); save it with keras' model.save_weights().")


def _decode(names) -> list[str]:
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in names]


def _read_legacy(f) -> dict[str, list[np.ndarray]]:
    from highlevel.models.keras_layout import read_array
    group = f["model_weights"] if "model_weights" in f else f
    out = {}
    for name in _decode(group.attrs["layer_names"]):
        for w in _decode(group[name].attrs.get("weight_names", [])):
            # A nested model's group lists its layers' weights as "inner/layer/kernel".
            parts = w.split("/")
            owner = parts[-2] if len(parts) >= 2 else name
            out.setdefault(owner, []).append(read_array(group[name][w]))
    return out


def _read_keras3(f, model) -> dict[str, list[np.ndarray]]:
    from highlevel.models import keras_layout
    return keras_layout.read_h5(f, model)


def _shape(a) -> str:
    return str(tuple(int(d) for d in np.shape(a)))


def assign(model, tensors: dict[str, list[np.ndarray]], *, source: str,
           skip_mismatch: bool = False) -> LoadReport:
    """Sets each named layer's weights from ``tensors``; all shapes are checked first.

    With ``skip_mismatch=False`` any layer the file lacks, any file entry no layer takes
    and any shape that differs raises one ``ValueError`` naming them, and nothing changes.
    With ``skip_mismatch=True`` those are skipped and listed in the returned report.
    """
    tensors = dict(tensors)
    report = LoadReport(source=str(source))
    report.unused.extend(tensors.pop("__unmatched__", []))
    plan = []
    for name, variables in weight_groups(model).items():
        if name not in tensors:
            report.missing.append(name)
            continue
        given = list(tensors.pop(name))
        ours = [v.get_value().shape for v in variables]
        if len(given) != len(ours) or any(tuple(np.shape(g)) != tuple(s) for g, s in zip(given, ours)):
            report.mismatched.append((name, ", ".join(_shape(np.zeros(s, bool)) for s in ours),
                                      ", ".join(_shape(g) for g in given)))
            continue
        plan.append((name, variables, given))
    report.unused.extend(tensors)
    if not skip_mismatch and not report.complete:
        problems = []
        if report.missing:
            problems.append(f"the model's layers {_few(report.missing)} have no weights in the file")
        if report.unused:
            problems.append(f"the file's entries {_few(report.unused)} match no layer of the model")
        for name, ours, theirs in report.mismatched[:3]:
            problems.append(f"layer '{name}' holds {ours} but the file has {theirs}")
        raise ValueError(f"Weights from {source} do not fit model '{model.name}': " + "; ".join(problems)
                         + ". Build the same architecture, or pass skip_mismatch=True to load what matches "
                         "and get a report of the rest.")
    for name, variables, given in plan:
        for var, w in zip(variables, given):
            var.set_value(jax.device_put(np.asarray(w, dtype=var.get_value().dtype)))
        report.loaded.append(name)
    return report


def _few(names: list[str], n: int = 5) -> str:
    shown = ", ".join(repr(x) for x in names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")
