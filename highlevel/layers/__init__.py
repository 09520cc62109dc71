"""Keras-style layers on flax.nnx, one family per module."""

from highlevel.layers.base import (Hyperparameter, Layer, NonTrainable, call_context,
                                   deserialize_layer, get_layer_class, register_layer,
                                   serialize_layer)
from highlevel.layers.core import Dense
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor

deserialize = deserialize_layer
serialize = serialize_layer
