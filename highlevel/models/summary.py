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


def _rows(model):
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
    return rows


def summary_text(model, line_length: int | None = None) -> str:
    width = line_length or 80
    cols = [int(width * 0.45), int(width * 0.33)]
    cols.append(width - sum(cols))
    line = "─" * width
    out = [f'Model: "{model.name}"', line,
           "Layer (type)".ljust(cols[0]) + "Output Shape".ljust(cols[1]) + "Param #".rjust(cols[2]), line]
    for layer, shape in _rows(model):
        params = layer.count_params() if layer.built else 0
        out.append(f"{layer.name} ({type(layer).__name__})"[:cols[0] - 1].ljust(cols[0])
                   + shape_text(shape)[:cols[1] - 1].ljust(cols[1]) + f"{params:,}".rjust(cols[2]))
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
