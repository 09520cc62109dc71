"""The variables layers create: ``nnx`` variables that also behave as Keras 3 variables.

``layer.kernel`` and what ``model.weights`` returns are ``Weight`` (trainable) or
``NonTrainable`` variables: ``nnx.Param``/``nnx.BatchStat`` subclasses, so ``nnx.split``,
``nnx.merge`` and ``get_value()`` work as for any flax variable, with Keras's methods on
top: ``numpy()``, ``assign``/``assign_add``/``assign_sub``, ``value``, ``shape``, ``dtype``,
``name``, ``path``, ``trainable``, ``constraint``, ``regularizer``.

Reading or assigning a variable through these methods first syncs any train state that is
newer than the module (a ``fit`` in progress): the trainer registers that sync with
:func:`register_sync_hook`, so an ``assign`` from a callback is seen by the next step and
is not overwritten by the state at the end of the epoch.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

__all__ = ["KerasVariable", "Weight", "NonTrainable", "register_sync_hook", "register_owner"]

# Called before a Keras-style read or write of a variable: the training package registers
# the function that syncs train states newer than their modules (training/live.py).
_SYNC_HOOKS: list[Callable[[], None]] = []

# id(variable) -> (weakref to the layer that created it, its attribute name, constraint,
# regularizer). nnx variables take neither attributes nor weak references, and what the
# compiled step carries must stay the same for every copy of a model (an Ensemble's
# members): so this lives beside the variables, not in their metadata. A layer's entries
# are dropped when the layer is collected.
_OWNERS: dict[int, tuple[Any, str, Any, Any]] = {}
_BY_LAYER: dict[int, list[int]] = {}


def register_sync_hook(hook: Callable[[], None]) -> None:
    """Runs ``hook()`` before every Keras-style read or assignment of a variable.

    The trainer registers the sync of live train states (``training/live.py``), so a value
    read with ``numpy()`` is the latest trained one and an ``assign`` is not lost.

    Args:
      hook: a function of no arguments; registering the same function twice adds it once.

    >>> register_sync_hook(lambda: None)
    """
    if hook not in _SYNC_HOOKS:
        _SYNC_HOOKS.append(hook)


def _before_access() -> None:
    for hook in _SYNC_HOOKS:
        hook()


def _forget(layer_id: int) -> None:
    for i in _BY_LAYER.pop(layer_id, ()):
        _OWNERS.pop(i, None)


def register_owner(variable: nnx.Variable, layer: Any, name: str, constraint: Any = None,
                   regularizer: Any = None) -> None:
    """Records that ``layer`` created ``variable`` as its weight ``name`` (``add_weight`` does this).

    Args:
      variable: the new variable.
      layer: the layer holding it as the attribute ``name``.
      name: the weight's name (its attribute name).
      constraint: a function applied to the weight after each optimizer update, or None.
      regularizer: a penalty on the weight added to the loss, or None.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.Dense(2, name="head")
    >>> layer.build((None, 3))
    >>> layer.kernel.path
    'head/kernel'
    """
    ids = _BY_LAYER.get(id(layer))
    if ids is None:
        ids = _BY_LAYER[id(layer)] = []
        weakref.finalize(layer, _forget, id(layer))
    ids.append(id(variable))
    _OWNERS[id(variable)] = (weakref.ref(layer), name, constraint, regularizer)


def _owner(variable) -> tuple[Any, str, Any, Any] | None:
    entry = _OWNERS.get(id(variable))
    if entry is None:
        return None
    layer = entry[0]()
    # An id is reused only after its variable is gone: check it is still this one.
    if layer is None or getattr(layer, entry[1], None) is not variable:
        return None
    return (layer,) + entry[1:]


def _combine(value, delta, sign: int):
    if isinstance(value, jax.core.Tracer) or isinstance(delta, jax.core.Tracer):
        return value + sign * jnp.asarray(delta, value.dtype)
    # On the host: adding on the device would compile a small program per shape.
    return np.asarray(jax.device_get(value)) + sign * np.asarray(jax.device_get(delta), dtype=value.dtype)


class KerasVariable:
    """Mixin: Keras 3's variable API on an ``nnx.Variable`` (``Weight`` and ``NonTrainable`` use it).

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.Dense(2, kernel_initializer="ones")
    >>> layer.build((None, 2))
    >>> layer.kernel.assign_add(np.ones((2, 2)))
    >>> layer.kernel.numpy().tolist(), layer.kernel.name, layer.kernel.trainable
    ([[2.0, 2.0], [2.0, 2.0]], 'kernel', True)
    """

    __slots__ = ()

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (the latest trained one during ``fit``)."""
        _before_access()
        return np.asarray(jax.device_get(self.get_value()))

    def __array__(self, dtype=None, copy=None):
        value = self.numpy()
        return value if dtype is None else value.astype(dtype)

    @property
    def value(self):
        """The current value (a jax array), as Keras's ``variable.value``."""
        _before_access()
        return self.get_value()

    @value.setter
    def value(self, new_value) -> None:
        self.assign(new_value)

    def assign(self, value):
        """Sets the value (same shape; cast to the variable's dtype); nothing recompiles."""
        _before_access()
        old = self.get_value()
        if isinstance(value, jax.core.Tracer) or isinstance(old, jax.core.Tracer):
            new = jnp.asarray(value, old.dtype)
        else:
            new = jax.device_put(np.asarray(jax.device_get(value), dtype=old.dtype))
        if tuple(new.shape) != tuple(old.shape):
            raise ValueError(f"Cannot assign a value of shape {tuple(new.shape)} to variable "
                             f"'{self.path}' of shape {tuple(old.shape)}; pass an array of the "
                             "variable's shape.")
        self.set_value(new)

    def assign_add(self, delta):
        """Adds ``delta`` to the value."""
        _before_access()
        self.assign(_combine(self.get_value(), delta, 1))

    def assign_sub(self, delta):
        """Subtracts ``delta`` from the value."""
        _before_access()
        self.assign(_combine(self.get_value(), delta, -1))

    @property
    def name(self) -> str:
        """The weight's name in its layer (``"kernel"``)."""
        owner = _owner(self)
        return "variable" if owner is None else owner[1]

    @property
    def path(self) -> str:
        """``layer_name/weight_name`` (``"dense/kernel"``)."""
        owner = _owner(self)
        return "variable" if owner is None else f"{owner[0].name}/{owner[1]}"

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates it: a trainable weight of a trainable layer."""
        if not isinstance(self, nnx.Param):
            return False
        owner = _owner(self)
        return True if owner is None else bool(owner[0].trainable)

    @property
    def constraint(self):
        """The function applied to the weight after each optimizer update, or None."""
        owner = _owner(self)
        return None if owner is None else owner[2]

    @property
    def regularizer(self):
        """The penalty on the weight added to the loss, or None."""
        owner = _owner(self)
        return None if owner is None else owner[3]

    @property
    def ndim(self) -> int:
        return len(self.get_value().shape)

    def __repr__(self) -> str:
        value = self.get_value()
        return (f"<Variable path={self.path}, shape={tuple(value.shape)}, dtype={value.dtype}, "
                f"trainable={self.trainable}>")


class Weight(KerasVariable, nnx.Param):
    """A trainable weight: an ``nnx.Param`` with Keras 3's variable methods (see ``KerasVariable``).

    Made from its initial value, ``Weight(array)``; layers make theirs with ``add_weight``.

    >>> import jax.numpy as jnp
    >>> w = Weight(jnp.zeros(2))
    >>> w.assign([1.0, 2.0]); w.numpy().tolist()
    [1.0, 2.0]
    """


class NonTrainable(KerasVariable, nnx.BatchStat):
    """A weight that no optimizer updates (moving statistics and the like), with Keras's methods.

    Made from its initial value, ``NonTrainable(array)``.

    >>> import jax.numpy as jnp
    >>> NonTrainable(jnp.ones(2)).trainable
    False
    """
