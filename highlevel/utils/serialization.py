"""Named user functions and classes for configs: nothing is imported from a config string.

A config (a saved model, a YAML run) may name a user's own activation, loss, metric,
initializer, regularizer, layer or module factory only if the loading process knows
that object: registered with ``@hl.saving.register_keras_serializable()`` (Keras's
name, key ``"package>name"``) or ``@hl.utils.register_serializable()`` (key
``"module:qualname"``), added to ``hl.saving.get_custom_objects()``, or lent for a
block with ``hl.saving.custom_object_scope({...})`` / ``custom_objects=`` of
``load_model``. Loading a config never imports a module it names.
"""

from __future__ import annotations

import inspect
from typing import Any

from highlevel.utils import global_state

__all__ = ["register_serializable", "register_keras_serializable", "serializable_name", "resolve_serializable",
           "lookup_serializable", "get_custom_objects", "get_registered_name", "get_registered_object",
           "CustomObjectScope", "custom_object_scope", "class_config", "resolve_class"]

# Keras's GLOBAL_CUSTOM_OBJECTS: registered name -> object. Process-wide, as in Keras
# (clear_session does not forget registrations), and public through get_custom_objects().
_REGISTRY: dict[str, Any] = {}
_NAMES: dict[int, str] = {}   # id(object) -> the name it was registered under (Keras's GLOBAL_CUSTOM_NAMES)
_SCOPES = "custom_object_scopes"   # this thread's stack of custom_object_scope dicts


def _default_name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _register(key: str, target: Any) -> None:
    _REGISTRY[key] = target
    _NAMES[id(target)] = key


def register_serializable(obj: Any = None, *, name: str | None = None):
    """Registers a function or class so that configs can name it (a decorator, with or without args).

    Args:
        obj: The function or class, when used as ``@register_serializable`` without
            parentheses (or called directly); None when called with arguments.
        name: The name configs use for it (default: ``module:qualname``).

    Returns:
        ``obj`` itself, or, without ``obj``, a decorator that registers and returns its argument.

    >>> import highlevel as hl
    >>> @hl.utils.register_serializable()
    ... def my_loss(y_true, y_pred):
    ...     return abs(y_true - y_pred)
    >>> @hl.utils.register_serializable(name="doubled")
    ... def double(x):
    ...     return 2 * x
    >>> from highlevel.utils.serialization import serializable_name
    >>> serializable_name(double)
    'doubled'
    """
    def register(target: Any) -> Any:
        _register(name or _default_name(target), target)
        return target

    if obj is None:
        return register
    return register(obj)


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Registers a class or function under ``"package>name"``, as ``keras.saving.register_keras_serializable``.

    A registered activation, loss, metric, initializer, regularizer, layer or model is
    written to configs by that name, and a process that registered it (the same
    decorator, run before loading) reads it back; configs never import anything.

    Args:
        package: The first part of the key (``"Custom"`` by default).
        name: The second part (default: the object's ``__name__``).

    Returns:
        A decorator that registers its argument and returns it unchanged.

    >>> import highlevel as hl
    >>> @hl.saving.register_keras_serializable(package="demo")
    ... def scaled_relu(x):
    ...     return 2.0 * hl.activations.relu(x)
    >>> hl.saving.get_registered_name(scaled_relu)
    'demo>scaled_relu'
    >>> hl.layers.Dense(2, activation=scaled_relu).get_config()["activation"]
    'demo>scaled_relu'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>', got {package!r}.")

    def decorator(target: Any) -> Any:
        if inspect.isclass(target) and not hasattr(target, "get_config"):
            raise ValueError(f"Cannot register the class {target.__name__}: it has no get_config() method. "
                             "Define get_config() returning its constructor arguments.")
        _register(f"{package}>{name if name is not None else target.__name__}", target)
        return target

    return decorator


def get_custom_objects() -> dict[str, Any]:
    """The live dictionary of registered objects (Keras's ``get_custom_objects``): name -> object.

    Adding an entry registers the object under that name, as in Keras; objects lent by a
    ``custom_object_scope`` are not in it.

    Returns:
        The registry itself (not a copy).

    >>> import highlevel as hl
    >>> def halve(x):
    ...     return x / 2
    >>> hl.saving.get_custom_objects()["halve"] = halve
    >>> hl.saving.get_registered_object("halve") is halve
    True
    """
    return _REGISTRY


def _scope_dicts() -> list[dict[str, Any]]:
    return global_state.global_attribute(_SCOPES, list)


class CustomObjectScope:
    """Lends objects to deserialization inside a ``with`` block (Keras's ``custom_object_scope``).

    Inside the block, configs that name ``"my_act"`` (or ``"Custom>my_act"``) find the
    object given here, as if it were registered. Scopes nest; the scope is per thread.

    Args:
        custom_objects: A dict ``{name: object}`` (a list of objects, or several dicts, is
            also accepted: each object then under its ``__name__``).

    >>> import highlevel as hl
    >>> def my_act(x):
    ...     return x
    >>> config = {"class_name": "Dense", "config": {"units": 2, "activation": "my_act"}}
    >>> with hl.saving.custom_object_scope({"my_act": my_act}):
    ...     layer = hl.layers.deserialize(config)
    >>> layer.activation is my_act
    True
    """

    def __init__(self, *custom_objects: Any):
        merged: dict[str, Any] = {}
        for item in custom_objects:
            if item is None:
                continue
            if isinstance(item, dict):
                merged.update(item)
            elif isinstance(item, (list, tuple)):
                merged.update({obj.__name__: obj for obj in item})
            else:
                merged[item.__name__] = item
        self.custom_objects = merged

    def __enter__(self) -> "CustomObjectScope":
        _scope_dicts().append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        stack = _scope_dicts()
        if stack and stack[-1] is self.custom_objects:
            stack.pop()


custom_object_scope = CustomObjectScope


def _find(key: str, custom_objects: dict | None) -> Any:
    for scope in reversed(_scope_dicts()):
        if key in scope:
            return scope[key]
    if key in _REGISTRY:
        return _REGISTRY[key]
    if custom_objects and key in custom_objects:
        return custom_objects[key]
    return None


def lookup_serializable(key: str, custom_objects: dict | None = None) -> Any:
    """The object a config's ``key`` names, or None: from the open scopes, the registry, then
    ``custom_objects``; ``"package>name"`` is also looked up as plain ``name``."""
    if not isinstance(key, str):
        return None
    found = _find(key, custom_objects)
    if found is None and ">" in key:
        found = _find(key.rsplit(">", 1)[1], custom_objects)
    return found


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None) -> Any:
    """The object registered (or lent by a scope, or in ``custom_objects``) as ``name``, else None.

    Args:
        name: A registered name (``"Custom>my_act"``) or a plain one.
        custom_objects: More ``{name: object}`` to look in.
        module_objects: Still more, looked in last (Keras's argument).

    Returns:
        The object, or ``None``.

    >>> import highlevel as hl
    >>> hl.saving.get_registered_object("no_such_object") is None
    True
    """
    found = lookup_serializable(name, custom_objects)
    if found is None and module_objects and name in module_objects:
        found = module_objects[name]
    return found


def serializable_name(obj: Any) -> str | None:
    """The registered name of ``obj`` (registry, then the open scopes), or None when it has none."""
    try:
        key = _NAMES.get(id(obj))
    except TypeError:  # pragma: no cover - id() takes anything
        key = None
    if key is not None and _REGISTRY.get(key) is obj:
        return key
    for key, value in _REGISTRY.items():
        if value is obj:
            return key
    for scope in reversed(_scope_dicts()):
        for key, value in scope.items():
            if value is obj:
                return key
    return None


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` is registered under, else its ``__name__`` (Keras's ``get_registered_name``).

    Args:
        obj: A function or class.

    Returns:
        The registered name (``"package>name"``), or ``obj.__name__``.

    >>> import highlevel as hl
    >>> def plain(x):
    ...     return x
    >>> hl.saving.get_registered_name(plain)
    'plain'
    """
    return serializable_name(obj) or obj.__name__


def _unknown(key: str, what: str) -> ValueError:
    short = key.rsplit(">", 1)[-1]
    return ValueError(f"The config names the {what} {key!r}, which is not registered in this process: decorate "
                      f"it with @hl.saving.register_keras_serializable() in code that runs before loading, or "
                      f"pass custom_objects={{{short!r}: {short}}} to load_model/from_config.")


def resolve_serializable(key: str, what: str, custom_objects: dict | None = None) -> Any:
    """The object registered as ``key``; a clear error (and no import) otherwise."""
    found = lookup_serializable(key, custom_objects)
    if found is None:
        raise _unknown(key, what)
    return found


def class_config(obj: Any) -> dict[str, Any]:
    """``{"class_name", "config"}`` of an object with ``get_config``, plus ``"registered_name"`` when
    its class is registered (a user's own loss, metric, initializer, regularizer or layer)."""
    out = {"class_name": type(obj).__name__, "config": obj.get_config()}
    name = serializable_name(type(obj))
    if name is not None:
        out["registered_name"] = name
    return out


def resolve_class(config: dict[str, Any], known: dict[str, Any], what: str, known_names: str = "") -> Any:
    """The class a ``{"class_name", "config"[, "registered_name"]}`` config names: a built-in from
    ``known``, else a registered (or lent) one; a one-sentence error otherwise."""
    class_name = config.get("class_name")
    registered = config.get("registered_name")
    if registered:
        found = lookup_serializable(registered)
        if found is not None:
            return found
    if class_name in known:
        return known[class_name]
    found = lookup_serializable(class_name) if isinstance(class_name, str) else None
    if found is not None:
        return found
    if registered or not known_names:
        raise _unknown(registered or class_name, what)
    raise ValueError(f"Unknown {what} class {class_name!r} in config. Known {what}s: {known_names}; a custom "
                     "class must be registered with @hl.saving.register_keras_serializable() before loading.")
