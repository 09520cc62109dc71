"""Core layers: Dense, Activation, Identity, Flatten, Reshape, Embedding, Masking."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import backend as _backend
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["Dense", "Activation", "Identity", "Flatten", "Reshape", "Embedding", "Masking"]


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
      kernel_constraint, bias_constraint: constraints (``hl.constraints``) applied after
        each optimizer update.

    Input shape ``(batch, ..., d)``; output shape ``(batch, ..., units)``.
    Weights (Keras order): ``kernel (d, units)``, ``bias (units,)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Dense(4)(np.ones((2, 3), "float32")).shape
    (2, 4)
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs):
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
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense layer '{self.name}' needs a known last input dimension, got shape {input_shape}.")
        self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def call(self, inputs):
        y = jnp.matmul(inputs, self.kernel.get_value())
        if self.use_bias:
            # An explicit reshape: the tests run with jax_numpy_rank_promotion="raise".
            y = y + jnp.reshape(self.bias.get_value(), (1,) * (y.ndim - 1) + (self.units,))
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": _activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _ser_init(self.kernel_initializer),
                "bias_initializer": _ser_init(self.bias_initializer),
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}


@register_layer
class Activation(Layer):
    """Applies an activation function elementwise.

    Args:
      activation: an activation name (``"relu"``) or a callable.

    Input and output shapes are the same.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Activation("relu")(np.array([[-1.0, 2.0]], "float32")).tolist()
    [[0.0, 2.0]]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, activation: Any, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


@register_layer
class Identity(Layer):
    """Returns its input unchanged (a placeholder, as ``keras.layers.Identity``).

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Identity()(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def call(self, inputs):
        return inputs


@register_layer
class Flatten(Layer):
    """Flattens every dimension but the batch: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    Args:
      data_format: ``"channels_last"`` (default) or ``"channels_first"``; with
        ``channels_first`` the channels are moved last before flattening, as Keras does,
        so the flattened order is the same for both formats.

    An input of shape ``(batch,)`` becomes ``(batch, 1)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Flatten()(np.ones((2, 3, 4), "float32")).shape
    (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten data_format must be 'channels_last' or 'channels_first', "
                             f"got {data_format!r}.")
        self.data_format = data_format or _backend.image_data_format()   # Keras's default

    def call(self, inputs):
        rank = inputs.ndim
        if self.data_format == "channels_first" and rank > 2:
            inputs = jnp.transpose(inputs, (0, *range(2, rank), 1))
        return jnp.reshape(inputs, (inputs.shape[0], int(np.prod(inputs.shape[1:], dtype=np.int64))))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@register_layer
class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch dimension is kept).

    Args:
      target_shape: the new shape without the batch dimension; one entry may be -1,
        inferred from the others.

    Input ``(batch, ...)``; output ``(batch, *target_shape)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Reshape((-1, 2))(np.ones((3, 4, 2), "float32")).shape
    (3, 4, 2)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (target_shape,)
        target_shape = tuple(target_shape)
        if (not all(isinstance(d, (int, np.integer)) and (d > 0 or d == -1) for d in target_shape)
                or sum(d == -1 for d in target_shape) > 1):
            raise ValueError(f"Reshape target_shape must be positive integers with at most one -1, "
                             f"got {target_shape!r}.")
        self.target_shape = tuple(int(d) for d in target_shape)

    def _resolve(self, input_shape) -> tuple | None:
        """The concrete target shape for per-sample ``input_shape``; None while it is unknown."""
        if any(d is None for d in input_shape):
            return None
        size = int(np.prod(input_shape, dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if -1 in self.target_shape:
            ok = known > 0 and size % known == 0
            resolved = tuple(size // known if d == -1 else d for d in self.target_shape) if ok else None
        else:
            ok = known == size
            resolved = self.target_shape
        if not ok:
            if -1 in self.target_shape:
                why = f"the other entries of the target hold {known} values, which does not divide {size}"
            else:
                why = f"the target holds {known} values"
            raise ValueError(
                f"Reshape layer '{self.name}' cannot reshape inputs of shape "
                f"{format_shape((None,) + tuple(input_shape))} ({size} values per sample) to target "
                f"shape {format_shape(self.target_shape)}: {why}. Choose a target_shape with the "
                "same number of values per sample.")
        return resolved

    def build(self, input_shape):
        self._resolve(tuple(input_shape[1:]))

    def call(self, inputs):
        shape = self._resolve(tuple(inputs.shape[1:]))
        return jnp.reshape(inputs, (inputs.shape[0],) + shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register_layer
class Embedding(Layer):
    """Maps integer ids in ``[0, input_dim)`` to dense vectors of size ``output_dim``.

    Args:
      input_dim: the vocabulary size (largest id + 1).
      output_dim: the size of each vector.
      embeddings_initializer: initializer of the table (Keras's ``"uniform"``,
        ``RandomUniform(-0.05, 0.05)``, by default).
      embeddings_regularizer: a penalty on the table added to the loss.
      embeddings_constraint: a constraint (``hl.constraints``) applied to the table after
        each optimizer update.
      mask_zero: whether id 0 is padding: the output then carries a Keras mask (``ids != 0``)
        that the layers after it pass on or use (recurrent layers skip masked steps, losses
        and metrics ignore them), as in Keras. ``input_dim`` must then count the 0 as well.

    Input ``(batch, ...)`` of integers; output ``(batch, ..., output_dim)``.
    Weights: ``embeddings (input_dim, output_dim)``. Ids outside ``[0, input_dim)``
    give NaN rows (``jnp.take``'s fill mode) rather than silently reading another row.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Embedding(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    >>> hl.layers.Embedding(10, 4, mask_zero=True).compute_mask(np.array([[1, 2, 0]])).tolist()
    [[True, True, False]]
    """

    _INIT_ALIASES = {"uniform": "random_uniform", "normal": "random_normal"}

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, mask_zero: bool = False,
                 embeddings_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding {arg} must be a positive integer, got {value!r}.")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = _regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = _constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def build(self, input_shape):
        init = self.embeddings_initializer
        if isinstance(init, str):
            init = self._INIT_ALIASES.get(init, init)
        self.add_weight("embeddings", (self.input_dim, self.output_dim), init,
                        regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint)

    def _check_input_shape(self, inputs) -> None:
        # The table fits ids of any shape, so another sequence length is fine.
        return None

    def call(self, inputs):
        ids = jnp.asarray(inputs)
        if not jnp.issubdtype(ids.dtype, jnp.integer):
            ids = ids.astype(jnp.int32)
        return jnp.take(self.embeddings.get_value(), ids, axis=0)

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` with ``mask_zero``, else None (an incoming mask is not passed on)."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(jnp.asarray(inputs), 0)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": _ser_init(self.embeddings_initializer),
                "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": _constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}


@register_layer
class Masking(Layer):
    """Masks the timesteps whose features all equal ``mask_value`` (Keras's ``Masking``).

    The output is the input with masked timesteps set to 0, and it carries a Keras mask
    (``any(inputs != mask_value, axis=-1)``) that later layers pass on or use: recurrent
    layers skip masked steps, losses and metrics ignore them.

    Args:
      mask_value: the value that marks a padding timestep (0.0 by default).

    Input ``(batch, timesteps, features)``; output the same shape, mask ``(batch, timesteps)``.

    >>> import highlevel as hl, numpy as np
    >>> x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], "float32")
    >>> hl.layers.Masking()(x).shape, hl.layers.Masking().compute_mask(x).tolist()
    ((1, 3, 2), [[True, False, True]])
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(mask_value, (int, float, np.integer, np.floating)) or isinstance(mask_value, bool):
            raise ValueError(f"Masking mask_value must be a number, got {mask_value!r}.")
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return inputs * keep.astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
