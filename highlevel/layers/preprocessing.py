"""Preprocessing layers: Rescaling."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, _format_shape, register_layer

__all__ = ["Rescaling"]


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
                             f"{_format_shape(value.shape)}, which does not fit inputs of shape "
                             f"{_format_shape(x.shape)}: give a number or one per channel (last axis).")
        return jnp.reshape(value, (1,) * (x.ndim - value.ndim) + value.shape)

    def call(self, inputs):
        x = jnp.asarray(inputs).astype(self.dtype)
        return x * self._aligned(self.scale, x) + self._aligned(self.offset, x)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
