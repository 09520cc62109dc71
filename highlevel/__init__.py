"""highlevel: a Keras-style training framework on JAX."""

__version__ = "0.1.0"

from highlevel import activations, initializers, layers, regularizers, utils
from highlevel.layers import Input
