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
from highlevel.layers.merging import *  # noqa: F401,F403
from highlevel.layers.normalization import *  # noqa: F401,F403
from highlevel.layers.pooling import *  # noqa: F401,F403
from highlevel.layers.preprocessing import *  # noqa: F401,F403
from highlevel.layers.recurrent import *  # noqa: F401,F403
from highlevel.layers.regularization import *  # noqa: F401,F403
from highlevel.layers.symbolic import Input, InputLayer, KerasTensor
from highlevel.layers.upsampling import *  # noqa: F401,F403
from highlevel.layers.wrappers import *  # noqa: F401,F403

deserialize = deserialize_layer
serialize = serialize_layer
