"""``serialize_keras_object`` / ``deserialize_keras_object``: any highlevel object as a JSON-able config.

The config has Keras 3's keys: ``{"module", "class_name", "config", "registered_name"}``
for an object with ``get_config`` (a layer, model, loss, metric, optimizer, schedule,
initializer, regularizer or a registered class of the user's) and ``{"module",
"class_name": "function", "config": name, "registered_name"}`` for a function. Reading a
config back looks names up among highlevel's own classes and the registered (or lent)
objects only: ``module`` is informational and never imported.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable

import numpy as np

from highlevel import activations, initializers, losses, metrics, optimizers, regularizers
from highlevel.layers import base as layer_base
from highlevel.optimizers import schedules
from highlevel.utils import serialization

__all__ = ["serialize_keras_object", "deserialize_keras_object"]


def _module_of(obj_type: type) -> str:
    module = obj_type.__module__ or ""
    parts = module.split(".")
    if parts[0] == "highlevel" and len(parts) > 2:
        return ".".join(parts[:2])   # highlevel.layers.core -> highlevel.layers
    return module


def _function_name(fn: Callable) -> tuple[str, str | None]:
    registered = serialization.serializable_name(fn)
    if registered is not None:
        return registered, registered
    name = activations.serialize(fn)
    if isinstance(name, str):
        return name, None
    raise ValueError(f"Cannot serialize {fn!r}: a lambda or a nested function has no name a config can hold. "
                     "Define it with def at module level and decorate it with "
                     "@hl.saving.register_keras_serializable().")


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-able config of ``obj``, in Keras 3's form (``keras.saving.serialize_keras_object``).

    Plain values (None, numbers, strings) stay as they are, lists/tuples/dicts are
    serialized item by item, NumPy arrays become ``{"class_name": "__numpy__", ...}``,
    functions are written by name and objects with ``get_config`` by class and config.

    Args:
        obj: The object to serialize.

    Returns:
        The config (made of dicts, lists, strings and numbers only).

    >>> import highlevel as hl
    >>> config = hl.saving.serialize_keras_object(hl.layers.Dense(3, name="d"))
    >>> config["module"], config["class_name"], config["config"]["units"]
    ('highlevel.layers', 'Dense', 3)
    >>> hl.saving.serialize_keras_object(hl.activations.relu)["config"]
    'relu'
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and hasattr(obj, "dtype") and hasattr(obj, "shape")
                                       and not hasattr(obj, "get_config")):
        arr = np.asarray(obj)
        return {"class_name": "__numpy__", "config": {"value": arr.tolist(), "dtype": str(arr.dtype)}}
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) or (callable(obj) and not inspect.isclass(obj)
                                                                           and not hasattr(obj, "get_config")):
        name, registered = _function_name(obj)
        return {"module": getattr(obj, "__module__", None), "class_name": "function", "config": name,
                "registered_name": registered}
    if inspect.isclass(obj):
        name = serialization.serializable_name(obj)
        return {"module": obj.__module__, "class_name": "__type__", "config": name or obj.__name__,
                "registered_name": name}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {type(obj).__name__} object {obj!r}: it has no get_config(). Define "
                        "get_config() (and register its class with @hl.saving.register_keras_serializable()).")
    if isinstance(obj, metrics.Metric):
        config = metrics.serialize(obj)
    elif isinstance(obj, losses.Loss):
        config = losses.serialize(obj)
    elif isinstance(obj, layer_base.Layer):
        config = layer_base.serialize_layer(obj)
    else:
        config = serialization.class_config(obj)
    config.setdefault("registered_name", None)
    return {"module": _module_of(type(obj)), **config}


# -- reading back --------------------------------------------------------------------------------


def _families() -> list[tuple[str, Callable[[dict], Any]]]:
    """(module prefix, reader) for each family of highlevel's own classes, in the order tried."""
    return [
        ("highlevel.layers", layer_base.deserialize_layer), ("highlevel.models", layer_base.deserialize_layer),
        ("highlevel.losses", losses.deserialize), ("highlevel.metrics", metrics.deserialize),
        ("highlevel.optimizers.schedules", schedules.deserialize), ("highlevel.optimizers", optimizers.deserialize),
        ("highlevel.initializers", initializers.get), ("highlevel.regularizers", regularizers.get),
    ]


def _known_class(name: str) -> bool:
    return (name in layer_base.layer_classes() or name in optimizers.optimizer_classes()
            or name in schedules.schedule_classes())


def deserialize_keras_object(config: Any, custom_objects: dict | None = None, **kwargs) -> Any:
    """The object a config from :func:`serialize_keras_object` (or a ``get_config`` dict) describes.

    Only highlevel's classes and objects registered with
    ``@hl.saving.register_keras_serializable()`` (or in ``custom_objects``, or lent by a
    ``custom_object_scope``) are found; a config naming anything else is refused with a
    sentence that names it and how to register it. Nothing is imported.

    Args:
        config: The config (a dict, list, string or number).
        custom_objects: ``{name: object}`` for the user's classes and functions.
        **kwargs: Accepted for Keras compatibility (``safe_mode``) and ignored: loading is always safe.

    Returns:
        The object.

    >>> import highlevel as hl
    >>> layer = hl.saving.deserialize_keras_object(hl.saving.serialize_keras_object(hl.layers.Dense(3)))
    >>> type(layer).__name__, layer.units
    ('Dense', 3)
    """
    with serialization.custom_object_scope(custom_objects):
        return _deserialize(config)


def _deserialize(config: Any) -> Any:
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = serialization.lookup_serializable(config)
        return found if found is not None else config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialize {config!r}: expected a dict, list, string or number.")
    if "class_name" not in config:
        return {k: _deserialize(v) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config.get("config")
    if class_name == "__numpy__":
        return np.asarray(inner["value"], dtype=inner["dtype"])
    if class_name == "function":
        return _resolve_function(inner, config.get("registered_name"))
    if class_name == "__type__":
        return serialization.resolve_serializable(config.get("registered_name") or inner, "class")
    registered = config.get("registered_name")
    if registered or not (_known_class(class_name) or str(config.get("module", "")).startswith("highlevel")):
        cls = serialization.lookup_serializable(registered or class_name)
        if cls is not None:
            return _from_config(cls, config)
    module = str(config.get("module") or "")
    families = _families()
    ordered = [f for f in families if module.startswith(f[0])] + [f for f in families if not module.startswith(f[0])]
    first_error = None
    for _, reader in ordered:
        try:
            return reader({k: v for k, v in config.items() if k != "module"})
        except (ValueError, TypeError) as err:
            first_error = first_error or err
            continue
    if first_error is not None and module.startswith("highlevel"):
        raise first_error
    return _from_config(serialization.resolve_serializable(registered or class_name, "class"), config)


def _resolve_function(name: str, registered: str | None) -> Callable:
    key = registered or name
    found = serialization.lookup_serializable(key)
    if found is not None:
        return found
    try:
        return activations.get(name)
    except ValueError:
        pass
    fn = getattr(losses, name, None) if isinstance(name, str) and not name.startswith("_") else None
    if callable(fn) and not inspect.isclass(fn):
        return fn
    fn = getattr(metrics, name, None) if isinstance(name, str) and not name.startswith("_") else None
    if callable(fn) and not inspect.isclass(fn):
        return fn
    return serialization.resolve_serializable(key, "function")


def _from_config(cls: Any, config: dict) -> Any:
    if not inspect.isclass(cls):
        return cls
    inner = config.get("config") or {}
    if isinstance(inner, dict) and hasattr(cls, "from_config"):
        return cls.from_config(dict(inner))
    return cls(**inner)
