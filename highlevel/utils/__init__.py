"""Utilities: seeding, the session's global state, registering user objects for configs, the
persistent compilation cache, Keras's ``Config`` (a dict with attribute access) and its data
helpers (``to_categorical``, ``pad_sequences``, ``normalize``, ``split_dataset``, ``PyDataset``).

``hl.utils.plot_model`` and ``hl.utils.model_graph`` (Keras's names) are
``hl.visualization``'s: they draw models, a row of the table far above this one, so
``highlevel/__init__.py`` puts them here when the package is imported. So is
``hl.utils.find_learning_rate``, which is ``hl.training.find_learning_rate``, and Keras's
``image_dataset_from_directory``, ``text_dataset_from_directory`` and
``timeseries_dataset_from_array``, which are ``hl.datasets.directory``'s (batched Grain
datasets that ``fit`` takes as they are), and ``audio_dataset_from_directory``,
``hl.datasets.audio_directory``'s. ``serialize_keras_object`` and
``deserialize_keras_object`` are ``hl.saving``'s; ``is_keras_tensor`` and
``get_source_inputs`` are ``hl.layers``' (the functional API's tensors), and so is
``FeatureSpace`` (``hl.layers.feature_space``), which composes the preprocessing layers.
"""

from highlevel.utils.compilation_cache import disable_compilation_cache, enable_compilation_cache
from highlevel.utils.config_dict import Config
from highlevel.utils.data_utils import (normalize, pack_x_y_sample_weight, pad_sequences, split_dataset, to_categorical,
                                       unpack_x_y_sample_weight)
from highlevel.utils.dtypes import standardize_dtype
from highlevel.utils.downloads import get_file
from highlevel.utils.global_state import clear_session
from highlevel.utils.io_utils import (disable_interactive_logging, enable_interactive_logging,
                                     is_interactive_logging_enabled)
from highlevel.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from highlevel.utils.progbar import Progbar
from highlevel.utils.py_dataset import PyDataset
from highlevel.utils.random import set_random_seed
from highlevel.utils.serialization import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                           get_registered_name, get_registered_object, register_keras_serializable,
                                           register_serializable)

#: Keras's older name of ``PyDataset`` (``keras.utils.Sequence`` is the same class).
Sequence = PyDataset

__all__ = ["array_to_img", "clear_session", "custom_object_scope", "CustomObjectScope", "disable_compilation_cache",
           "disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled",
           "enable_compilation_cache", "get_custom_objects", "get_file", "get_registered_name",
           "get_registered_object", "img_to_array", "load_img", "normalize", "pack_x_y_sample_weight",
           "pad_sequences", "Progbar", "PyDataset", "register_keras_serializable", "register_serializable",
           "save_img", "Sequence", "set_random_seed", "split_dataset", "standardize_dtype", "to_categorical",
           "unpack_x_y_sample_weight", "Config"]
