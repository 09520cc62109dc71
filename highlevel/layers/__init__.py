"""Keras-style layers on flax.nnx, one family per module."""

from highlevel.layers.base import (Hyperparameter, Layer, NonTrainable, call_context,
                                   deserialize_layer, get_layer_class, register_layer,
                                   serialize_layer)
from highlevel.layers.activation import *  # noqa: F401,F403
from highlevel.layers.augmentation import *  # noqa: F401,F403
from highlevel.layers.bidirectional import *  # noqa: F401,F403
from highlevel.layers.convolutional import *  # noqa: F401,F403
from highlevel.layers.core import *  # noqa: F401,F403
from highlevel.layers.depthwise import *  # noqa: F401,F403
from highlevel.layers.lookup import *  # noqa: F401,F403
from highlevel.layers.merging import *  # noqa: F401,F403
from highlevel.layers.normalization import *  # noqa: F401,F403
from highlevel.layers.pooling import *  # noqa: F401,F403
from highlevel.layers.preprocessing import *  # noqa: F401,F403
from highlevel.layers.recurrent import *  # noqa: F401,F403
from highlevel.layers.regularization import *  # noqa: F401,F403
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor
from highlevel.layers.text import *  # noqa: F401,F403
from highlevel.layers.upsampling import *  # noqa: F401,F403
from highlevel.layers.wrappers import *  # noqa: F401,F403

deserialize = deserialize_layer
serialize = serialize_layer

__all__ = ["Activation", "Add", "Average", "Dot", "add", "average", "concatenate", "dot", "maximum", "minimum",
           "multiply", "subtract", "AveragePooling1D", "AveragePooling2D", "BatchNormalization",
           "Bidirectional", "Concatenate", "Conv1D", "Conv2D", "Conv2DTranspose", "Dense", "DepthwiseConv2D",
           "Dropout", "Embedding", "Flatten", "FlaxLayer", "GRU", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Hyperparameter",
           "Identity", "Input", "InputLayer", "KerasTensor", "LSTM", "Layer", "LayerNormalization",
           "MaxPooling1D", "MaxPooling2D", "Maximum", "Minimum", "Multiply", "NonTrainable", "Normalization",
           "RandomContrast", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "ReLU",
           "Rescaling", "Reshape", "SeparableConv2D", "SimpleRNN", "Subtract", "UpSampling1D",
           "UpSampling2D", "ZeroPadding2D", "call_context", "deserialize", "deserialize_layer",
           "get_layer_class", "register_layer", "serialize", "serialize_layer", "StringLookup", "IntegerLookup",
           "TextVectorization"]
