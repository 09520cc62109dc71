"""Activation layers with arguments: ReLU, LeakyReLU, PReLU, ELU and Softmax, as Keras computes them."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import activations as _activations
from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _non_negative(name: str, value, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not float(value) >= 0.0:
        raise ValueError(f"ReLU `{name}` must be a non-negative number{' or None' if allow_none else ''}, "
                         f"got {value!r}.")
    return float(value)


@register_layer
class ReLU(Layer):
    """The rectified linear unit with an optional cap, leak and threshold (``keras.layers.ReLU``).

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value``,
    and ``negative_slope * (x - threshold)`` otherwise.

    Args:
      max_value: the cap on the output (None for none); ``ReLU(6.0)`` is ReLU6.
      negative_slope: the slope below the threshold (0 for none).
      threshold: the value below which the unit is off (or leaks).

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ReLU(6.0)(np.array([[-1.0, 3.0, 8.0]], "float32")).tolist()
    [[0.0, 3.0, 6.0]]
    >>> hl.layers.ReLU(negative_slope=0.5, threshold=1.0)(np.array([[-1.0, 2.0]], "float32")).tolist()
    [[-1.0, 2.0]]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative("max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("negative_slope", negative_slope)
        self.threshold = _non_negative("threshold", threshold)

    def call(self, inputs):
        return _activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                 threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}



def _number(layer: str, name: str, value) -> float:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ValueError(f"{layer} `{name}` must be a number, got {value!r}.")
    return float(value)


@register_layer
class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (``keras.layers.LeakyReLU``).

    Args:
      negative_slope: the slope for negative inputs (Keras's default, 0.3).

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.LeakyReLU(0.5)(np.array([[-2.0, 3.0]], "float32")).tolist()
    [[-1.0, 3.0]]
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)
        if self.negative_slope < 0:
            raise ValueError(f"LeakyReLU `negative_slope` must be non-negative, got {negative_slope!r}.")

    def call(self, inputs):
        return jax.nn.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register_layer
class ELU(Layer):
    """The exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
      alpha: the scale of the negative part.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> [round(v, 4) for v in hl.layers.ELU()(np.array([-1.0, 2.0], "float32")).tolist()]
    [-0.6321, 2.0]
    """

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number("ELU", "alpha", alpha)

    def call(self, inputs):
        return jax.nn.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register_layer
class PReLU(Layer):
    """A leaky ReLU whose negative slopes are learned: ``max(x, 0) - alpha * max(-x, 0)``.

    Args:
      alpha_initializer: the slopes' initializer (zeros: a plain ReLU to start).
      alpha_regularizer: a penalty on the slopes, added to the loss.
      alpha_constraint: a constraint (``hl.constraints``) on the slopes, applied after each update.
      shared_axes: the axes (1 is the first after the batch) along which one slope is shared,
        e.g. ``[1, 2]`` for one slope per channel of an image.

    Input and output shapes are the same. Weights: ``alpha`` of the input's shape without the
    batch, with size 1 on the shared axes.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.PReLU(alpha_initializer="ones", shared_axes=[1])
    >>> layer(np.array([[[-2.0, 1.0]]], "float32")).tolist(), layer.get_weights()[0].shape
    ([[[-2.0, 1.0]]], (1, 2))
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: int | Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.alpha_regularizer = _regularizers.get(alpha_regularizer)
        self.alpha_constraint = _constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, (int, np.integer)) else list(shared_axes)
            if not all(isinstance(a, (int, np.integer)) and a >= 1 for a in axes):
                raise ValueError(f"PReLU `shared_axes` must hold axes >= 1 (0 is the batch), got {shared_axes!r}.")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ValueError(f"PReLU layer '{self.name}' shares axis {axis}, but its inputs of shape "
                                 f"{format_shape(tuple(input_shape))} have axes 1 to {len(shape)}.")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU layer '{self.name}' needs known sizes on the axes it does not share, got "
                             f"inputs of shape {format_shape(tuple(input_shape))}; share the unknown axes "
                             "with shared_axes.")
        self.add_weight("alpha", tuple(shape), self.alpha_initializer, regularizer=self.alpha_regularizer,
                        constraint=self.alpha_constraint)

    def call(self, inputs):
        alpha = self.alpha.get_value()[None]
        return jax.nn.relu(inputs) - alpha * jax.nn.relu(-inputs)

    def get_config(self):
        init = self.alpha_initializer
        return {**super().get_config(),
                "alpha_initializer": init if isinstance(init, str) else _initializers.serialize(_initializers.get(init)),
                "alpha_regularizer": _regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": _constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


def masked_softmax(inputs, mask, axis: int | Sequence[int] = -1):
    """Keras's masked softmax: masked logits become -1e9 (-3e4 in float16), masked outputs 0."""
    if mask is not None:
        mask = jnp.asarray(mask)
        mask = mask if mask.dtype == bool else mask > 0.5
        mask = jnp.reshape(mask, (1,) * (inputs.ndim - mask.ndim) + mask.shape)
        inputs = jnp.where(mask, inputs, jnp.asarray(-3e4 if inputs.dtype == jnp.float16 else -1e9, inputs.dtype))
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    if len(axes) > 1:
        outputs = jnp.exp(inputs - jax.scipy.special.logsumexp(inputs, axis=axes, keepdims=True))
    else:
        outputs = jax.nn.softmax(inputs, axis=axes[0])
    if mask is not None:
        outputs = jnp.where(mask, outputs, jnp.zeros((), outputs.dtype))
    return outputs


@register_layer
class Softmax(Layer):
    """The softmax over ``axis``; with a ``mask``, masked entries get probability 0 (``keras.layers.Softmax``).

    Args:
      axis: the axis, or a list of axes, that each distribution runs over.

    Call with ``mask`` (booleans broadcastable to the input): masked logits are replaced by
    -1e9 before the softmax and their outputs set to 0 after it, as Keras does (a fully
    masked row gives zeros).

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> x = np.array([[1.0, 2.0, 1.0]], "float32")
    >>> [round(v, 4) for v in hl.layers.Softmax()(x)[0].tolist()]
    [0.2119, 0.5761, 0.2119]
    >>> hl.layers.Softmax()(x, mask=np.array([[True, False, True]])).tolist()
    [[0.5, 0.0, 0.5]]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, (int, np.integer)) for a in axis):
                raise ValueError(f"Softmax `axis` must be an integer or a list of integers, got {axis!r}.")
            self.axis: int | list[int] = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise ValueError(f"Softmax `axis` must be an integer or a list of integers, got {axis!r}.")

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(m not in (1, i) for m, i in zip(mask.shape[::-1], inputs.shape[::-1])):
                raise ValueError(f"Softmax layer '{self.name}': the mask of shape {format_shape(mask.shape)} must "
                                 f"broadcast to the inputs of shape {format_shape(inputs.shape)} (each mask size 1 "
                                 "or the input's).")
        return masked_softmax(inputs, mask, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
