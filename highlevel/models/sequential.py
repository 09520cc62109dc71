"""``hl.Sequential``: a plain stack of layers."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from highlevel.layers.base import Layer, deserialize_layer, register_layer, serialize_layer, unique_name
from highlevel.layers.symbolic import InputLayer, KerasTensor
from highlevel.models import host_layers
from highlevel.models.model import Model
from highlevel.utils.serialization import custom_object_scope

__all__ = ["Sequential"]


@register_layer
class Sequential(Model):
    """A linear stack of layers, from a list or built with ``add``.

    With an ``hl.Input`` first (or ``input_shape=`` on the first layer) it is built
    at once; otherwise it builds from the first batch it sees.

    Args:
        layers: The layers, in order (an ``hl.Input`` tensor may come first).
        name: The model's name (default ``"sequential"``, made unique).
        trainable: Whether ``fit`` updates its weights.
        **kwargs: Other ``Layer`` arguments (``dtype``).

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2)])
    >>> model.count_params()
    10
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None,
                 trainable: bool = True, **kwargs):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable, **kwargs)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._output_shape = None
        self.layer_output_shapes: list = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer | KerasTensor) -> None:
        """Appends a layer (an ``hl.Input`` is allowed only first)."""
        if isinstance(layer, KerasTensor):
            layer = layer.keras_history[0] if layer.keras_history else None
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("hl.Input can only be the first entry of a Sequential model.")
            self._input_layer = layer
            self.maybe_build(layer.batch_shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes highlevel layers, got {type(layer).__name__}. Wrap a flax "
                            "module with hl.layers.FlaxLayer(module).")
        if not self._layers and self._input_layer is None and layer.input_shape_arg is not None:
            self._input_layer = InputLayer(shape=layer.input_shape_arg)
            self._layers.append(layer)
            self.maybe_build(self._input_layer.batch_shape)
            return
        self._layers.append(layer)
        if self.built:
            self._output_shape = self._propagate(layer, self._output_shape)
            self.layer_output_shapes.append(self._output_shape)

    def pop(self) -> Layer:
        if not self._layers:
            raise ValueError("There are no layers to pop.")
        layer = self._layers.pop()
        if self.built:
            self.built = False
            self.maybe_build(self.build_input_shape)
        return layer

    @staticmethod
    def _propagate(layer: Layer, shape):
        layer.maybe_build(shape)
        return layer.compute_output_shape(shape)

    def build(self, input_shape=None) -> None:
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("Sequential.build needs an input_shape, e.g. model.build((None, 16)).")
            input_shape = self._input_layer.batch_shape
        input_shape = tuple(input_shape)
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=(None,) + input_shape[1:])
        shape = input_shape
        shapes = []
        for layer in self._layers:
            shape = self._propagate(layer, shape)
            shapes.append(shape)
        self.layer_output_shapes = shapes
        self._output_shape = shape

    def maybe_build(self, input_shape) -> None:
        if self.built:
            return
        self.build(input_shape)
        self.build_input_shape = tuple(input_shape)
        self.built = True

    supports_masking = True

    def call(self, inputs, training: bool = False, mask=None):
        return self.masked_call(inputs, training=training, mask=mask)[0]

    def masked_call(self, inputs, *args, mask=None, training: bool = False, **kwargs):
        """``(outputs, output mask)``: each layer gets the previous one's Keras mask (``mask``
        for the first), as Keras's ``Sequential`` does."""
        x = inputs
        layers = self._layers
        if not host_layers.is_raw(inputs):
            # Leading host layers (TextVectorization...) ran in the data path already.
            layers = layers[len(host_layers.host_prefix(layers)):]
        for layer in layers:
            x, mask = layer.call_with_mask(x, mask=mask, training=training)
        return x, mask

    def compute_mask(self, inputs, mask=None):
        """The mask of the last layer's output."""
        return self.masked_call(inputs, mask=mask)[1]

    # -- host layers (text preprocessing) at the front: applied in the data path --------------------

    def host_preprocess(self, x):
        """``x`` through the leading host layers (``TextVectorization``, lookups), on the host.

        Returns ``x`` unchanged when the model starts with none, or when ``x`` is prepared
        already (numbers, not text).

        Args:
            x: Raw inputs: strings (a list or array), or an iterable of batches of them.
        """
        prefix = host_layers.host_prefix(self._layers)
        if not prefix:
            return x

        def run(batch):
            for layer in prefix:
                batch = layer(batch)
            return batch

        return host_layers.map_inputs(x, run)

    def _host_ready(self, x):
        prefix = host_layers.host_prefix(self._layers)
        if prefix and not self.built and host_layers.is_raw(x):
            self.maybe_build((None,) + tuple(np.shape(np.asarray(x, dtype=object))[1:]))
        return self.host_preprocess(x) if prefix else x

    def _check_input_shape(self, inputs) -> None:
        if host_layers.host_prefix(self._layers):
            return   # built for raw text; prepared inputs have the shape after the host layers
        super()._check_input_shape(inputs)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x = self._host_ready(x)
        if isinstance(validation_data, tuple) and validation_data:
            validation_data = (self.host_preprocess(validation_data[0]),) + tuple(validation_data[1:])
        elif validation_data is not None:
            validation_data = self.host_preprocess(validation_data)
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        return super().evaluate(self._host_ready(x), *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        return super().predict(self._host_ready(x), *args, **kwargs)

    def train_on_batch(self, x, *args, **kwargs):
        return super().train_on_batch(self._host_ready(x), *args, **kwargs)

    def test_on_batch(self, x, *args, **kwargs):
        return super().test_on_batch(self._host_ready(x), *args, **kwargs)

    def predict_on_batch(self, x):
        return super().predict_on_batch(self._host_ready(x))

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else ["output"]

    def output_shapes(self) -> list[tuple]:
        self.require_built("output_shapes()")
        shape = self.build_input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return [shape] if isinstance(shape, tuple) else list(shape)

    def get_config(self) -> dict[str, Any]:
        layers = [serialize_layer(layer) for layer in self._layers]
        if self._input_layer is not None:
            layers.insert(0, serialize_layer(self._input_layer))
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Sequential":
        """The model a ``get_config()`` dict describes (``custom_objects``: the user's own classes and
        functions it names, ``{name: object}``, when they are not registered)."""
        model = cls(name=config.get("name"))
        with custom_object_scope(custom_objects):
            for entry in config["layers"]:
                model.add(deserialize_layer(entry))
        if not config.get("trainable", True):  # else the layers keep the flags of their own configs
            model.trainable = False
        return model
