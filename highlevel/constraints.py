"""Weight constraints (MaxNorm, MinMaxNorm, NonNeg, UnitNorm), applied after each optimizer update.

A layer's ``kernel_constraint``, ``bias_constraint`` (and the like) name one of these;
the compiled train step projects the updated weight with it right after the optimizer
step, as Keras does, so the weights a step leaves always satisfy their constraints.
Keras's names, arguments and formulas (the norms divide by ``norm + 1e-7``).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm",
           "non_neg", "unit_norm", "get", "serialize", "deserialize"]

#: Keras's ``backend.epsilon()``: added to a norm before dividing by it.
EPSILON = 1e-7


class Constraint:
    """Abstract base of the constraints: ``constraint(weight) -> projected weight`` (same shape).

    Subclasses implement ``__call__(w)`` with ``jax.numpy`` (it runs inside the compiled
    step) and, if they take arguments, ``get_config()``.

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
        """The constructor arguments that rebuild this constraint (``{}`` for none)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Constraint":
        """The constraint that ``get_config()`` describes."""
        return cls(**config)


def _axis(value) -> int | tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(a) for a in value)
    return int(value)


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each weight vector whose L2 norm exceeds ``max_value`` down to that norm; also ``max_norm``.

    Args:
        max_value: the largest norm allowed.
        axis: the axis (or axes) along which the norms are taken: 0 for a Dense kernel
            ``(in, out)`` constrains each unit's incoming weights; ``[0, 1, 2]`` for a Conv2D
            kernel ``(kh, kw, in, out)`` each filter.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> w = hl.constraints.MaxNorm(1.0)(jnp.array([[3.0, 0.3], [4.0, 0.4]]))
    >>> [round(float(v), 4) for v in jnp.linalg.norm(w, axis=0)]
    [1.0, 0.5]
    """

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0):
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero; also ``non_neg``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.constraints.NonNeg()(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __call__(self, w):
        return jnp.maximum(w, 0)


class UnitNorm(Constraint):
    """Divides each weight vector by its L2 norm, so that every norm is 1; also ``unit_norm``.

    Args:
        axis: the axis (or axes) along which the norms are taken (see ``MaxNorm``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> [round(float(v), 4) for v in hl.constraints.UnitNorm()(jnp.array([[3.0], [4.0]])).ravel()]
    [0.6, 0.8]
    """

    def __init__(self, axis: int | Sequence[int] = 0):
        self.axis = _axis(axis)

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each weight vector's L2 norm into ``[min_value, max_value]``; also ``min_max_norm``.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``: with
    ``rate=1`` the constraint holds exactly after each step, with a smaller rate the norms
    move towards the interval step by step.

    Args:
        min_value: the smallest norm.
        max_value: the largest norm.
        rate: how far towards the interval each application moves (1: all the way).
        axis: the axis (or axes) along which the norms are taken (see ``MaxNorm``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> w = hl.constraints.MinMaxNorm(1.0, 2.0)(jnp.array([[0.3, 3.0], [0.4, 4.0]]))
    >>> [round(float(v), 4) for v in jnp.linalg.norm(w, axis=0)]
    [1.0, 2.0]
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | Sequence[int] = 0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
_REGISTRY: dict[str, type] = {"MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg,
                              "UnitNorm": UnitNorm, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
                              "non_neg": NonNeg, "unit_norm": UnitNorm}


def _known() -> str:
    return ", ".join(sorted(_REGISTRY))


def deserialize(config: dict[str, Any]) -> Constraint:
    """The constraint a ``{"class_name": ..., "config": {...}}`` dict describes (as ``serialize`` writes).

    Args:
        config: the dict; ``class_name`` is one of Keras's constraint names.

    Returns:
        The constraint.

    >>> import highlevel as hl
    >>> hl.constraints.deserialize({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value
    3
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A constraint config is a dict with 'class_name' and 'config', got {config!r}.")
    name = config["class_name"]
    if name not in _REGISTRY:
        raise ValueError(f"Unknown constraint {name!r}. Known constraints: {_known()}.")
    return _REGISTRY[name].from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> Any:
    """A constraint from None, a name, a config dict, a constraint class or instance, or a callable.

    Args:
        identifier: ``None`` (no constraint), a name (``"non_neg"``, ``"MaxNorm"``), a dict
            as ``serialize`` writes, a ``Constraint`` class (instantiated with its defaults)
            or instance, or any callable ``w -> w`` (returned as is).

    Returns:
        The constraint, or None.

    >>> import highlevel as hl
    >>> hl.constraints.get("max_norm").max_value
    2
    >>> hl.constraints.get(None) is None
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            raise ValueError(f"Unknown constraint {identifier!r}. Known constraints: {_known()}.")
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"A constraint must be a name (e.g. 'non_neg'), a config dict or a callable "
                    f"w -> w, got {identifier!r}.")


def serialize(constraint: Any) -> dict[str, Any] | None:
    """Keras's config dict of a constraint: ``{"class_name": ..., "config": ...}`` (None for None).

    Args:
        constraint: a ``Constraint`` (a registered one, so that ``get`` can read it back), or None.

    Returns:
        The dict, or None.

    >>> import highlevel as hl
    >>> hl.constraints.serialize(hl.constraints.UnitNorm(axis=1))
    {'class_name': 'UnitNorm', 'config': {'axis': 1}}
    """
    if constraint is None:
        return None
    if isinstance(constraint, Constraint) and type(constraint).__name__ in _REGISTRY:
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    raise ValueError(f"Cannot serialize the constraint {constraint!r}: only hl.constraints' MaxNorm, "
                     "MinMaxNorm, NonNeg and UnitNorm go into a config; rebuild a layer with a custom "
                     "constraint in Python.")
