"""The train state: one immutable pytree carried from compiled step to compiled step.

Between compiled calls the trainer keeps it in a ``LiveState`` (``training/live.py``): as its
flat list of leaves while a loop runs steps, as a ``TrainState`` whenever anyone reads it.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Callable

import jax
import numpy as np
from flax import struct

__all__ = ["TrainState", "FlatStep", "paused_gc", "key_positions", "wrap_keys", "unwrap_keys"]


@struct.dataclass
class TrainState:
    """Everything a train step reads and writes (an immutable pytree: ``create``, ``replace``).

    Attributes:
      step: the number of optimizer steps taken (int32 scalar).
      params: the trainable weights (an ``nnx.State``).
      non_trainable: every other variable of the model except hyperparameters:
        moving statistics, frozen weights, random-stream state of wrapped modules.
      opt_state: the optax state (with ``hyperparams["learning_rate"]``).
      rng: the random key, split once per step.
      metrics: the on-device accumulators of the training metrics.

    >>> import jax, jax.numpy as jnp
    >>> state = TrainState.create(params={"w": jnp.zeros(2)}, non_trainable={}, opt_state=(),
    ...                           rng=jax.random.key(0), metrics=())
    >>> int(state.replace(step=state.step + 1).step)
    1
    """

    step: jax.Array
    params: Any
    non_trainable: Any
    opt_state: Any
    rng: jax.Array
    metrics: Any

    @classmethod
    def create(cls, *, params, non_trainable, opt_state, rng, metrics, step=None) -> "TrainState":
        step = jax.device_put(np.zeros((), np.int32)) if step is None else step
        return cls(step=step, params=params,
                   non_trainable=non_trainable, opt_state=opt_state, rng=rng, metrics=metrics)


@contextlib.contextmanager
def paused_gc():
    """Python's cyclic garbage collector off for the block (tracing and compiling a step).

    Tracing allocates many short-lived objects; with a large model and its libraries in
    memory, the full collections this sets off took about 0.1 s of the tiny model's 0.15 s
    trace. Reference counting still frees everything acyclic meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        self._keys: tuple = ()
        self._jitted = None
        self._by_treedef: dict = {}
        self._compiled: set = set()

    def _jit_for(self, treedef, keys: tuple = ()):
        if self._treedef is treedef and self._keys == keys:
            return self._jitted
        jitted = self._by_treedef.get((treedef, keys))
        if jitted is None:
            jitted = jax.jit(self._flat_fn(treedef, keys), donate_argnums=0 if self.donate else ())
            self._by_treedef[(treedef, keys)] = jitted
        self._treedef, self._keys, self._jitted = treedef, keys, jitted
        return jitted

    def _flat_fn(self, treedef, keys: tuple):
        step, hyper_treedef = self.step, self.hyper_treedef

        def flat(leaves, hyper_leaves, *args):
            leaves = wrap_keys(leaves, keys)
            state = jax.tree_util.tree_unflatten(treedef, leaves)
            hyper = jax.tree_util.tree_unflatten(hyper_treedef, hyper_leaves)
            new_leaves, new_treedef = jax.tree_util.tree_flatten(step(state, hyper, *args))
            if new_treedef != treedef:
                raise TypeError(f"The step changed the structure of its state: {treedef} became {new_treedef}.")
            return unwrap_keys(new_leaves, keys)

        flat.__name__ = getattr(step, "__name__", "step")
        return flat

    def __call__(self, treedef, leaves: list, hyper_leaves: list, *args, keys: tuple = ()) -> list:
        jitted = self._jit_for(treedef, keys)
        if jitted in self._compiled:
            return jitted(leaves, hyper_leaves, *args)
        with paused_gc():  # the first call traces and compiles
            out = jitted(leaves, hyper_leaves, *args)
        self._compiled.add(jitted)
        return out

    def lower(self, treedef, leaves: list, hyper_leaves: list, *args, keys: tuple = ()):
        """``jax.stages.Lowered`` for these arguments (arrays or ``jax.ShapeDtypeStruct``s)."""
        return self._jit_for(treedef, keys).lower(leaves, hyper_leaves, *args)

    def trace(self, treedef, leaves: list, hyper_leaves: list, *args, keys: tuple = ()):
        """``jax.stages.Traced`` (its ``.jaxpr``) for these arguments; the trace is jit's cached one."""
        return self._jit_for(treedef, keys).trace(leaves, hyper_leaves, *args)


def key_positions(leaves: list) -> tuple:
    """``((index, impl), ...)`` of the typed random keys among ``leaves``.

    A typed key returned by a compiled function is rebuilt as a ``PRNGKeyArray`` in Python
    (about 14 us a step on CPU, a tenth of the tiny model's step); passed between steps as
    its raw ``uint32`` data, and wrapped again inside the trace, it costs nothing.
    """
    return tuple((i, jax.random.key_impl(leaf)) for i, leaf in enumerate(leaves)
                 if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key))


def unwrap_keys(leaves: list, keys: tuple) -> list:
    """``leaves`` with the typed keys at ``keys``'s positions replaced by their raw data."""
    if not keys:
        return leaves
    leaves = list(leaves)
    for i, _ in keys:
        leaves[i] = jax.random.key_data(leaves[i])
    return leaves


def wrap_keys(leaves: list, keys: tuple) -> list:
    """The inverse of ``unwrap_keys``."""
    if not keys:
        return leaves
    leaves = list(leaves)
    for i, impl in keys:
        leaves[i] = jax.random.wrap_key_data(leaves[i], impl=impl)
    return leaves
