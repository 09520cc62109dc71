"""Utilities: seeding, the session's global state, registering user objects for configs, the
persistent compilation cache, and Keras's data helpers (``to_categorical``, ``pad_sequences``,
``normalize``, ``split_dataset``, ``PyDataset``).

``hl.utils.plot_model`` and ``hl.utils.model_graph`` (Keras's names) are
``hl.visualization``'s: they draw models, a row of the table far above this one, so
``highlevel/__init__.py`` puts them here when the package is imported. So is
``hl.utils.find_learning_rate``, which is ``hl.training.find_learning_rate``, and Keras's
``image_dataset_from_directory``, ``text_dataset_from_directory`` and
``timeseries_dataset_from_array``, which are ``hl.datasets.directory``'s (batched Grain
datasets that ``fit`` takes as they are).
"""

from highlevel.utils.compilation_cache import disable_compilation_cache, enable_compilation_cache
from highlevel.utils.data_utils import (normalize, pack_x_y_sample_weight, pad_sequences, split_dataset, to_categorical,
                                       unpack_x_y_sample_weight)
from highlevel.utils.get_file import get_file
from highlevel.utils.progbar import Progbar
from highlevel.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from highlevel.utils.global_state import clear_session
from highlevel.utils.py_dataset import PyDataset
from highlevel.utils.random import set_random_seed
from highlevel.utils.serialization import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                           get_registered_name, get_registered_object, register_keras_serializable,
                                           register_serializable)

#: Keras's older name of ``PyDataset`` (``keras.utils.Sequence`` is the same class).
Sequence = PyDataset

__all__ = ["CustomObjectScope", "Progbar", "PyDataset", "Sequence", "array_to_img", "img_to_array", "load_img", "save_img",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "clear_session", "custom_object_scope",
           "disable_compilation_cache", "get_file",           "enable_compilation_cache", "get_custom_objects", "get_registered_name", "get_registered_object",
           "normalize", "pad_sequences", "register_keras_serializable", "register_serializable", "set_random_seed",
           "split_dataset", "to_categorical"]
