"""highlevel: a Keras-style training framework on JAX.

>>> import highlevel as hl
>>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
"""

__version__ = "0.1.0"

from highlevel import (activations, applications, callbacks, datasets, distribute, initializers, layers, losses,
                       metrics, models, optimizers, regularizers, training, utils)
from highlevel.layers import Input
from highlevel.models import Ensemble, Model, Sequential

__all__ = ["Ensemble", "Input", "Model", "Sequential", "activations", "applications", "callbacks", "datasets", "distribute",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "regularizers", "training", "utils", "__version__"]
