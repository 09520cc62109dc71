"""Wrapper: the abstract base of layers that wrap another layer (Keras's ``keras.layers.Wrapper``)."""

from __future__ import annotations

import copy
from typing import Any

from highlevel.layers.base import Layer, deserialize_layer, register_layer, serialize_layer

__all__ = ["Wrapper"]


@register_layer
class Wrapper(Layer):
    """Abstract base of layers that wrap another layer, as ``keras.layers.Wrapper``.

    A subclass defines ``call`` (using ``self.layer``); the base holds the wrapped layer,
    builds it for the wrapper's input shape, and writes it into the config as
    ``{"layer": <its serialized config>}``, from which ``from_config`` rebuilds it.
    The wrapped layer's weights are the wrapper's. ``TimeDistributed`` is a ``Wrapper``.

    Args:
      layer: the layer to wrap (a layer instance).

    >>> import highlevel as hl, numpy as np
    >>> class Doubled(hl.layers.Wrapper):
    ...     def call(self, inputs):
    ...         return 2.0 * self.layer(inputs)
    >>> layer = Doubled(hl.layers.Dense(3, kernel_initializer="ones"))
    >>> layer(np.ones((1, 2), "float32")).tolist()
    [[4.0, 4.0, 4.0]]
    >>> sorted(layer.get_config()["layer"])
    ['class_name', 'config']
    """

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__} wraps a layer instance such as hl.layers.Dense(4), got "
                             f"{layer!r} ({type(layer).__name__}).")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.maybe_build(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Wrapper":
        config = copy.deepcopy(config)
        layer = deserialize_layer(config.pop("layer"))
        return cls(layer, **config)
