"""Symbolic tensors for the functional API: ``Input`` and the graph of layer calls."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.base import Layer, TensorSpec, format_shape, register_layer

__all__ = ["KerasTensor", "Node", "InputLayer", "Input"]


class KerasTensor:
    """A placeholder for a batch of values: a shape (batch None), a dtype and where it came from."""

    def __init__(self, shape: Sequence[int | None], dtype: Any = "float32", name: str | None = None):
        self.shape = tuple(shape)
        self.dtype = jnp.dtype(dtype)
        self.name = name
        self.keras_history: tuple[Layer, int, int] | None = None  # (layer, node index, tensor index)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        origin = f", from {self.keras_history[0].name}" if self.keras_history else ""
        return f"<KerasTensor shape={format_shape(self.shape)}, dtype={self.dtype}{origin}>"

    def __array__(self, *args, **kwargs):
        raise TypeError("A symbolic hl.Input tensor has no values: pass it to layers and then to "
                        "hl.Model(inputs, outputs), and call the model on real arrays.")


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


class Node:
    """One call of a layer in the functional graph: its symbolic inputs, outputs and arguments."""

    def __init__(self, layer: Layer, inputs: Any, outputs: Any, call_kwargs: dict[str, Any]):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.call_kwargs = call_kwargs

    @property
    def input_tensors(self) -> list[KerasTensor]:
        return [t for t in jax.tree_util.tree_leaves(self.inputs, is_leaf=_is_kt) if _is_kt(t)]

    @property
    def output_tensors(self) -> list[KerasTensor]:
        return [t for t in jax.tree_util.tree_leaves(self.outputs, is_leaf=_is_kt) if _is_kt(t)]


def call_symbolic(layer: Layer, inputs: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Builds ``layer`` for the symbolic inputs' shapes and records the call as a graph node."""
    if args:
        raise TypeError(f"Layer '{layer.name}': in the functional API pass extra inputs as a list, "
                        "not as further positional arguments.")
    call_kwargs = {k: v for k, v in kwargs.items()}
    shapes = jax.tree_util.tree_map(lambda t: t.shape, inputs, is_leaf=_is_kt)
    dtypes = jax.tree_util.tree_map(lambda t: t.dtype, inputs, is_leaf=_is_kt)
    is_shape = lambda s: isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)
    if not layer.built:
        layer.maybe_build(shapes)
    try:
        specs = layer.compute_output_spec(shapes, dtypes, **call_kwargs)
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

    outputs = jax.tree_util.tree_map(make, specs, is_leaf=lambda s: isinstance(s, TensorSpec))
    layer.inbound_nodes.append(Node(layer, inputs, outputs, call_kwargs))
    return outputs


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
        self.output = tensor

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
