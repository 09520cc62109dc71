"""Named user functions and classes for configs: nothing is imported from a config string.

A config (a saved model, a YAML run) may name a user's own loss, metric function
or module factory only if that object was registered first; loading a config
never imports a module it names.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register_serializable", "serializable_name", "resolve_serializable"]

_REGISTRY: dict[str, Any] = {}


def _default_name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


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
        key = name or _default_name(target)
        _REGISTRY[key] = target
        return target

    if obj is None:
        return register
    return register(obj)


def serializable_name(obj: Any) -> str | None:
    """The registered name of ``obj``, or None when it is not registered."""
    for key, value in _REGISTRY.items():
        if value is obj:
            return key
    return None


def resolve_serializable(key: str, what: str) -> Any:
    """The object registered as ``key``; a clear error (and no import) otherwise."""
    if key in _REGISTRY:
        return _REGISTRY[key]
    raise ValueError(f"The config names the {what} {key!r}, which is not registered. Decorate it with "
                     "@hl.utils.register_serializable() in code that runs before loading, or pass the "
                     "object itself.")
