"""Dtype policies: the dtype a layer keeps its weights in and the dtype it computes in (Keras 3's)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from highlevel.utils import dtypes as _dtypes
from highlevel.utils import global_state as _global_state

__all__ = ["DTypePolicy", "Policy", "get", "set_global_policy", "global_policy", "set_dtype_policy",
           "dtype_policy", "policy_scope"]

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def _dtype_name(value) -> str | None:
    try:
        import jax.numpy as jnp
        return str(jnp.dtype(value))
    except (TypeError, ValueError):
        return None


class DTypePolicy:
    """A layer's dtype policy: the dtype of its weights and the dtype of its computation.

    ``"mixed_bfloat16"`` and ``"mixed_float16"`` keep the weights in float32 and compute in
    bfloat16 or float16: each layer casts its floating inputs, and its weights as it reads
    them, to the compute dtype, and its outputs are in that dtype; softmax, losses, metrics
    and batch-norm statistics stay in float32. Any dtype name (``"float32"``,
    ``"bfloat16"``) uses that dtype for both. As Keras 3's ``keras.DTypePolicy``.

    Args:
        name: ``"mixed_bfloat16"``, ``"mixed_float16"`` or a dtype name; None for the global
            policy (``hl.mixed_precision.global_policy()``).

    >>> import highlevel as hl
    >>> policy = hl.mixed_precision.DTypePolicy("mixed_bfloat16")
    >>> policy.name, policy.compute_dtype, policy.variable_dtype
    ('mixed_bfloat16', 'bfloat16', 'float32')
    >>> hl.layers.Dense(4, dtype="mixed_bfloat16").dtype_policy
    <DTypePolicy "mixed_bfloat16">
    """

    __slots__ = ("_name", "_compute_dtype", "_variable_dtype")

    def __init__(self, name: str | None = None):
        if name is None:
            name = global_policy().name
        if not isinstance(name, str):
            raise TypeError(f"A dtype policy name must be a string such as 'mixed_bfloat16' or 'float32', "
                            f"got {name!r} (of type {type(name).__name__}).")
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        else:
            dtype = _dtype_name(name)
            if dtype is None:
                raise ValueError(f"Unknown dtype policy {name!r}: use 'mixed_bfloat16', 'mixed_float16' or a "
                                 "dtype name such as 'float32'.")
            compute = variable = name = dtype
        self._name, self._compute_dtype, self._variable_dtype = name, compute, variable

    @property
    def name(self) -> str:
        """The policy's name (``"mixed_bfloat16"``, ``"float32"``)."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of a layer's computation and outputs."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype a layer creates its weights in."""
        return self._variable_dtype

    @property
    def is_mixed(self) -> bool:
        """Whether weights and computation differ in dtype."""
        return self._compute_dtype != self._variable_dtype

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "DTypePolicy":
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(("DTypePolicy", self._name))


#: Keras's legacy name of ``DTypePolicy``.
Policy = DTypePolicy


def get(identifier: Any = None) -> DTypePolicy:
    """The ``DTypePolicy`` for what a layer's ``dtype=`` argument takes.

    Args:
        identifier: None (the global policy), a policy name (``"mixed_bfloat16"``), a dtype
            (``"float32"``, ``numpy.float32``), a ``DTypePolicy``, or Keras's serialized
            form ``{"class_name": "DTypePolicy", "config": {"name": ...}}``.

    Returns:
        The policy.

    >>> import highlevel as hl, numpy as np
    >>> hl.mixed_precision.get(np.float32), hl.mixed_precision.get({"class_name": "DTypePolicy",
    ...                                                             "config": {"name": "mixed_float16"}})
    (<DTypePolicy "float32">, <DTypePolicy "mixed_float16">)
    """
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, dict):
        config = identifier.get("config", identifier)
        if not isinstance(config, dict) or "name" not in config:
            raise ValueError(f"A dtype policy dict is {{'class_name': 'DTypePolicy', 'config': {{'name': ...}}}}, "
                             f"got {identifier!r}.")
        return DTypePolicy(config["name"])
    dtype = _dtype_name(identifier)
    if dtype is None:
        raise TypeError(f"dtype must be a dtype policy name ('mixed_bfloat16', 'float32'), a dtype or an "
                        f"hl.mixed_precision.DTypePolicy, got {identifier!r}.")
    return DTypePolicy(dtype)


def set_global_policy(policy: Any) -> None:
    """Sets the policy of layers created from now on without a ``dtype`` (this thread's).

    ``hl.utils.clear_session()`` resets it to float32, as Keras's does.

    Args:
        policy: ``"mixed_bfloat16"``, ``"mixed_float16"``, ``"float32"``, a dtype or a
            ``DTypePolicy``.

    >>> import highlevel as hl
    >>> hl.mixed_precision.set_global_policy("mixed_bfloat16")
    >>> layer = hl.layers.Dense(2)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
    >>> hl.mixed_precision.set_global_policy("float32")
    """
    _global_state.set_global_attribute("dtype_policy", get(policy))


def global_policy() -> DTypePolicy:
    """The policy of layers created without a ``dtype`` (``hl.backend.floatx()``, float32, unless set).

    >>> import highlevel as hl
    >>> hl.mixed_precision.global_policy()
    <DTypePolicy "float32">
    """
    policy = _global_state.get_global_attribute("dtype_policy")
    return DTypePolicy(_dtypes.floatx()) if policy is None else policy


#: Keras 3's names for ``set_global_policy`` and ``global_policy``.
set_dtype_policy = set_global_policy
dtype_policy = global_policy


@contextlib.contextmanager
def policy_scope(policy: Any) -> Iterator[DTypePolicy]:
    """Sets the global policy inside the block only (a config's model is built inside one).

    Args:
        policy: What ``set_global_policy`` takes.

    >>> import highlevel as hl
    >>> with hl.mixed_precision.policy_scope("mixed_float16"):
    ...     inside = hl.layers.Dense(2).compute_dtype
    >>> inside, hl.layers.Dense(2).compute_dtype
    ('float16', 'float32')
    """
    previous = _global_state.get_global_attribute("dtype_policy")
    new = get(policy)
    _global_state.set_global_attribute("dtype_policy", new)
    try:
        yield new
    finally:
        _global_state.set_global_attribute("dtype_policy", previous)


