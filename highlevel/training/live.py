"""The one owner of the live train state and of its link to the module(s) it trains.

A model's weights exist twice while it trains: as the module's ``nnx.Variable``\\ s (what
users, callbacks and saving see) and as the train state that the compiled steps carry
from call to call. ``LiveState`` owns both ends, with one flag and one function that
syncs them, as Keras's JAX trainer does with ``_jax_state_synced`` and ``jax_state_sync``.

Invariants (tested in ``tests/test_live_state.py``):

1. **One side is newer.** ``synced`` True: the module's variables hold the latest weights
   and the state's weights are not used (every read takes them from the module, by
   reference, so an edit made to the module in the meantime, by a callback or by
   ``set_weights``, is honoured). ``synced`` False: steps ran since the last sync and the
   state is newer than the module.
2. **One writer.** ``sync()`` is the only function that writes the state into the module;
   ``run()`` (a compiled step) is the only one that makes the state newer.
3. **Donation never invalidates an array the module holds.** A step donates the state's
   buffers. The first ``run()`` after a sync therefore takes *copies* of the module's
   weights, and a sync hands the module the state's arrays only when no step will run on
   them again without that copy.
4. **No copy per step.** Between syncs the state travels from call to call as its flat list
   of leaves (``FlatStep``): nothing is copied, flattened or rebuilt in Python per step.

Who calls ``sync()``: the trainer at the end of each epoch (before ``on_epoch_end``), at the
end of ``fit`` and ``train_on_batch``, and every public read of the weights
(``model.weights``, ``get_weights``, ``set_weights``, ``model.module``, a call of the model
outside a step, saving, ``trainer.snapshot()`` and the statistics pass), and a Keras-style
read or assignment of a variable (``v.numpy()``, ``v.assign(x)``: ``layers/variables.py``),
which syncs every live state newer than its module.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

import jax

from highlevel.layers.base import current_context
from highlevel.layers.variables import register_sync_hook
from highlevel.training.state import FlatStep, key_positions, unwrap_keys, wrap_keys

__all__ = ["LiveState", "ModuleLink"]


class ModuleLink(Protocol):
    """How a train state maps to the module(s) it trains (one model, or an ensemble's members)."""

    def read(self, state):
        """``state`` with the weights the module holds now, by reference (nothing copied)."""

    def fresh(self, state):
        """``read(state)`` with copies of the module's arrays: safe for a step to donate."""

    def write(self, state) -> None:
        """Puts ``state``'s weights into the module (by reference)."""


class LiveState:
    """The train state between compiled calls: a pytree, or its leaves while steps run.

    Args:
      link: the module the state trains (``ModuleLink``); None for a state on its own.

    >>> import jax.numpy as jnp
    >>> from highlevel.training.state import FlatStep
    >>> live = LiveState()
    >>> live.load({"w": jnp.zeros(2)})
    >>> step = FlatStep(lambda s, h, x: {"w": s["w"] + x}, jax.tree_util.tree_structure(()))
    >>> live.run(step, [], jnp.ones(2)); live.run(step, [], jnp.ones(2))
    >>> live.get()["w"].tolist(), live.synced
    ([2.0, 2.0], False)
    """

    __slots__ = ("link", "_state", "_leaves", "_treedef", "_keys", "synced", "__weakref__")

    def __init__(self, link: ModuleLink | None = None):
        self.link = link
        self._state = None
        self._leaves = None
        self._treedef = None
        self._keys: tuple = ()
        self.synced = True  # nothing trained yet: the module is the truth

    # -- reading -------------------------------------------------------------------------

    def get(self):
        """The train state now (None before the first ``load``), with the module's weights if synced."""
        if self._leaves is not None:
            self._state = jax.tree_util.tree_unflatten(self._treedef, wrap_keys(self._leaves, self._keys))
            self._leaves = None
        if self.synced and self._state is not None and self.link is not None:
            self._state = self.link.read(self._state)
        return self._state

    @property
    def empty(self) -> bool:
        return self._state is None and self._leaves is None

    # -- writing -------------------------------------------------------------------------

    def load(self, state) -> None:
        """A whole new state, newer than the module (set up, restored): written to the module now."""
        self._state, self._leaves = state, None
        self.synced = state is None
        self.sync()

    def attach(self, state) -> None:
        """A state whose weights are the module's own (just made from it): kept, nothing written."""
        self._state, self._leaves, self.synced = state, None, True
        _NEWER_THAN_MODULE.discard(self)

    def peek(self, name: str):
        """A field that is not a module weight (``step``, ``metrics``, ``opt_state``, ``rng``),
        without reading the module's weights (a graph walk) when the module is the truth."""
        if self._leaves is not None or self._state is None:
            return getattr(self.get(), name)
        return getattr(self._state, name)

    def replace(self, **fields: Any) -> None:
        """Replaces fields that are not module weights (optimizer state, metrics, key, step).

        While the module is the truth (``synced``) its weights are not read here: every
        ``get()`` reads them from the module anyway, so reading them now would only cost a
        walk of the module's graph."""
        if self.synced and self._leaves is None and self._state is not None:
            self._state = self._state.replace(**fields)
        else:
            self._state = self.get().replace(**fields)

    def clear(self) -> None:
        self._state, self._leaves, self.synced = None, None, True
        _NEWER_THAN_MODULE.discard(self)

    def sync(self) -> None:
        """Writes the state into the module if steps ran since the last sync (the one sync function)."""
        if self.synced:
            return
        state = self.get()
        if self.link is not None:
            self.link.write(state)
        self.synced = True
        _NEWER_THAN_MODULE.discard(self)

    # -- running steps -------------------------------------------------------------------

    def run(self, step: FlatStep, hyper_leaves: list, *args) -> None:
        """One compiled call: the state's leaves in (donated), the new leaves kept.

        Random keys travel between calls as raw data (see ``key_positions``)."""
        if self._leaves is None:
            state = self._state
            if self.synced and self.link is not None:
                state = self.link.fresh(state)
            leaves, self._treedef = jax.tree_util.tree_flatten(state)
            self._keys = key_positions(leaves)
            self._leaves = unwrap_keys(leaves, self._keys)
            self._state = None
        if self.synced:
            _NEWER_THAN_MODULE.add(self)
        self.synced = False
        self._leaves = step(self._treedef, self._leaves, hyper_leaves, *args, keys=self._keys)

    def lower(self, step: FlatStep, hyper_leaves: list, *args):
        """The lowered step for the current state (nothing runs, nothing is donated)."""
        leaves, treedef = jax.tree_util.tree_flatten(self.get())
        keys = key_positions(leaves)
        return step.lower(treedef, unwrap_keys(leaves, keys), hyper_leaves, *args, keys=keys)

    def trace(self, step: FlatStep, hyper_leaves: list, *args):
        """The traced step (``.jaxpr``) for the current state (nothing runs, nothing is donated)."""
        leaves, treedef = jax.tree_util.tree_flatten(self.get())
        keys = key_positions(leaves)
        return step.trace(treedef, unwrap_keys(leaves, keys), hyper_leaves, *args, keys=keys)

# The live states whose train state is newer than their module (steps ran since their last
# sync). A Keras-style read or assignment of a variable (``v.numpy()``, ``v.assign(x)``) syncs
# them first, so it sees the latest weights and is not overwritten by the state later.
_NEWER_THAN_MODULE: "weakref.WeakSet[LiveState]" = weakref.WeakSet()


def _sync_newer_states() -> None:
    if current_context() is not None:
        return   # inside a forward pass or a step's trace: the module is not written from there
    for live in list(_NEWER_THAN_MODULE):
        live.sync()


register_sync_hook(_sync_newer_states)
