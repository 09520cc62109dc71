"""Pipeline: a plain layer that applies a list of layers in order (Keras's ``keras.layers.Pipeline``)."""

from __future__ import annotations

import copy
from typing import Any, Sequence

from highlevel.layers.base import Layer, deserialize_layer, register_layer, serialize_layer

__all__ = ["Pipeline"]


@register_layer
class Pipeline(Layer):
    """Applies a list of layers to an input, one after another, as Keras's ``Pipeline``.

    Meant for preprocessing and augmentation: unlike a ``Sequential`` model it is a
    plain layer (no ``compile``/``fit``), it passes its input as it is to the first layer
    (a dict of images and labels too, for layers that take one), and it hands on the
    ``training`` flag and the mask: each layer gets the flag it was called with (in
    ``fit``'s step True, in ``predict`` and ``evaluate`` False), so random augmentation
    layers inside augment in training and are the identity otherwise. Called eagerly
    without ``training``, the flag is False, as for highlevel's other layers (Keras's
    ``Pipeline`` defaults to ``training=True``): pass ``training=True`` to augment
    outside ``fit``. ``name`` is the layer's name; the config holds each layer's serialized
    config under ``"layers"``.

    Args:
        layers: the layers, applied in order (layer instances).

    >>> import highlevel as hl, numpy as np
    >>> pipeline = hl.layers.Pipeline([hl.layers.Rescaling(1 / 255), hl.layers.CenterCrop(2, 2)])
    >>> pipeline(np.full((1, 4, 4, 1), 255.0, "float32")).shape
    (1, 2, 2, 1)
    >>> [layer["class_name"] for layer in pipeline.get_config()["layers"]]
    ['Rescaling', 'CenterCrop']
    """

    def __init__(self, layers: Sequence[Layer], name: str | None = None):
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Pipeline takes a list of layers, got {layers!r} ({type(layers).__name__}); pass "
                             "e.g. [hl.layers.Rescaling(1 / 255), hl.layers.RandomFlip()].")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise ValueError(f"Pipeline takes layer instances such as hl.layers.Rescaling(1 / 255), got "
                                 f"{layer!r} ({type(layer).__name__}) in its list.")
        super().__init__(name=name)
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list[Layer]:
        """The layers, in the order they are applied."""
        return self._pipeline_layers

    def build(self, input_shape=None):
        # Each layer builds on its first call, from the shape the previous layer gives it.
        pass

    def call(self, inputs, training: bool = False, mask=None):
        return self.masked_call(inputs, training=training, mask=mask)[0]

    def masked_call(self, inputs, *args, mask=None, **kwargs):
        training = kwargs.get("training", False)
        for layer in self._pipeline_layers:
            inputs, mask = layer.call_with_mask(inputs, mask=mask, training=training)
        return inputs, mask

    def get_config(self) -> dict[str, Any]:
        return {"layers": [serialize_layer(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Pipeline":
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("`Pipeline` config must contain a `layers` key mapping to a list of serialized "
                             f"layers. Received config with layers={layers}.")
        config = copy.deepcopy(config)
        config["layers"] = [deserialize_layer(layer) for layer in layers]
        return cls(**config)
