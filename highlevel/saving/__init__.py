"""``hl.saving``: Keras 3's ``keras.saving`` names, for saving models and naming user objects in configs.

- ``register_keras_serializable``, ``get_custom_objects``, ``custom_object_scope`` /
  ``CustomObjectScope``, ``get_registered_name``, ``get_registered_object``: the registry
  of the user's own classes and functions (it lives in ``hl.utils``, the bottom row of
  the package, so every family reads it);
- ``serialize_keras_object`` / ``deserialize_keras_object``: any object as a config and back;
- ``save_model`` / ``load_model`` / ``save_weights`` / ``load_weights``: the files
  (``.keras`` zips, ``.weights.h5`` in Keras 3's layout, highlevel's directories);
- ``KerasFileEditor``: a ``.keras`` or ``.weights.h5`` file's weights, inspected, edited and resaved
  without building the model.

Nothing is imported from a config: a saved model naming a function or class the loading
process has not registered (or passed in ``custom_objects``) is refused with one sentence
naming it and how to register it.
"""

from highlevel.models.file_editor import KerasFileEditor
from highlevel.models.saving import load_model, load_weights, save_model, save_weights
from highlevel.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from highlevel.utils.serialization import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                           get_registered_name, get_registered_object,
                                           register_keras_serializable)

__all__ = ["CustomObjectScope", "KerasFileEditor", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model", "load_weights",
           "register_keras_serializable", "save_model", "save_weights", "serialize_keras_object"]
