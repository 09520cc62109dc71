"""TimeDistributed: applies a layer to every timestep of a sequence (the same weights at each)."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.wrapper_base import Wrapper

__all__ = ["TimeDistributed"]


@register_layer
class TimeDistributed(Wrapper):
    """Applies ``layer`` to each timestep of ``(batch, timesteps, ...)`` inputs, as ``keras.layers.TimeDistributed``.

    A ``Wrapper``: the timesteps are folded into the batch (``(batch * timesteps, ...)``), the layer runs
    once, and the result is unfolded: one call, the same weights for every step. A ``mask``
    (``(batch, timesteps)``) is passed on to a layer that takes one, and kept for the output.

    Args:
      layer: the layer to apply (its weights are this wrapper's weights).

    Input shape ``(batch, timesteps, *inner)``; output ``(batch, timesteps, *layer_output)``.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.TimeDistributed(hl.layers.Dense(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed needs a layer instance such as hl.layers.Dense(4), got {layer!r}.")
        super().__init__(layer, **kwargs)

    def _inner_shape(self, input_shape) -> tuple:
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            got = format_shape(input_shape) if isinstance(input_shape, tuple) else repr(input_shape)
            raise ValueError(f"TimeDistributed layer '{self.name}' needs inputs of shape (batch, timesteps, ...) "
                             f"(rank 3 or more), got {got}.")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer.maybe_build(self._inner_shape(tuple(input_shape)))

    def _check_input_shape(self, inputs) -> None:
        self._inner_shape(tuple(inputs.shape))

    def call(self, inputs, training: bool = False, mask=None):
        batch, steps = inputs.shape[:2]
        folded = jnp.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        kwargs = {"training": training}
        if mask is not None and "mask" in _call_parameters(self.layer):
            kwargs["mask"] = jnp.reshape(jnp.asarray(mask), (batch * steps,) + tuple(jnp.shape(mask)[2:]))
        out = self.layer(folded, **kwargs)
        return jax.tree_util.tree_map(lambda y: jnp.reshape(y, (batch, steps) + tuple(y.shape[1:])), out)

    def compute_mask(self, inputs, mask=None):
        """The input's mask: each timestep stays masked or not."""
        return mask


def _call_parameters(layer: Layer) -> set[str]:
    return set(inspect.signature(type(layer).call).parameters)
