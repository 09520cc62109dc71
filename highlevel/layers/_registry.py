"""The registry of layer classes by name, which configs name (``get_config``/``from_config``),
and Keras's default layer names (``dense``, ``dense_1``...).

``highlevel.layers.base`` re-exports the public names.
"""

from __future__ import annotations

import collections
import contextlib
import re
from typing import Any, Iterator

from highlevel.utils import global_state as _global_state
from highlevel.utils import serialization as _serialization

_LAYER_CLASSES: dict[str, type] = {}


def register_layer(cls: type, name: str | None = None) -> type:
    """Registers a Layer subclass under its class name (or ``name``, an alias) so configs can name it."""
    _LAYER_CLASSES[name or cls.__name__] = cls
    return cls


@contextlib.contextmanager
def custom_layer_scope(classes: dict[str, type]) -> Iterator[None]:
    """Inside the block, configs naming these class names get these classes (``custom_objects``).

    Args:
      classes: ``{name: Layer subclass}``.

    >>> import highlevel as hl
    >>> class Twice(hl.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> with custom_layer_scope({"Twice": Twice}):
    ...     layer = deserialize_layer({"class_name": "Twice", "config": {"name": "t"}})
    >>> type(layer).__name__
    'Twice'
    """
    saved = {name: _LAYER_CLASSES.get(name) for name in classes}
    _LAYER_CLASSES.update(classes)
    try:
        yield
    finally:
        for name, cls in saved.items():
            if cls is None:
                _LAYER_CLASSES.pop(name, None)
            else:
                _LAYER_CLASSES[name] = cls


def layer_classes() -> dict[str, type]:
    """The registered layer classes by name (a copy): what a config may name."""
    return dict(_LAYER_CLASSES)


def get_layer_class(name: str) -> type:
    if name not in _LAYER_CLASSES:
        from highlevel.layers.base import Layer  # base imports this module
        found = _serialization.lookup_serializable(name)   # registered, or lent by custom_object_scope
        if isinstance(found, type) and issubclass(found, Layer):
            return found
        raise ValueError(f"Unknown layer {name!r}. Known layers: {', '.join(sorted(_LAYER_CLASSES))}. "
                         "Register a custom layer with @hl.saving.register_keras_serializable() (or "
                         "hl.layers.register_layer) before loading, or pass custom_objects={...}.")
    return _LAYER_CLASSES[name]


def serialize_layer(layer: "Layer") -> dict[str, Any]:
    return _serialization.class_config(layer)


def deserialize_layer(config: dict[str, Any]) -> "Layer":
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config', got {config!r}.")
    cls = get_layer_class(config.get("registered_name") or config["class_name"])
    return cls.from_config(dict(config.get("config", {})))


def _snake_case(name: str) -> str:
    """Keras's default layer names: ``Conv2D`` -> ``conv2d``, ``SimpleRNN`` -> ``simple_rnn``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """``prefix``, then ``prefix_1``, ``prefix_2``...: a default name not given before in this
    thread since the last ``hl.utils.clear_session()``."""
    counts = _global_state.global_attribute("layer_name_counts", collections.Counter)
    count = counts[prefix]
    counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"
