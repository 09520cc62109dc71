"""Preprocessing layers: Rescaling and Normalization."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, register_layer

__all__ = ["Rescaling", "Normalization"]


def _as_config_value(value) -> float | list:
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.tolist()


@register_layer
class Rescaling(Layer):
    """Computes ``inputs * scale + offset`` in the layer's dtype (integer images become floats).

    Args:
      scale: a number, or one number per channel (the last axis).
      offset: a number, or one number per channel.

    Input and output shapes are the same.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Rescaling(1 / 255)(np.array([[0, 255]], "uint8")).tolist()
    [[0.0, 1.0]]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _as_config_value(scale)
        self.offset = _as_config_value(offset)

    def _aligned(self, value, x):
        value = jnp.asarray(value, x.dtype)
        if value.ndim == 0:
            return value
        trailing = x.shape[x.ndim - value.ndim:] if value.ndim <= x.ndim else None
        if trailing is None or any(v not in (1, d) for v, d in zip(value.shape, trailing)):
            raise ValueError(f"Rescaling layer '{self.name}' has scale/offset of shape "
                             f"{format_shape(value.shape)}, which does not fit inputs of shape "
                             f"{format_shape(x.shape)}: give a number or one per channel (last axis).")
        return jnp.reshape(value, (1,) * (x.ndim - value.ndim) + value.shape)

    def call(self, inputs):
        x = jnp.asarray(inputs).astype(self.compute_dtype)
        return x * self._aligned(self.scale, x) + self._aligned(self.offset, x)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


def _as_axes(axis) -> tuple[int, ...]:
    if axis is None:
        return ()
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return (int(axis),)
    if isinstance(axis, (list, tuple)) and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                               for a in axis):
        return tuple(int(a) for a in axis)
    raise ValueError(f"Normalization `axis` must be an integer, a tuple of integers or None, got {axis!r}.")


@register_layer
class Normalization(Layer):
    """Standardizes features: ``(inputs - mean) / sqrt(variance)`` per position of the kept axes.

    The statistics are either given (``mean`` and ``variance``, then constants, no
    weights) or weights (``mean``, ``variance`` and Keras's legacy ``count``, all
    non-trainable) set by ``adapt(data)``, ``set_weights`` or a loaded checkpoint.
    As in Keras, the standard deviation is floored at 1e-7.

    Args:
      axis: the axis or axes that keep their own statistics (-1: one per channel; None:
        one scalar mean and variance).
      mean, variance: the statistics, broadcastable to the kept axes (both or neither).
      invert: if True, undo the normalization: ``mean + inputs * sqrt(variance)``.

    Input and output shapes are the same. Weights without ``mean``/``variance`` (Keras
    order): ``mean``, ``variance`` (the kept axes' shape), ``count`` (an int32 scalar).

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0])
    >>> layer(np.array([[3.0, 3.0]], "float32")).tolist()
    [[1.0, 1.0]]
    >>> layer = hl.layers.Normalization()
    >>> layer.adapt(np.array([[0.0], [2.0]], "float32"))
    >>> [w.tolist() for w in layer.get_weights()]
    [[1.0], [1.0], 0]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, axis: int | Sequence[int] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _as_axes(axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization needs both `mean` and `variance`, or neither (then call adapt() "
                             f"or load weights); got mean={mean!r} and variance={variance!r}.")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization `mean` and `variance` must have the same shape, got "
                                 f"{format_shape(np.shape(mean))} and {format_shape(np.shape(variance))}.")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization `mean` has rank {np.ndim(mean)}, more than the number of "
                                 f"kept axes {self.axis}: give one value per position of the kept axes.")
        self.input_mean = None if mean is None else _as_config_value(mean)
        self.input_variance = None if variance is None else _as_config_value(variance)
        self.invert = bool(invert)
        self._keep_axes: tuple[int, ...] = ()
        self._broadcast: tuple[int, ...] = ()

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Normalization layer '{self.name}' has axis={self.axis}, out of range for "
                             f"inputs of shape {format_shape(tuple(input_shape))}.")
        self._keep_axes = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep_axes):
            raise ValueError(f"Normalization layer '{self.name}' keeps axes {self._keep_axes} of inputs of "
                             f"shape {format_shape(tuple(input_shape))}, whose sizes must be known.")
        self._broadcast = tuple(input_shape[d] if d in self._keep_axes else 1 for d in range(ndim))
        if self.input_mean is None:
            shape = tuple(input_shape[d] for d in self._keep_axes)
            self.add_weight("mean", shape, "zeros", trainable=False)
            self.add_weight("variance", shape, "ones", trainable=False)
            # Keras keeps it for older checkpoints; it takes part in get_weights and count_params.
            self.add_weight("count", (), "zeros", dtype="int32", trainable=False)

    def _check_input_shape(self, inputs) -> None:
        got = tuple(inputs.shape)
        if len(got) != len(self._broadcast) or any(got[a] != self._broadcast[a] for a in self._keep_axes):
            raise ValueError(f"Input of shape {format_shape(got)} does not match layer '{self.name}' "
                             f"(Normalization), whose statistics have shape {format_shape(self._broadcast)} "
                             f"(kept axes {self._keep_axes}).")

    def _statistics(self, dtype):
        if self.input_mean is None:
            mean, variance = self.mean.get_value(), self.variance.get_value()
            shape = self._broadcast
        else:
            mean, variance = np.asarray(self.input_mean), np.asarray(self.input_variance)
            # Keras aligns the given statistics with the kept axes from the right.
            shape = [1] * len(self._broadcast)
            for i in range(1, mean.ndim + 1):
                shape[self._keep_axes[-i]] = mean.shape[-i]
        mean = jnp.broadcast_to(jnp.reshape(jnp.asarray(mean, dtype), shape), self._broadcast)
        variance = jnp.broadcast_to(jnp.reshape(jnp.asarray(variance, dtype), shape), self._broadcast)
        return mean, variance

    def call(self, inputs):
        x = jnp.asarray(inputs).astype(self.compute_dtype)
        mean, variance = self._statistics(x.dtype)
        std = jnp.maximum(jnp.sqrt(variance), jnp.asarray(1e-7, x.dtype))
        return mean + x * std if self.invert else (x - mean) / std

    def adapt(self, data) -> None:
        """Sets ``mean`` and ``variance`` from an array, or from an iterable of batches."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization layer '{self.name}' was given mean and variance, so it cannot "
                             "adapt(); create it without them.")
        batches = [data] if hasattr(data, "shape") else data
        count, mean, m2 = 0, None, None
        for batch in batches:
            batch = np.asarray(batch, dtype=np.float64)
            if not self.built:
                self.maybe_build(tuple(batch.shape))
            self._check_input_shape(batch)
            reduce = tuple(d for d in range(batch.ndim) if d not in self._keep_axes)
            n = int(np.prod([batch.shape[d] for d in reduce], dtype=np.int64))
            b_mean, b_var = np.mean(batch, axis=reduce), np.var(batch, axis=reduce)
            if mean is None:
                count, mean, m2 = n, b_mean, b_var * n
            else:
                # Chan et al.'s pairwise update, so batches combine to the whole data's moments.
                delta, total = b_mean - mean, count + n
                mean = mean + delta * n / total
                m2 = m2 + b_var * n + delta ** 2 * count * n / total
                count = total
        if mean is None:
            raise ValueError(f"Normalization layer '{self.name}' got no data to adapt() to.")
        self.mean.set_value(jnp.asarray(mean, self.mean.get_value().dtype))
        self.variance.set_value(jnp.asarray(m2 / count, self.variance.get_value().dtype))

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": self.input_mean, "variance": self.input_variance}
