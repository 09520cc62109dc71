"""Weight regularizers (L1, L2, L1L2, OrthogonalRegularizer) that add a penalty to the loss."""

from __future__ import annotations

from typing import Any

import math

import jax.numpy as jnp

from highlevel.utils.serialization import (CustomObjectScope, class_config, lookup_serializable, resolve_class,
                                          serializable_name)

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


class Regularizer:
    """Abstract base of the regularizers: ``regularizer(weight) -> scalar penalty``.

    A layer adds each regularized weight's penalty to the training loss. Subclasses
    implement ``__call__(x)`` with ``jax.numpy`` and ``get_config()``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class MaxNorm(hl.regularizers.Regularizer):
    ...     def __call__(self, x):
    ...         return jnp.max(jnp.abs(x))
    ...     def get_config(self):
    ...         return {}
    >>> float(MaxNorm()(jnp.array([1.0, -2.0])))
    2.0
    """

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)


class L1L2(Regularizer):
    """Combined penalty ``l1 * sum(|w|) + l2 * sum(w**2)``; also exported as ``l1_l2``.

    Args:
        l1: The L1 factor.
        l2: The L2 factor.

    Called on a weight of any shape; returns a scalar of its dtype.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.regularizers.L1L2(l1=0.1, l2=0.01)(jnp.array([1.0, -2.0])))
    0.35...
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, x):
        penalty = jnp.zeros((), x.dtype)
        if self.l1:
            penalty = penalty + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """L1 penalty ``l1 * sum(|w|)``; also exported as ``l1``.

    Args:
        l1: The L1 factor (Keras's default, 0.01).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.regularizers.L1(0.1)(jnp.array([1.0, -2.0])))
    0.3...
    """

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """L2 penalty ``l2 * sum(w**2)``; also exported as ``l2``.

    Args:
        l2: The L2 factor (Keras's default, 0.01).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.regularizers.L2(0.1)(jnp.array([1.0, -2.0])))
    0.5...
    """

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a matrix towards orthogonality; also ``orthogonal_regularizer``.

    The rows (``mode="rows"``) or columns are L2-normalized; the penalty is ``factor * 0.5``
    times the mean absolute cosine over distinct pairs, as Keras's.

    Args:
        factor: The penalty's factor, a non-negative number.
        mode: ``"rows"`` or ``"columns"``: which vectors of the matrix should be orthogonal.

    Called on a rank-2 weight (a ``Dense`` kernel); returns a scalar of its dtype.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.regularizers.OrthogonalRegularizer(1.0)(jnp.array([[1.0, 0.0], [1.0, 1.0]])))
    0.7071...
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) \
                or factor < 0:
            raise ValueError(f"OrthogonalRegularizer's factor must be a non-negative number, got factor={factor!r}.")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer's mode must be 'rows' or 'columns', got mode={mode!r}.")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a rank-2 weight (a matrix), got shape {x.shape}; "
                             "use it on a Dense kernel or reshape the weight.")
        vectors = x if self.mode == "rows" else x.T
        norms = jnp.sqrt(jnp.sum(jnp.square(vectors), axis=1, keepdims=True))
        vectors = vectors / jnp.maximum(norms, 1e-7)   # Keras's normalize (epsilon 1e-7)
        size = vectors.shape[0]
        off_diagonal = (vectors @ vectors.T) * (1.0 - jnp.eye(size, dtype=x.dtype))
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / (size * (size - 1.0) / 2.0)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_REGISTRY = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer, "l1": L1, "l2": L2,
             "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier) -> Regularizer | None:
    """A regularizer from None, a name, a ``{"class_name", "config"}`` dict or an instance.

    Args:
        identifier: ``None`` (no regularizer), a name (``"l2"``, ``"L1L2"``), a config dict
            as :func:`serialize` writes, or a regularizer or callable (returned as is).

    Returns:
        The regularizer, or ``None``.

    >>> import highlevel as hl
    >>> hl.regularizers.get("l2").l2
    0.01
    >>> hl.regularizers.get({"class_name": "L1", "config": {"l1": 0.5}}).l1
    0.5
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            found = lookup_serializable(identifier)   # a user's registered (or lent) regularizer
            if found is None:
                raise ValueError(f"Unknown regularizer {identifier!r}. Known regularizers: "
                                 f"{', '.join(sorted(_REGISTRY))}; a custom one must be registered with "
                                 "@hl.saving.register_keras_serializable() before loading.")
            return found() if isinstance(found, type) else found
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = resolve_class(identifier, _REGISTRY, "regularizer", ", ".join(sorted(_REGISTRY)))
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"A regularizer must be a name, a dict or a Regularizer, got {identifier!r}.")


def serialize(reg) -> dict[str, Any] | None:
    """Keras's config dict of a regularizer: ``{"class_name": ..., "config": ...}``.

    Args:
        reg: An :class:`L1`, :class:`L2` or :class:`L1L2`, or ``None``.

    Returns:
        The dict (``None`` for ``None``), which :func:`get` reads back.

    >>> import highlevel as hl
    >>> hl.regularizers.serialize(hl.regularizers.L2(0.001))
    {'class_name': 'L2', 'config': {'l2': 0.001}}
    """
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return class_config(reg)
    name = serializable_name(reg)
    if name is not None:   # a user's registered function
        return name
    raise ValueError(f"Cannot serialize the regularizer {reg!r}: use an hl.regularizers class, or register "
                     "your own with @hl.saving.register_keras_serializable().")


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Regularizer | None:
    """The regularizer a config names, as Keras's ``regularizers.deserialize``.

    Args:
        config: A dict as :func:`serialize` writes (Keras's too), or a name (``"l2"``).
        custom_objects: ``{name: class or function}`` for regularizers of your own.

    Returns:
        A new regularizer.

    >>> import highlevel as hl
    >>> hl.regularizers.deserialize({"class_name": "OrthogonalRegularizer", "config": {"factor": 0.1}}).factor
    0.1
    """
    with CustomObjectScope(custom_objects or {}):
        return get(config)
