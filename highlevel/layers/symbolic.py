"""Symbolic tensors for the functional API: ``Input`` and the graph of layer calls."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from highlevel.layers._calling import _positional_names
from highlevel.layers.base import Layer, TensorSpec, call_context, format_shape, register_layer
from highlevel.layers.operation import OpLayer, encode_arguments
from highlevel.layers.input_spec import assert_input_compatibility
from highlevel.layers.specs import eval_output_specs
from highlevel.ops import numpy as onp
from highlevel.ops.symbolic import register_symbolic

__all__ = ["KerasTensor", "Node", "InputLayer", "Input", "node_tensors", "node_shape", "is_keras_tensor",
           "get_source_inputs"]


class KerasTensor:
    """A placeholder for a batch of values: a shape (batch None), a dtype and where it came from."""

    def __init__(self, shape: Sequence[int | None], dtype: Any = "float32", name: str | None = None):
        self.shape = tuple(shape)
        self.dtype = jnp.dtype(dtype)
        self.name = name
        self.keras_history: tuple[Layer, int, int] | None = None  # (layer, node index, tensor index)
        #: The tensor's Keras mask, a boolean KerasTensor ``(batch, timesteps)``, or None when it
        #: has none (Keras's ``_keras_mask``); at run time the mask's values travel with the values.
        self.keras_mask: KerasTensor | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        origin = f", from {self.keras_history[0].name}" if self.keras_history else ""
        masked = ", masked" if self.keras_mask is not None else ""
        return f"<KerasTensor shape={format_shape(self.shape)}, dtype={self.dtype}{origin}{masked}>"

    def __array__(self, *args, **kwargs):
        raise TypeError("A symbolic hl.Input tensor has no values: pass it to layers and then to "
                        "hl.Model(inputs, outputs), and call the model on real arrays.")

    def __bool__(self):
        raise TypeError("A symbolic hl.Input tensor has no truth value: Python's if, and and or cannot decide "
                        "on it; use hl.ops.where, hl.ops.logical_and... or a layer.")

    def __iter__(self):
        raise TypeError("A symbolic hl.Input tensor cannot be iterated over: index it (x[:, 0]) or use "
                        "hl.ops.unstack.")

    # Arithmetic, comparisons and indexing record hl.ops calls, as Keras 3's KerasTensor does
    # (``inputs / 255.0``, ``x[:, -1]``, ``tokens != 0``). ``==`` stays identity, as in Keras.
    def __add__(self, other): return onp.add(self, other)
    def __radd__(self, other): return onp.add(other, self)
    def __sub__(self, other): return onp.subtract(self, other)
    def __rsub__(self, other): return onp.subtract(other, self)
    def __mul__(self, other): return onp.multiply(self, other)
    def __rmul__(self, other): return onp.multiply(other, self)
    def __matmul__(self, other): return onp.matmul(self, other)
    def __rmatmul__(self, other): return onp.matmul(other, self)
    def __truediv__(self, other): return onp.true_divide(self, other)
    def __rtruediv__(self, other): return onp.true_divide(other, self)
    def __floordiv__(self, other): return onp.floor_divide(self, other)
    def __rfloordiv__(self, other): return onp.floor_divide(other, self)
    def __mod__(self, other): return onp.mod(self, other)
    def __rmod__(self, other): return onp.mod(other, self)
    def __pow__(self, other): return onp.power(self, other)
    def __rpow__(self, other): return onp.power(other, self)
    def __neg__(self): return onp.negative(self)
    def __abs__(self): return onp.absolute(self)
    def __lt__(self, other): return onp.less(self, other)
    def __le__(self, other): return onp.less_equal(self, other)
    def __gt__(self, other): return onp.greater(self, other)
    def __ge__(self, other): return onp.greater_equal(self, other)
    def __ne__(self, other): return onp.not_equal(self, other)
    def __and__(self, other): return onp.logical_and(self, other)
    def __rand__(self, other): return onp.logical_and(other, self)
    def __or__(self, other): return onp.logical_or(self, other)
    def __ror__(self, other): return onp.logical_or(other, self)
    def __xor__(self, other): return onp.logical_xor(self, other)
    def __rxor__(self, other): return onp.logical_xor(other, self)
    def __invert__(self): return onp.logical_not(self)
    def __getitem__(self, key): return onp.get_item(self, key)

    __hash__ = object.__hash__   # graph bookkeeping keys tensors by identity


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (``hl.Input`` or a layer's output on one).

    Args:
        x: anything.

    >>> import highlevel as hl, numpy as np
    >>> is_keras_tensor(hl.Input((3,))), is_keras_tensor(np.zeros(3))
    (True, False)
    """
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The ``hl.Input`` tensors ``tensor`` is computed from, in the order the graph reaches them, as Keras's.

    Args:
        tensor: a KerasTensor (an ``hl.Input`` gives ``[tensor]``).

    >>> import highlevel as hl
    >>> a, b = hl.Input((2,)), hl.Input((3,))
    >>> y = hl.layers.Dense(1)(hl.layers.Concatenate()([a, b]))
    >>> get_source_inputs(y) == [a, b]
    True
    """
    if not isinstance(tensor, KerasTensor):
        raise TypeError(f"get_source_inputs takes a KerasTensor (hl.Input or a layer's output on one), got "
                        f"{type(tensor).__name__}.")
    if tensor.keras_history is None:
        return [tensor]
    layer, node_index, _ = tensor.keras_history
    node = layer.inbound_nodes[node_index]
    if not node.input_tensors:   # an InputLayer's node: the tensor is a source
        return [tensor]
    sources: list[KerasTensor] = []
    for x in node.input_tensors:
        for source in get_source_inputs(x):
            if not any(source is s for s in sources):
                sources.append(source)
    return sources


def _record_op(name: str, args: tuple, kwargs: dict):
    """An ``hl.ops`` call with symbolic arguments, recorded as an ``OpLayer`` node (what the op gives back)."""
    tensors: list[KerasTensor] = []
    objects: list = []
    arguments = {"args": encode_arguments(list(args), tensors, _is_kt, objects),
                 "kwargs": encode_arguments(dict(kwargs), tensors, _is_kt, objects)["__dict__"]}
    return OpLayer(name, arguments, objects=tuple(objects))(tensors)


register_symbolic(KerasTensor, _record_op)


class Node:
    """One call of a layer in the functional graph: its symbolic inputs, outputs and arguments.

    ``inputs`` is the first argument of the call; ``args`` further positional arguments and
    ``tensor_kwargs`` keyword arguments holding tensors (``layer(query, value)``,
    ``attention(x, value=v)``); ``call_kwargs`` the other keyword arguments (``training``).
    ``mask_args`` names the ``call`` arguments (``mask``, ``value_mask``...) that receive the
    masks of the tensors they map to.
    """

    def __init__(self, layer: Layer, inputs: Any, outputs: Any, call_kwargs: dict[str, Any],
                 args: tuple = (), tensor_kwargs: dict[str, Any] | None = None,
                 mask_args: dict[str, Any] | None = None):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.call_kwargs = call_kwargs
        self.args = tuple(args)
        self.tensor_kwargs = dict(tensor_kwargs or {})
        self.mask_args = dict(mask_args or {})

    @property
    def input_tensors(self) -> list[KerasTensor]:
        tree = (self.inputs, self.args, self.tensor_kwargs)
        return [t for t in jax.tree_util.tree_leaves(tree, is_leaf=_is_kt) if _is_kt(t)]

    @property
    def output_tensors(self) -> list[KerasTensor]:
        return [t for t in jax.tree_util.tree_leaves(self.outputs, is_leaf=_is_kt) if _is_kt(t)]


def _mask_of(tree):
    """The masks of a tree of tensors: the same structure, each tensor's ``keras_mask`` (or None)."""
    return jax.tree_util.tree_map(lambda t: t.keras_mask if _is_kt(t) else None, tree, is_leaf=_is_kt)


def _any_mask(tree) -> bool:
    return any(_is_kt(m) for m in jax.tree_util.tree_leaves(_mask_of(tree), is_leaf=lambda x: x is None))


def call_symbolic(layer: Layer, inputs: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Builds ``layer`` for the symbolic inputs' shapes and records the call as a graph node.

    The call may take several tensors (``layer(a, b)``, ``layer(q, value=v)``). The output
    tensors carry the masks ``compute_mask`` gives (Keras's mask propagation); a ``call``
    with a ``mask`` argument receives the first argument's mask, and one with ``value_mask``
    (say) the mask of its ``value`` argument.
    """
    tensor_kwargs = {k: v for k, v in kwargs.items() if any(_is_kt(t) for t in _leaves(v))}
    call_kwargs = {k: v for k, v in kwargs.items() if k not in tensor_kwargs}
    params = set(inspect_call_params(layer))
    names = _positional_names(type(layer), 1 + len(args))
    mask_args: dict[str, Any] = {}
    for name, value in list(zip(names[1:], args)) + list(tensor_kwargs.items()):
        if f"{name}_mask" in params and f"{name}_mask" not in kwargs and _any_mask(value):
            mask_args[f"{name}_mask"] = value
    # The first argument's mask: passed as ``mask`` (when call takes it) and used for the output
    # mask; an explicit ``mask=`` tensor wins, as in Keras.
    first_mask = tensor_kwargs["mask"] if "mask" in tensor_kwargs else _mask_of(inputs)
    if not layer.supports_masking and "mask" not in params and _any_mask(inputs):
        warnings.warn(f"Layer '{layer.name}' ({type(layer).__name__}) got an input with a Keras mask but does not "
                      "support masking, so the layers after it see no mask (as in Keras). Layers that pass masks "
                      "on set supports_masking = True.", stacklevel=3)

    is_shape = lambda s: isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)
    shapes = jax.tree_util.tree_map(lambda t: t.shape, inputs, is_leaf=_is_kt)
    if layer.input_spec is not None:
        assert_input_compatibility(layer.input_spec, inputs, layer.name)
    if not layer.built:
        layer.build_for_call(inputs, args, tensor_kwargs)

    # Every tensor the call reads (values and masks), flattened, to trace with abstract values.
    masks_tree = {name: _mask_of(value) for name, value in mask_args.items()}
    tree = (inputs, args, tensor_kwargs, first_mask, masks_tree)
    leaves, treedef = jax.tree_util.tree_flatten(tree, is_leaf=_is_kt)
    positions = [i for i, leaf in enumerate(leaves) if _is_kt(leaf)]
    specs = [TensorSpec(leaves[i].shape, leaves[i].dtype) for i in positions]

    def run(*arrays):
        filled = list(leaves)
        for i, a in zip(positions, arrays):
            filled[i] = a
        x, more, tkw, mask, masks = jax.tree_util.tree_unflatten(treedef, filled)
        kw = {**call_kwargs, **tkw, **masks, "training": call_kwargs.get("training") or False}
        kw.pop("mask", None)
        with call_context(training=bool(kw["training"])):
            return layer.call_with_mask(x, *more, mask=mask, **kw)

    try:
        specs_out, mask_specs = eval_output_specs(layer, run, specs)
        if not args and not tensor_kwargs and type(layer).compute_output_spec is not Layer.compute_output_spec:
            # A layer that refines its output specs (unknown time axes of recurrent layers).
            dtypes = jax.tree_util.tree_map(lambda t: t.dtype, inputs, is_leaf=_is_kt)
            specs_out = layer.compute_output_spec(shapes, dtypes, **call_kwargs)
    except (TypeError, ValueError) as err:
        if "does not match layer" in str(err) or "expects" in str(err):
            raise
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) cannot take inputs of shape "
                         f"{jax.tree_util.tree_map(format_shape, shapes, is_leaf=is_shape)}: {err}") from err
    node_index = len(layer.inbound_nodes)
    counter = iter(range(1_000_000))

    def make(spec: TensorSpec) -> KerasTensor:
        tensor = KerasTensor(spec.shape, spec.dtype)
        tensor.keras_history = (layer, node_index, next(counter))
        return tensor

    is_spec = lambda s: isinstance(s, TensorSpec)
    outputs = jax.tree_util.tree_map(make, specs_out, is_leaf=is_spec)
    # As Keras's _set_mask_metadata: the output masks, flattened, go to the outputs in order.
    flat_masks = jax.tree_util.tree_leaves(mask_specs, is_leaf=lambda m: m is None or is_spec(m))
    for tensor, spec in zip(_leaves(outputs), flat_masks):
        if is_spec(spec) and _is_kt(tensor):
            mask = KerasTensor(spec.shape, spec.dtype)
            tensor.keras_mask = mask
    layer.inbound_nodes.append(Node(layer, inputs, outputs, call_kwargs, args=args,
                                    tensor_kwargs=tensor_kwargs, mask_args=mask_args))
    return outputs


def _leaves(tree) -> list:
    return jax.tree_util.tree_leaves(tree, is_leaf=_is_kt)


def inspect_call_params(layer: Layer) -> list[str]:
    """The parameter names of ``layer.call`` (without ``self``)."""
    import inspect
    return list(inspect.signature(type(layer).call).parameters)[1:]


def _nodes(layer: Layer, what: str) -> list:
    if not layer.inbound_nodes:
        raise AttributeError(f"Layer '{layer.name}' has never been called on hl.Input tensors, so it has no {what}. "
                             "Call it on a KerasTensor first (e.g. layer(hl.Input((3,)))).")
    return layer.inbound_nodes


def node_tensors(layer: Layer, which: str):
    """``layer.input``/``layer.output``: the tensor(s) of its first call, as Keras 3.

    Args:
      layer: a layer called at least once on KerasTensors.
      which: ``"input"`` or ``"output"``.

    >>> import highlevel as hl
    >>> x = hl.Input((2,))
    >>> dense = hl.layers.Dense(3)
    >>> y = dense(x)
    >>> node_tensors(dense, "input") is x, node_tensors(dense, "output") is y
    (True, True)
    """
    node = _nodes(layer, which)[0]
    tensors = node.input_tensors if which == "input" else node.output_tensors
    return tensors[0] if len(tensors) == 1 else tensors


def node_shape(layer: Layer, which: str):
    """``layer.input_shape``/``output_shape``: the shape(s) of its calls' tensors, which must agree.

    Args:
      layer: a layer called at least once on KerasTensors.
      which: ``"input"`` or ``"output"``.

    >>> import highlevel as hl
    >>> dense = hl.layers.Dense(3)
    >>> _ = dense(hl.Input((2,)))
    >>> node_shape(dense, "output")
    (None, 3)
    """
    shapes = []
    for node in _nodes(layer, f"{which} shape"):
        tensors = node.input_tensors if which == "input" else node.output_tensors
        shape = tensors[0].shape if len(tensors) == 1 else [t.shape for t in tensors]
        if shape not in shapes:
            shapes.append(shape)
    if len(shapes) > 1:
        raise AttributeError(f"Layer '{layer.name}' was called {len(layer.inbound_nodes)} times with different "
                             f"{which} shapes {shapes}, so it has no single {which} shape; read it from each "
                             "call's tensors (layer.inbound_nodes[i]).")
    return shapes[0]


@register_layer
class InputLayer(Layer):
    """The entry of a model: holds the input shape and passes its input through.

    :func:`Input` creates one and returns its output tensor; models hold it as their first
    layer.

    Args:
        shape: The shape of one sample, without the batch dimension.
        batch_size: A fixed batch size, or None.
        dtype: The input's dtype.
        name: The layer's name.
        batch_shape: The full shape with the batch dimension, instead of ``shape`` and ``batch_size``.
        **kwargs: Other ``Layer`` arguments.

    >>> import highlevel as hl
    >>> layer = hl.layers.InputLayer((3,))
    >>> layer.batch_shape, layer.output.shape
    ((None, 3), (None, 3))
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: str = "float32", name: str | None = None, batch_shape=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs a shape, e.g. hl.Input((28, 28, 1)) (without the batch size).")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        self.build_input_shape = self.batch_shape
        tensor = KerasTensor(self.batch_shape, dtype, name=self.name)
        tensor.keras_history = (self, 0, 0)
        self.inbound_nodes.append(Node(self, [], tensor, {}))

    @property
    def input(self) -> KerasTensor:
        """The input tensor (the same as ``output``)."""
        return self.output

    @property
    def input_shape(self) -> tuple:
        return self.batch_shape

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,
          dtype: str = "float32", name: str | None = None, batch_shape=None) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch dimension), as ``keras.Input``.

    Args:
        shape: The shape of one sample, e.g. ``(28, 28, 1)``; ``None`` entries are unknown
            sizes (e.g. a sequence length). An int means a 1-D sample.
        batch_size: A fixed batch size, or None (any).
        dtype: The input's dtype.
        name: The name of its ``InputLayer`` (unique names are generated otherwise).
        batch_shape: The full shape with the batch dimension, instead of ``shape`` and
            ``batch_size``.

    Returns:
        A ``KerasTensor`` of shape ``(batch_size, *shape)``, to call layers on (functional
        models) or to start a ``Sequential``.

    >>> import highlevel as hl
    >>> x = hl.Input((16,))
    >>> x.shape
    (None, 16)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output
