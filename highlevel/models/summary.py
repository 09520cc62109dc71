"""The text of ``model.summary()``: layer, type, output shape, parameters, and totals."""

from __future__ import annotations

import jax
import numpy as np

from highlevel.layers.base import format_shape
from highlevel.layers.symbolic import InputLayer, KerasTensor

__all__ = ["summary_text", "shape_text"]


def shape_text(shape) -> str:
    """A layer's shape(s) as the summary prints them: ``(None, 8)``, ``[(None, 4), (None, 4)]``."""
    if isinstance(shape, tuple) and all(isinstance(d, (int, type(None))) for d in shape):
        return format_shape(shape)
    if isinstance(shape, (list, tuple)):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {shape_text(v)}" for k, v in shape.items()) + "}"
    return "?"


def _size(n_params: int, weights) -> str:
    nbytes = sum(int(np.prod(w.get_value().shape)) * w.get_value().dtype.itemsize for w in weights)
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{n_params:,} ({nbytes:.2f} {unit})" if unit != "B" else f"{n_params:,} ({nbytes} B)"
        nbytes /= 1024
    return f"{n_params:,}"


def _rows(model, expand_nested: bool = False, depth: int = 0):
    """(layer, output shape, nesting depth) per row, nested models' layers after them if asked."""
    rows = []
    if getattr(model, "_is_graph", False):
        shapes = {}
        for node in model.graph_nodes:
            out = jax.tree_util.tree_map(lambda t: t.shape, node.outputs,
                                         is_leaf=lambda t: isinstance(t, KerasTensor))
            shapes.setdefault(id(node.layer), out)
        for layer in model.layers:
            shape = layer.batch_shape if isinstance(layer, InputLayer) else shapes.get(id(layer), "?")
            rows.append((layer, shape))
    elif hasattr(model, "layer_output_shapes") and len(model.layer_output_shapes) == len(model.layers):
        rows = list(zip(model.layers, model.layer_output_shapes))
    else:
        rows = [(layer, "?") for layer in model.layers]
    out = []
    for layer, shape in rows:
        out.append((layer, shape, depth))
        if expand_nested and hasattr(layer, "layers") and layer.layers and layer is not model:
            out.extend(_rows(layer, True, depth + 1))
    return out


def _select(rows, layer_range):
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError(f"layer_range must be [first, last] (layer names or indices), got {layer_range!r}.")

    def position(ref):
        for i, (layer, _, depth) in enumerate(rows):
            if (isinstance(ref, int) and i == ref) or layer.name == ref:
                return i
        raise ValueError(f"layer_range names {ref!r}, which is not a layer of the summary; its layers are "
                         f"{[layer.name for layer, _, _ in rows]}.")

    first, last = position(layer_range[0]), position(layer_range[1])
    return rows[first:last + 1]


def summary_text(model, line_length: int | None = None, expand_nested: bool = False,
                 show_trainable: bool = False, layer_range=None) -> str:
    """The summary table of ``model``: a row per layer (name, type, output shape, parameters).

    Args:
      model: a built or unbuilt model.
      line_length: the table's width (80 by default; wider with ``show_trainable``).
      expand_nested: list nested models' layers too, indented under them.
      show_trainable: a column ``Y``/``N`` for whether each layer is trainable.
      layer_range: ``[first, last]`` (names or row indices): only those rows.

    >>> import highlevel as hl
    >>> text = summary_text(hl.Sequential([hl.Input((2,)), hl.layers.Dense(1, name="out")]), show_trainable=True)
    >>> [line.split()[:2] + line.split()[-1:] for line in text.splitlines() if line.startswith("out")]
    [['out', '(Dense)', 'Y']]
    """
    width = line_length or (90 if show_trainable else 80)
    fractions = [0.45, 0.33] if not show_trainable else [0.40, 0.30, 0.18]
    cols = [int(width * f) for f in fractions]
    cols.append(width - sum(cols))
    line = "─" * width
    header = "Layer (type)".ljust(cols[0]) + "Output Shape".ljust(cols[1]) + "Param #".rjust(cols[2])
    if show_trainable:
        header = ("Layer (type)".ljust(cols[0]) + "Output Shape".ljust(cols[1]) + "Param #".rjust(cols[2])
                  + "Trainable".rjust(cols[3]))
    out = [f'Model: "{model.name}"', line, header, line]
    for layer, shape, depth in _select(_rows(model, expand_nested), layer_range):
        params = layer.count_params() if layer.built else 0
        name = "  " * depth + f"{layer.name} ({type(layer).__name__})"
        row = name[:cols[0] - 1].ljust(cols[0]) + shape_text(shape)[:cols[1] - 1].ljust(cols[1]) \
            + f"{params:,}".rjust(cols[2])
        if show_trainable:
            row += ("Y" if layer.trainable else "N").rjust(cols[3])
        out.append(row)
    out.append(line)
    if model.built:
        weights = model.weights
        trainable = model.trainable_weights
        non_trainable = model.non_trainable_weights
        count = lambda ws: int(sum(int(np.prod(w.get_value().shape)) for w in ws))
        out.append(f" Total params: {_size(count(weights), weights)}")
        out.append(f" Trainable params: {_size(count(trainable), trainable)}")
        out.append(f" Non-trainable params: {_size(count(non_trainable), non_trainable)}")
    else:
        out.append(" (unbuilt: call the model on data or build(input_shape) to see shapes and counts)")
    return "\n".join(out)
