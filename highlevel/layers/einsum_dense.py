"""EinsumDense: a dense layer whose contraction is any einsum equation, as Keras 3's."""

from __future__ import annotations

import re
from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["EinsumDense"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def _split_equation(equation: str):
    """(input spec, weight spec, output spec, left_elided), Keras's three accepted forms."""
    if not isinstance(equation, str):
        raise ValueError(f"EinsumDense equation must be a string such as 'ab,bc->ac', got {equation!r}.")
    dotted = re.sub(r"\.\.\.", "0", equation)
    for pattern, left in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", False),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", True),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", False)):
        match = re.match(pattern, dotted)
        if match:
            return match.group(1), match.group(2), match.group(3), left
    raise ValueError(f"EinsumDense equation {equation!r} is not of a supported form: write it as "
                     "'[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...' (letters only).")


def analyze_einsum(equation: str, bias_axes: str | None, input_shape, output_shape):
    """Keras's ``_analyze_einsum_string``: (kernel shape, bias shape or None, full output shape,
    the kernel's input axes, its output axes)."""
    input_spec, weight_spec, output_spec, left_elided = _split_equation(equation)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(input_spec)
    full = [input_shape[0], *output_shape]
    if elided > 0 and left_elided:
        for i in range(1, elided):
            full.insert(1, input_shape[i])
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        input_dims = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_dims = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_dims = {d: i for i, d in enumerate(input_spec)}
        output_dims = {d: i for i, d in enumerate(output_spec)}
    for dim in input_spec:
        if dim in output_dims and full[output_dims[dim]] is not None \
                and full[output_dims[dim]] != input_shape[input_dims[dim]]:
            raise ValueError(f"EinsumDense output_shape gives {full[output_dims[dim]]} for dimension '{dim}' "
                             f"of {equation!r}, but the input has {input_shape[input_dims[dim]]} there: make "
                             "them equal (or None in output_shape).")
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f"EinsumDense equation {equation!r}: output dimension '{dim}' is in neither the "
                             "input nor the weight spec; add it to one of them.")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, dim in enumerate(weight_spec):
        if dim in output_dims:
            kernel_shape.append(full[output_dims[dim]])
            output_axes.append(i)
        elif dim in input_dims:
            kernel_shape.append(input_shape[input_dims[dim]])
            input_axes.append(i)
        else:
            raise ValueError(f"EinsumDense equation {equation!r}: weight dimension '{dim}' is in neither the "
                             "input nor the output spec, so its size is unknown; use it in one of them.")
    bias_shape = None
    if bias_axes is not None:
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f"EinsumDense bias_axes {bias_axes!r}: '{char}' is not an output dimension "
                                 f"of {equation!r}; name only letters of '{output_spec}'.")
        offset = elided if left_elided else 0
        sizes = {c: full[i + offset] for i, c in enumerate(output_spec)}
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)
    return kernel_shape, bias_shape, full, input_axes, output_axes


@register_layer
class EinsumDense(Layer):
    """A dense layer whose contraction is an einsum equation: ``activation(einsum(equation, x, kernel) + bias)``.

    The kernel's shape is read from the equation, the input shape and
    ``output_shape``, as Keras does; ``VarianceScaling`` initializers (glorot,
    he, lecun) take their fans from the kernel's input and output axes.

    Args:
      equation: ``"input,kernel->output"`` letters, e.g. ``"ab,bc->ac"`` (a Dense),
        ``"abc,cd->abd"`` or with an ellipsis, ``"...b,bc->...c"``.
      output_shape: the output shape without the batch axis (an integer for one
        axis); None entries take the input's size.
      activation: an activation name or callable (linear by default).
      bias_axes: the output letters the bias spans (``"c"``), or None for no bias.
      kernel_initializer, bias_initializer: initializers (Keras names).
      kernel_regularizer, bias_regularizer: penalties added to the loss.
      kernel_constraint, bias_constraint: constraints (``hl.constraints``) applied after
        each optimizer update.

    Input shape as the equation's input spec (batch first); output shape
    ``(batch, *output_shape)`` with None entries filled in. Weights (Keras order):
    ``kernel``, then ``bias`` when ``bias_axes`` is given.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 2), bias_axes="e")
    >>> layer(np.ones((2, 3, 5), "float32")).shape, layer.kernel.shape, layer.bias.shape
    ((2, 3, 4, 2), (5, 4, 2), (2,))
    """

    def __init__(self, equation: str, output_shape: int | Sequence[int | None], activation: Any = None,
                 bias_axes: str | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        _split_equation(equation)
        self.equation = equation
        dims = (output_shape,) if isinstance(output_shape, (int, np.integer)) else output_shape
        if isinstance(dims, str) or not hasattr(dims, "__iter__") or not all(
                d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0)
                for d in dims):
            raise ValueError(f"EinsumDense output_shape must be a positive integer or a tuple of positive "
                             f"integers and None, got {output_shape!r}.")
        self.partial_output_shape = tuple(None if d is None else int(d) for d in dims)
        if bias_axes is not None and not (isinstance(bias_axes, str) and bias_axes.isalpha()):
            raise ValueError(f"EinsumDense bias_axes must be a string of output letters or None, got {bias_axes!r}.")
        self.bias_axes = bias_axes
        self.activation = _activations.get(activation)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze_einsum(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        if any(d is None for d in kernel_shape) or (bias_shape and any(d is None for d in bias_shape)):
            raise ValueError(f"EinsumDense layer '{self.name}': the kernel's shape {format_shape(kernel_shape)} "
                             f"from {self.equation!r}, inputs {format_shape(tuple(input_shape))} and "
                             f"output_shape {self.partial_output_shape} has unknown sizes: give them in "
                             "output_shape or the input shape.")
        initializer = _initializers.get(self.kernel_initializer)
        if isinstance(initializer, _initializers.VarianceScaling) and (
                initializer.input_axes is None or initializer.output_axes is None):
            # Keras's fans for an einsum kernel: the sizes of its input and of its output axes.
            config = {**initializer.get_config(), "input_axes": input_axes, "output_axes": output_axes}
            initializer = type(initializer)(**config)
        self.add_weight("kernel", tuple(kernel_shape), initializer, regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        if bias_shape is not None:
            self.add_weight("bias", tuple(bias_shape), self.bias_initializer, regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def call(self, inputs):
        y = jnp.einsum(self.equation, inputs, self.kernel.get_value())
        if self.bias_axes is not None:
            bias = self.bias.get_value()
            # An explicit reshape: the tests run with jax_numpy_rank_promotion="raise".
            y = y + jnp.reshape(bias, (1,) * (y.ndim - bias.ndim) + bias.shape)
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape),
                "equation": self.equation, "activation": _activations.serialize(self.activation),
                "bias_axes": self.bias_axes, "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}
