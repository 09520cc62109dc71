"""``clone_model`` and ``model_from_json``: new models with a model's architecture (Keras's names).

A clone has the same layers (by config, so the same names and arguments) called the same
way, with new weights, as Keras's ``clone_model``; ``clone_function`` may change each layer.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import jax

from highlevel.layers.base import Layer, custom_layer_scope, deserialize_layer
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor
from highlevel.models.model import Model
from highlevel.models.sequential import Sequential

__all__ = ["clone_model", "model_from_json"]


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


def _default_clone(layer: Layer) -> Layer:
    return type(layer).from_config(layer.get_config())


def _new_input(tensor: KerasTensor) -> KerasTensor:
    layer = tensor.keras_history[0]
    return Input(batch_shape=layer.batch_shape, dtype=str(tensor.dtype), name=layer.name)


def clone_model(model: Model, input_tensors=None, clone_function: Callable[[Layer], Layer] | None = None,
                call_function: Callable | None = None) -> Model:
    """A new model with ``model``'s architecture and freshly initialized weights (Keras's ``clone_model``).

    ``Sequential`` and functional models are rebuilt layer by layer (shared layers stay
    shared); a subclassed model is rebuilt from its ``get_config()``. Weights are not copied:
    ``clone.set_weights(model.get_weights())`` does that.

    Args:
      model: the model to clone.
      input_tensors: ``hl.Input`` tensor(s) for the clone to start from, in the structure of
        ``model.inputs`` (new ones of the same shapes by default).
      clone_function: ``layer -> new layer``, called once per layer (default: a new layer from
        ``layer.get_config()``); returning the layer itself shares it with the original.
      call_function: ``(layer, *args, **kwargs) -> outputs``, how each (cloned) layer is called
        in a functional model (default: ``layer(*args, **kwargs)``).

    Returns:
      The clone (uncompiled).

    >>> import highlevel as hl
    >>> inputs = hl.Input((4,))
    >>> model = hl.Model(inputs, hl.layers.Dense(2, name="out")(hl.layers.Dense(3)(inputs)))
    >>> clone = hl.models.clone_model(model)
    >>> [l.name for l in clone.layers] == [l.name for l in model.layers], clone.layers[-1] is model.layers[-1]
    (True, False)
    """
    clone_function = clone_function or _default_clone
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function)
    if model.inputs is None:   # a subclassed model
        if input_tensors is not None:
            raise ValueError(f"clone_model cannot give the subclassed model '{model.name}' new input tensors; "
                             "call the clone on them instead.")
        try:
            config = model.get_config()
        except NotImplementedError as err:
            raise NotImplementedError(f"clone_model rebuilds the subclassed model '{model.name}' from its config: "
                                      f"{err}") from None
        return type(model).from_config(config)
    return _clone_functional(model, input_tensors, clone_function, call_function)


def _clone_sequential(model: Sequential, input_tensors, clone_function) -> Sequential:
    layers = [clone_function(layer) for layer in model.layers]
    start = []
    if input_tensors is not None:
        flat = jax.tree_util.tree_leaves(input_tensors, is_leaf=_is_kt)
        if len(flat) != 1 or not _is_kt(flat[0]):
            raise ValueError(f"A Sequential clone starts from one hl.Input tensor, got {input_tensors!r}.")
        start = [flat[0]]
    elif model.inputs is not None or model.build_input_shape is not None:
        shape = tuple(model.build_input_shape)
        first = model.inputs[0] if model.inputs else None
        start = [Input(batch_shape=(None,) + shape[1:], dtype=str(first.dtype) if first is not None else "float32")]
    clone = Sequential(start + layers, name=model.name, trainable=model.trainable)
    return clone


def _clone_functional(model: Model, input_tensors, clone_function, call_function) -> Model:
    old_inputs = model.inputs
    if input_tensors is None:
        new_inputs = [_new_input(t) for t in old_inputs]
    else:
        new_inputs = jax.tree_util.tree_leaves(input_tensors, is_leaf=_is_kt)
        if len(new_inputs) != len(old_inputs) or not all(_is_kt(t) for t in new_inputs):
            raise ValueError(f"input_tensors must be {len(old_inputs)} hl.Input tensor(s), one per input of model "
                             f"'{model.name}'; got {input_tensors!r}.")
    mapping: dict[int, KerasTensor] = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    clones: dict[int, Layer] = {}
    call = call_function or (lambda layer, *args, **kwargs: layer(*args, **kwargs))
    remap = lambda tree: jax.tree_util.tree_map(lambda t: mapping[id(t)] if _is_kt(t) else t, tree, is_leaf=_is_kt)
    for node in model.graph_nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if id(layer) not in clones:
            clones[id(layer)] = clone_function(layer)
        outputs = call(clones[id(layer)], remap(node.inputs), *remap(node.args), **node.call_kwargs,
                       **remap(node.tensor_kwargs))
        for old, new in zip(jax.tree_util.tree_leaves(node.outputs, is_leaf=_is_kt),
                            jax.tree_util.tree_leaves(outputs, is_leaf=_is_kt)):
            mapping[id(old)] = new
    inputs = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(model._input_struct, is_leaf=_is_kt),
                                          new_inputs)
    outputs = remap(model._output_tensors)
    return Model(inputs, outputs, name=model.name, trainable=model.trainable)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Model:
    """The model a ``model.to_json()`` string describes, with new weights (Keras's ``model_from_json``).

    Args:
      json_string: what ``model.to_json()`` returned.
      custom_objects: ``{class name: class}`` of custom layers or models the JSON names, for
        this call (or register them once with ``hl.layers.register_layer``).

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="d")])
    >>> hl.models.model_from_json(model.to_json()).get_layer("d").units
    2
    """
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"model_from_json needs the string model.to_json() returns; this one is not JSON: "
                         f"{err}.") from None
    classes = {name: cls for name, cls in (custom_objects or {}).items()
               if isinstance(cls, type) and issubclass(cls, Layer)}
    with custom_layer_scope(classes):
        model = deserialize_layer(config)
    if not isinstance(model, Model):
        raise ValueError(f"model_from_json got the JSON of a {type(model).__name__} layer, not a model; use "
                         "hl.layers.deserialize for layers.")
    return model
