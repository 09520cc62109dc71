"""The train state: one immutable pytree carried from compiled step to compiled step.

Between compiled calls the trainer keeps it in a ``LiveState``: as its flat list
of leaves while a loop runs steps, as a ``TrainState`` whenever anyone reads it.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
from flax import struct

__all__ = ["TrainState", "FlatStep", "LiveState"]


@struct.dataclass
class TrainState:
    """Everything a train step reads and writes.

    Attributes:
      step: the number of optimizer steps taken (int32 scalar).
      params: the trainable weights (an ``nnx.State``).
      non_trainable: every other variable of the model except hyperparameters:
        moving statistics, frozen weights, random-stream state of wrapped modules.
      opt_state: the optax state (with ``hyperparams["learning_rate"]``).
      rng: the random key, split once per step.
      metrics: the on-device accumulators of the training metrics.
    """

    step: jax.Array
    params: Any
    non_trainable: Any
    opt_state: Any
    rng: jax.Array
    metrics: Any

    @classmethod
    def create(cls, *, params, non_trainable, opt_state, rng, metrics, step=None) -> "TrainState":
        import jax.numpy as jnp
        return cls(step=jnp.zeros((), jnp.int32) if step is None else step, params=params,
                   non_trainable=non_trainable, opt_state=opt_state, rng=rng, metrics=metrics)


class FlatStep:
    """``jax.jit`` of ``step(state, hyper, *args) -> state``, called with the leaves of state and hyper.

    A jitted function flattens its pytree arguments and unflattens its result on every
    call. The train state's ``nnx.State``s and ``Variable``s flatten and unflatten in
    Python: about 60 us a call for a two-layer model with Adam on CPU, a quarter of the
    whole step. Called with flat lists (flattened in C++) and returning one, the step
    skips that; the pytrees are rebuilt inside the trace, at trace time only.

    Args:
      step: the pure step function.
      hyper_treedef: the structure of ``hyper`` (the layers' hyperparameters), fixed per compile.
      donate: donate the state's buffers (the step writes the new state into them).

    >>> import jax, jax.numpy as jnp
    >>> add = FlatStep(lambda s, h, x: {"w": s["w"] + x}, jax.tree_util.tree_structure(()))
    >>> leaves, treedef = jax.tree_util.tree_flatten({"w": jnp.zeros(2)})
    >>> add(treedef, leaves, [], jnp.ones(2))[0].tolist()
    [1.0, 1.0]
    """

    def __init__(self, step: Callable, hyper_treedef, donate: bool = True):
        self.step = step
        self.hyper_treedef = hyper_treedef
        self.donate = donate
        self._treedef = None
        self._jitted = None
        self._by_treedef: dict = {}

    def _jit_for(self, treedef):
        if self._treedef is treedef:
            return self._jitted
        jitted = self._by_treedef.get(treedef)
        if jitted is None:
            jitted = jax.jit(self._flat_fn(treedef), donate_argnums=0 if self.donate else ())
            self._by_treedef[treedef] = jitted
        self._treedef, self._jitted = treedef, jitted
        return jitted

    def _flat_fn(self, treedef):
        step, hyper_treedef = self.step, self.hyper_treedef

        def flat(leaves, hyper_leaves, *args):
            state = jax.tree_util.tree_unflatten(treedef, leaves)
            hyper = jax.tree_util.tree_unflatten(hyper_treedef, hyper_leaves)
            new_leaves, new_treedef = jax.tree_util.tree_flatten(step(state, hyper, *args))
            if new_treedef != treedef:
                raise TypeError(f"The step changed the structure of its state: {treedef} became {new_treedef}.")
            return new_leaves

        flat.__name__ = getattr(step, "__name__", "step")
        return flat

    def __call__(self, treedef, leaves: list, hyper_leaves: list, *args) -> list:
        return self._jit_for(treedef)(leaves, hyper_leaves, *args)

    def lower(self, treedef, leaves: list, hyper_leaves: list, *args):
        """``jax.stages.Lowered`` for these arguments (arrays or ``jax.ShapeDtypeStruct``s)."""
        return self._jit_for(treedef).lower(leaves, hyper_leaves, *args)


class LiveState:
    """The train state between compiled calls: a ``TrainState``, or its leaves while steps run.

    ``run`` flattens the state once and then passes leaves from step to step; ``get``
    rebuilds the ``TrainState`` only when someone reads it (a callback, the epoch end).

    >>> import jax.numpy as jnp
    >>> live = LiveState({"w": jnp.zeros(2)})
    >>> step = FlatStep(lambda s, h, x: {"w": s["w"] + x}, jax.tree_util.tree_structure(()))
    >>> live.run(step, [], jnp.ones(2)); live.run(step, [], jnp.ones(2))
    >>> live.get()["w"].tolist()
    [2.0, 2.0]
    """

    __slots__ = ("_state", "_leaves", "_treedef")

    def __init__(self, state=None):
        self._state = state
        self._leaves = None
        self._treedef = None

    def get(self):
        if self._leaves is not None:
            self._state = jax.tree_util.tree_unflatten(self._treedef, self._leaves)
            self._leaves = None
        return self._state

    def set(self, state) -> None:
        self._state = state
        self._leaves = None

    def run(self, step: FlatStep, hyper_leaves: list, *args) -> None:
        """One compiled call: the state's leaves in, the new leaves kept (the state is donated)."""
        if self._leaves is None:
            self._leaves, self._treedef = jax.tree_util.tree_flatten(self._state)
            self._state = None
        self._leaves = step(self._treedef, self._leaves, hyper_leaves, *args)

    def lower(self, step: FlatStep, hyper_leaves: list, *args):
        """The lowered step for the current state (nothing runs, nothing is donated)."""
        leaves, treedef = jax.tree_util.tree_flatten(self.get())
        return step.lower(treedef, leaves, hyper_leaves, *args)
