"""Marking a method as a default implementation, so callers can tell whether a subclass overrides it.

The trainer calls a model's ``compute_loss``/``compute_metrics`` inside the compiled step
only when a subclass overrides them (as Keras's ``utils.default`` does); a layer that
overrides ``compute_mask`` supports masking.
"""

from __future__ import annotations

from typing import Callable, TypeVar

__all__ = ["default", "is_default"]

F = TypeVar("F", bound=Callable)


def default(method: F) -> F:
    """Marks ``method`` as the default implementation (``is_default`` is True for it only).

    Args:
      method: the function to mark (returned as is).

    >>> class Base:
    ...     @default
    ...     def hook(self):
    ...         return 0
    >>> class Child(Base):
    ...     def hook(self):
    ...         return 1
    >>> is_default(Base.hook), is_default(Child.hook)
    (True, False)
    """
    method.is_default_implementation = True
    return method


def is_default(method) -> bool:
    """Whether ``method`` (a function or bound method) is one marked with :func:`default`.

    Args:
      method: the function or bound method to test.

    >>> is_default(print)
    False
    """
    return bool(getattr(method, "is_default_implementation", False))
