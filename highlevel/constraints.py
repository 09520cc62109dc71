"""Weight constraints: functions applied to a weight after each optimizer update, as Keras's.

A layer's weight created with ``add_weight(..., constraint=...)`` is passed through its
constraint inside the compiled train step, right after the optimizer's update.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

__all__ = ["Constraint", "NonNeg", "get", "serialize", "deserialize"]


class Constraint:
    """Abstract base of the constraints: ``constraint(weight) -> constrained weight`` (same shape).

    Subclasses implement ``__call__(w)`` with ``jax.numpy`` (it runs inside the compiled
    step) and ``get_config()``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class Clip(hl.constraints.Constraint):
    ...     def __call__(self, w):
    ...         return jnp.clip(w, -1.0, 1.0)
    >>> Clip()(jnp.array([-3.0, 0.5])).tolist()
    [-1.0, 0.5]
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Constraint":
        return cls(**config)


class NonNeg(Constraint):
    """Constrains the weights to be non-negative (negative entries become 0).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.constraints.NonNeg()(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __call__(self, w):
        return jnp.where(w >= 0.0, w, jnp.zeros_like(w))


non_neg = NonNeg
_REGISTRY: dict[str, type] = {"NonNeg": NonNeg, "non_neg": NonNeg}


def get(identifier) -> Constraint | None:
    """A constraint from None, a name, a ``{"class_name", "config"}`` dict, an instance or a function.

    Args:
      identifier: ``None`` (no constraint), a name (``"non_neg"``, ``"NonNeg"``), a config
        dict as :func:`serialize` writes, or a constraint or callable (returned as is).

    Returns:
      The constraint, or ``None``.

    >>> import highlevel as hl
    >>> type(hl.constraints.get("non_neg")).__name__
    'NonNeg'
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            raise ValueError(f"Unknown constraint {identifier!r}. Known constraints: "
                             f"{', '.join(sorted(_REGISTRY))}.")
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"A constraint must be a name, a dict, a Constraint or a function, got {identifier!r}.")


def serialize(constraint) -> dict[str, Any] | None:
    """Keras's config dict of a constraint: ``{"class_name": ..., "config": ...}`` (None for None).

    Args:
      constraint: a :class:`Constraint` or None.

    >>> import highlevel as hl
    >>> hl.constraints.serialize(hl.constraints.NonNeg())
    {'class_name': 'NonNeg', 'config': {}}
    """
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    raise ValueError(f"Cannot serialize the constraint {constraint!r}: use a hl.constraints.Constraint "
                     "subclass with get_config().")


def deserialize(config: dict[str, Any]) -> Constraint:
    """The constraint a :func:`serialize` dict describes.

    Args:
      config: ``{"class_name": name, "config": {...}}``.

    >>> import highlevel as hl
    >>> type(hl.constraints.deserialize({"class_name": "NonNeg", "config": {}})).__name__
    'NonNeg'
    """
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _REGISTRY:
        raise ValueError(f"Unknown constraint {name!r}. Known constraints: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name].from_config(dict(config.get("config", {})))
