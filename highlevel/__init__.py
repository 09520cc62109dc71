"""highlevel: a Keras-style training framework on JAX.

>>> import highlevel as hl
>>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
"""

__version__ = "0.1.0"

from highlevel import (activations, applications, backend, callbacks, constraints, datasets, distribute, initializers,
                       layers, losses, metrics, mixed_precision, models, ops, optimizers, random, regularizers, saving,
                       training, utils, visualization)
from highlevel import export   # registers model.export's formats
from highlevel.layers import Input, InputSpec
import highlevel.layers.feature_space  # noqa: F401  (lent to ``utils`` below)
from highlevel.layers.remat import RematScope, remat
from highlevel.models import Ensemble, Model, Sequential

# Keras's names for the model pictures: ``hl.utils.plot_model``. They live in
# ``visualization/``, above ``models/`` in DESIGN.md's table, which ``utils/`` (its bottom
# row) may not import; the top-level package, which imports every row, lends them.
utils.plot_model = visualization.plot_model
utils.model_graph = visualization.model_graph
# The learning-rate finder runs the trainer's step (``training/``, above ``utils/`` too).
utils.find_learning_rate = training.find_learning_rate
# Keras's folder and array datasets return Grain datasets built in ``datasets/`` (the row
# that reads files), which ``utils/`` may not import either.
utils.image_dataset_from_directory = datasets.directory.image_dataset_from_directory
utils.text_dataset_from_directory = datasets.directory.text_dataset_from_directory
utils.timeseries_dataset_from_array = datasets.directory.timeseries_dataset_from_array
utils.audio_dataset_from_directory = datasets.audio_directory.audio_dataset_from_directory
# The config round trip of layers, losses, optimizers... is ``saving/``'s; the functional
# API's tensors are ``layers/``'.
utils.serialize_keras_object = saving.serialize_keras_object
utils.deserialize_keras_object = saving.deserialize_keras_object
utils.is_keras_tensor = layers.symbolic.is_keras_tensor
utils.get_source_inputs = layers.symbolic.get_source_inputs
# FeatureSpace composes ``layers/``' preprocessing layers.
utils.FeatureSpace = layers.feature_space.FeatureSpace
backend.is_keras_tensor = layers.symbolic.is_keras_tensor

__all__ = ["Ensemble", "Input", "InputSpec", "Model", "RematScope", "Sequential", "activations", "applications", "backend", "callbacks",
           "constraints", "datasets", "distribute", "export", "initializers", "layers", "losses", "metrics",
           "mixed_precision", "models", "ops", "optimizers", "random", "regularizers", "remat", "saving", "training", "utils",
           "visualization", "__version__"]
