"""Activation layers with arguments: ReLU (capped, leaky, thresholded), as Keras computes it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, register_layer

__all__ = ["ReLU"]


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
        # The same branches as Keras's activations.relu, so outputs agree bit for bit.
        x = inputs
        slope, cap, threshold = self.negative_slope, self.max_value, self.threshold
        if slope != 0.0 and cap is None and threshold == 0.0:
            return jax.nn.leaky_relu(x, negative_slope=slope)
        negative_part = jax.nn.relu(threshold - x) if slope != 0.0 else None
        clip = cap is not None
        if threshold != 0.0:
            x = jnp.where(x > jnp.asarray(threshold, x.dtype), x, jnp.zeros_like(x))
        elif cap == 6.0:
            x = jax.nn.relu6(x)
            clip = False
        else:
            x = jax.nn.relu(x)
        if clip:
            x = jnp.clip(x, jnp.asarray(0.0, x.dtype), jnp.asarray(cap, x.dtype))
        if negative_part is not None:
            x = x - slope * negative_part
        return x

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}
