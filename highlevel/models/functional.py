"""The functional graph: from symbolic inputs and outputs to an ordered plan of layer calls.

The plan refers to layers by their index in the model's layer list (never by
object), so a copy of the model made by ``nnx.merge`` inside a compiled step runs
its own (traced) layers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from highlevel.layers.base import Layer, deserialize_layer, serialize_layer
from highlevel.layers.symbolic import InputLayer, KerasTensor, Node

__all__ = ["build_graph", "graph_config", "graph_from_config", "run_plan", "PlannedCall"]


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


def _leaves(tree) -> list:
    return jax.tree_util.tree_leaves(tree, is_leaf=_is_kt)


def _check_tensors(tree, what: str) -> None:
    for leaf in _leaves(tree):
        if not _is_kt(leaf):
            raise TypeError(f"Model {what} must be hl.Input tensors or outputs of layers called on them "
                            f"(a tensor, a list or a dict of them); got {type(leaf).__name__}.")
        if leaf.keras_history is None:
            raise ValueError(f"Model {what} holds a tensor that no layer produced; build it from hl.Input.")


def build_graph(inputs, outputs):
    """Returns ``(layers, nodes, input_slots, plan, output_struct)`` for a functional model."""
    _check_tensors(inputs, "inputs")
    _check_tensors(outputs, "outputs")
    flat_inputs = _leaves(inputs)
    input_ids = {id(t) for t in flat_inputs}
    for t in flat_inputs:
        if not isinstance(t.keras_history[0], InputLayer):
            raise ValueError("Model inputs must be tensors made by hl.Input(...), got a tensor made by "
                             f"layer '{t.keras_history[0].name}'.")
    ordered: list[Node] = []
    seen: set[int] = set()

    def visit(tensor: KerasTensor, path: tuple) -> None:
        layer, node_index, _ = tensor.keras_history
        node = layer.inbound_nodes[node_index]
        if id(node) in seen:
            return
        if isinstance(layer, InputLayer) and id(tensor) not in input_ids:
            raise ValueError(f"The outputs depend on input '{layer.name}', which is not among the model's "
                             "inputs; add it to inputs=[...].")
        if id(node) in path:
            raise ValueError("The layer graph has a cycle.")
        for t in node.input_tensors:
            visit(t, path + (id(node),))
        seen.add(id(node))
        ordered.append(node)

    for t in flat_inputs:
        visit(t, ())
    for t in _leaves(outputs):
        visit(t, ())

    layers = _keras_layer_order(flat_inputs, outputs, ordered)
    index = {id(layer): i for i, layer in enumerate(layers)}

    slots: dict[int, int] = {}

    def slot(t: KerasTensor) -> int:
        return slots.setdefault(id(t), len(slots))

    input_slots = tuple(slot(t) for t in flat_inputs)
    plan = []
    for node in ordered:
        if isinstance(node.layer, InputLayer):
            continue
        to_slots = lambda tree: jax.tree_util.tree_map(slot, tree, is_leaf=_is_kt)
        call = PlannedCall(layer=index[id(node.layer)], inputs=to_slots(node.inputs),
                           outputs=to_slots(node.outputs), kwargs=dict(node.call_kwargs),
                           args=to_slots(node.args), tensor_kwargs=to_slots(node.tensor_kwargs),
                           mask_args=to_slots(node.mask_args))
        plan.append(call)
    output_struct = jax.tree_util.tree_map(slot, outputs, is_leaf=_is_kt)
    nodes = [n for n in ordered if not isinstance(n.layer, InputLayer)]
    return layers, nodes, input_slots, tuple(plan), output_struct


def _keras_layer_order(flat_inputs, outputs, ordered: list[Node]) -> list[Layer]:
    """The layers as ``keras.Model.layers`` lists them, so weights keep Keras's order.

    Keras (``ops/function.py`` ``map_graph``) sorts layers by decreasing depth (the
    longest path to an output), ties by first visit in a depth-first walk from the
    outputs. A block whose shortcut branch is shorter than its main branch (ResNet)
    interleaves the two, which a plain depth-first order does not.
    """
    first_visit: dict[int, int] = {}
    done: set[int] = set()

    def visit(tensor: KerasTensor) -> None:
        layer, node_index, _ = tensor.keras_history
        node = layer.inbound_nodes[node_index]
        if id(node) in done:
            return
        first_visit.setdefault(id(layer), len(first_visit))
        done.add(id(node))
        for t in node.input_tensors:
            visit(t)

    for t in _leaves(outputs):
        visit(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(ordered):  # outputs first
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        node_depth[id(node)] = layer_depth[id(node.layer)] = depth
        for t in node.input_tensors:
            parent = t.keras_history[0].inbound_nodes[t.keras_history[1]]
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers: list[Layer] = []
    seen: set[int] = set()
    # ``ordered`` holds every input's node, used by the outputs or not.
    for layer in [node.layer for node in ordered] + [t.keras_history[0] for t in flat_inputs]:
        if id(layer) not in seen:
            seen.add(id(layer))
            layers.append(layer)
    return sorted(layers, key=lambda l: (-layer_depth.get(id(l), 0), first_visit.get(id(l), len(first_visit))))


@dataclasses.dataclass(frozen=True, eq=False)
class PlannedCall:
    """One layer call of a functional model's plan, by tensor slot (an int per tensor).

    ``inputs`` is the first argument, ``args``/``tensor_kwargs`` further tensor arguments,
    ``kwargs`` the constant keyword arguments given at graph construction (a ``training``
    there overrides the step's), ``mask_args`` the ``call`` arguments (``value_mask``...)
    that get the masks of the slots they map to.
    """

    layer: int
    inputs: Any
    outputs: Any
    kwargs: dict
    args: tuple = ()
    tensor_kwargs: dict = dataclasses.field(default_factory=dict)
    mask_args: dict = dataclasses.field(default_factory=dict)


def run_plan(layers, input_slots, plan, output_struct, flat_inputs, training, flat_masks=None):
    """Runs the plan on arrays; returns ``(outputs, output masks)``, masks carried with the values.

    Each layer gets the masks of its input slots (``mask=``, and ``<arg>_mask=`` for further
    tensor arguments its ``call`` names) and its outputs' masks are ``compute_mask``'s.
    """
    values: dict[int, Any] = dict(zip(input_slots, flat_inputs))
    masks: dict[int, Any] = {}
    if flat_masks is not None:
        masks.update((s, m) for s, m in zip(input_slots, flat_masks) if m is not None)
    value = lambda tree: jax.tree_util.tree_map(lambda s: values[s], tree)
    mask_of = lambda tree: jax.tree_util.tree_map(lambda s: masks.get(s), tree)
    for call in plan:
        kwargs = dict(call.kwargs)
        if kwargs.get("training") is None:
            kwargs["training"] = training
        kwargs.update(value(call.tensor_kwargs))
        kwargs.update({name: mask_of(slots) for name, slots in call.mask_args.items()})
        mask = kwargs.pop("mask") if "mask" in call.tensor_kwargs else mask_of(call.inputs)
        result, result_mask = layers[call.layer].call_with_mask(value(call.inputs), *value(call.args),
                                                                 mask=mask, **kwargs)
        out_slots = jax.tree_util.tree_leaves(call.outputs)
        values.update(zip(out_slots, jax.tree_util.tree_leaves(result)))
        flat_masks_out = jax.tree_util.tree_leaves(result_mask, is_leaf=lambda m: m is None)
        masks.update((s, m) for s, m in zip(out_slots, flat_masks_out) if m is not None)
    return (jax.tree_util.tree_map(lambda s: values[s], output_struct),
            jax.tree_util.tree_map(lambda s: masks.get(s), output_struct))


# -- config -----------------------------------------------------------------------

def _ref(tensor: KerasTensor, node_pos: dict[int, tuple[str, int]]) -> list:
    layer, node_index, tensor_index = tensor.keras_history
    node = layer.inbound_nodes[node_index]
    name, pos = node_pos[id(node)]
    return [name, pos, tensor_index]


def graph_config(model) -> dict[str, Any]:
    """Keras-like functional config: layers, each call's inputs as [layer, call, tensor] refs."""
    node_pos: dict[int, tuple[str, int]] = {}
    counts: dict[str, int] = {}
    for layer in model._layers:
        if isinstance(layer, InputLayer):
            node_pos[id(layer.inbound_nodes[0])] = (layer.name, 0)
            counts[layer.name] = 1
    calls = []
    for node in model.graph_nodes:
        name = node.layer.name
        pos = counts.get(name, 0)
        counts[name] = pos + 1
        node_pos[id(node)] = (name, pos)
        refs = lambda tree: jax.tree_util.tree_map(lambda t: _ref(t, node_pos), tree, is_leaf=_is_kt)
        call = {"layer": name, "args": refs(node.inputs), "kwargs": node.call_kwargs}
        if node.args:
            call["more_args"] = refs(list(node.args))
        if node.tensor_kwargs:
            call["tensor_kwargs"] = refs(node.tensor_kwargs)
        calls.append(call)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": [{**serialize_layer(layer), "name": layer.name} for layer in model._layers],
        "calls": calls,
        "inputs": jax.tree_util.tree_map(lambda t: _ref(t, node_pos), model._input_struct, is_leaf=_is_kt),
        "outputs": jax.tree_util.tree_map(lambda t: _ref(t, node_pos), model._output_tensors, is_leaf=_is_kt),
    }


def _is_ref(x) -> bool:
    return isinstance(x, list) and len(x) == 3 and isinstance(x[0], str) and isinstance(x[1], int)


def graph_from_config(config: dict[str, Any]):
    """Recreates the layers and replays the calls; returns ``(inputs, outputs, name, trainable)``."""
    layers = {}
    for entry in config["layers"]:
        layer = deserialize_layer(entry)
        layers[entry["name"]] = layer
    produced: dict[tuple[str, int], list[KerasTensor]] = {}
    for name, layer in layers.items():
        if isinstance(layer, InputLayer):
            produced[(name, 0)] = [layer.output]

    def resolve(ref):
        name, pos, tensor_index = ref
        if (name, pos) not in produced:
            raise ValueError(f"The model config refers to call {pos} of layer '{name}' before it is made.")
        return produced[(name, pos)][tensor_index]

    counts: dict[str, int] = {}
    for call in config["calls"]:
        name = call["layer"]
        args = jax.tree_util.tree_map(resolve, call["args"], is_leaf=_is_ref)
        more = jax.tree_util.tree_map(resolve, call.get("more_args", []), is_leaf=_is_ref)
        tensor_kwargs = jax.tree_util.tree_map(resolve, call.get("tensor_kwargs", {}), is_leaf=_is_ref)
        out = layers[name](args, *more, **call.get("kwargs", {}), **tensor_kwargs)
        pos = counts.get(name, 0)
        counts[name] = pos + 1
        produced[(name, pos)] = _leaves(out)
    inputs = jax.tree_util.tree_map(resolve, config["inputs"], is_leaf=_is_ref)
    outputs = jax.tree_util.tree_map(resolve, config["outputs"], is_leaf=_is_ref)
    return inputs, outputs, config.get("name"), config.get("trainable", True)
