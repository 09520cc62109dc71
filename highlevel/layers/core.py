"""Core layers: Dense, Activation, Flatten, Reshape, Embedding, Identity."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, register_layer

__all__ = ["Dense"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


@register_layer
class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)`` on the last axis.

    Args:
      units: the output dimension.
      activation: an activation name or callable (linear by default).
      use_bias: whether to add a bias.
      kernel_initializer, bias_initializer: initializers (Keras names).
      kernel_regularizer, bias_regularizer: penalties added to the loss.

    Input shape ``(batch, ..., d)``; output shape ``(batch, ..., units)``.
    Weights (Keras order): ``kernel (d, units)``, ``bias (units,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Dense(4)(np.ones((2, 3), "float32")).shape
    (2, 4)
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}.")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense layer '{self.name}' needs a known last input dimension, got shape {input_shape}.")
        self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer)

    def call(self, inputs):
        y = jnp.matmul(inputs, self.kernel.value)
        if self.use_bias:
            y = y + self.bias.value
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer)}
