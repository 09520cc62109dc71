"""More normalization layers: GroupNormalization, UnitNormalization and RMSNormalization, as Keras's.

Each normalizes a sample with its own statistics (no moving averages), so training and
inference agree; statistics are computed in at least float32.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["GroupNormalization", "UnitNormalization", "RMSNormalization"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def _axes_arg(layer: str, axis) -> int | list[int]:
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise ValueError(f"{layer} `axis` must be an integer or a list of integers, got {axis!r}.")


def _resolve_axes(layer: Layer, axis, shape) -> list[int]:
    ndim = len(shape)
    axes = axis if isinstance(axis, list) else [axis]
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{type(layer).__name__} layer '{layer.name}' has axis={axis}, out of range for "
                             f"inputs of shape {format_shape(tuple(shape))}.")
    return sorted({a % ndim for a in axes})


def _compute_dtype(x):
    return jnp.promote_types(x.dtype, jnp.float32)


@register_layer
class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    The channels (``axis``) are split into ``groups`` groups; the mean and variance are
    each group's, over its channels and every other non-batch axis. ``groups=1`` is layer
    normalization over all axes, ``groups=-1`` (one channel a group) instance normalization.

    Args:
      groups: the number of groups (it must divide the channels), or -1 for one per channel.
      axis: the channels axis.
      epsilon: added to the variance.
      center, scale: whether to learn ``beta`` and ``gamma``.
      beta_initializer, gamma_initializer: initializers (Keras names).
      beta_regularizer, gamma_regularizer: penalties added to the loss.
      beta_constraint, gamma_constraint: constraints (``hl.constraints``) applied after each update.

    Input and output shapes are the same. Weights (Keras order): ``gamma (channels,)``,
    ``beta (channels,)``.

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.GroupNormalization(groups=2)(np.arange(8, dtype="float32").reshape(1, 2, 4))
    >>> [round(float(v), 3) for v in y[0, :, :2].ravel()]   # each group of 2 channels over both steps
    [-1.213, -0.728, 0.728, 1.213]
    """

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(f"GroupNormalization `groups` must be a positive integer, or -1 for instance "
                             f"normalization, got {groups!r}.")
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ValueError(f"GroupNormalization `axis` must be an integer, got {axis!r}.")
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)

    def build(self, input_shape):
        axis = _resolve_axes(self, self.axis, input_shape)[0]
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"GroupNormalization layer '{self.name}' needs a known size on axis {self.axis}, got "
                             f"inputs of shape {format_shape(tuple(input_shape))}.")
        groups = dim if self.groups == -1 else self.groups
        if dim % groups:
            raise ValueError(f"GroupNormalization layer '{self.name}': groups={groups} must divide the "
                             f"{dim} channels of inputs of shape {format_shape(tuple(input_shape))}. "
                             "Choose a divisor of the channels, or -1 for one group per channel.")
        if self.scale:
            self.add_weight("gamma", (dim,), self.gamma_initializer, regularizer=self.gamma_regularizer,
                            constraint=self.gamma_constraint)
        if self.center:
            self.add_weight("beta", (dim,), self.beta_initializer, regularizer=self.beta_regularizer,
                            constraint=self.beta_constraint)

    def call(self, inputs):
        ndim = inputs.ndim
        axis = self.axis % ndim
        dim = inputs.shape[axis]
        groups = dim if self.groups == -1 else self.groups
        x = inputs.astype(_compute_dtype(inputs))
        grouped_shape = inputs.shape[:axis] + (groups, dim // groups) + inputs.shape[axis + 1:]
        x = jnp.reshape(x, grouped_shape)
        reduce = tuple(a for a in range(1, ndim + 1) if a != axis)
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        var = jnp.var(x, axis=reduce, keepdims=True)
        inv = jax.lax.rsqrt(var + self.epsilon)
        keep = [1] * (ndim + 1)
        keep[axis], keep[axis + 1] = groups, dim // groups
        if self.scale:
            inv = inv * jnp.reshape(self.gamma.get_value().astype(x.dtype), keep)
        res = -mean * inv
        if self.center:
            res = res + jnp.reshape(self.beta.get_value().astype(x.dtype), keep)
        return jnp.reshape(x * inv + res, inputs.shape).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": _ser_init(self.beta_initializer),
                "gamma_initializer": _ser_init(self.gamma_initializer),
                "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": _constraints.serialize(self.beta_constraint),
                "gamma_constraint": _constraints.serialize(self.gamma_constraint)}


@register_layer
class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / max(||x||, 1e-12)``.

    Args:
      axis: the axis, or list of axes, whose norm becomes 1.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.UnitNormalization()(np.array([[3.0, 4.0]], "float32")).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_arg("UnitNormalization", axis)

    def build(self, input_shape):
        _resolve_axes(self, self.axis, input_shape)

    def call(self, inputs):
        axes = tuple(_resolve_axes(self, self.axis, inputs.shape))
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(inputs), axis=axes, keepdims=True))
        return inputs * jnp.minimum(inv_norm, jnp.asarray(1e12, inputs.dtype))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register_layer
class RMSNormalization(Layer):
    """Root-mean-square normalization: ``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis``.

    Unlike LayerNormalization it neither centers the inputs nor adds a bias (Zhang and
    Sennrich, 2019).

    Args:
      axis: the axis, or list of axes, to normalize over (the last by default).
      epsilon: added to the mean square.

    Input and output shapes are the same. Weights: ``scale``, of the normalized axes' shape
    (initialized to ones).

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.RMSNormalization(epsilon=0.0)(np.array([[3.0, 4.0]], "float32"))
    >>> [round(float(v), 4) for v in y.ravel()]
    [0.8485, 1.1314]
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_arg("RMSNormalization", axis)
        self.epsilon = float(epsilon)
        self._axes: list[int] = []

    def build(self, input_shape):
        self._axes = _resolve_axes(self, self.axis, input_shape)
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(f"RMSNormalization layer '{self.name}' needs known sizes on axes {self._axes}, got "
                             f"inputs of shape {format_shape(tuple(input_shape))}.")
        self.add_weight("scale", shape, "ones")

    def call(self, inputs):
        x = inputs.astype(_compute_dtype(inputs))
        axes = tuple(self._axes)
        rrms = jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + self.epsilon)
        keep = [1] * x.ndim
        for a in axes:
            keep[a] = x.shape[a]
        scale = jnp.reshape(self.scale.get_value().astype(x.dtype), keep)
        return (x * rrms * scale).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
