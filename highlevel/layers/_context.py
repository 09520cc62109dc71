"""The call context of a layer call: its training flag, the step's random key, the sample
mask and the losses added inside, kept per thread.

The trainer wraps each compiled forward pass in a ``call_context``; layers read it with
``current_context()``, ``next_rng_key()`` and ``sample_mask()``, and ``keep_mask`` draws a
dropout mask from such a key. What ``Layer.add_loss`` adds goes to the context, or, outside
any call, to a table of each layer's losses that ``Layer.losses`` reads.
``highlevel.layers.base`` re-exports the public names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.utils import global_state as _global_state
from highlevel.utils import random as _random


@dataclasses.dataclass
class _CallContext:
    training: bool
    rng: Any = None
    mask: Any = None
    counter: int = 0
    traced: bool = False   # a call under a jax transformation, made without a key
    # (layer, value) of each ``add_loss`` made during the calls inside, activity penalties included.
    losses: list = dataclasses.field(default_factory=list)
    # What the compiled step offers the calls inside (the compiled loss for a model's
    # default ``compute_loss``, ...), by name.
    extras: dict = dataclasses.field(default_factory=dict)

    def activity_loss(self):
        """The sum of the losses the layers added during this call (0.0 for none)."""
        return sum((v for _, v in self.losses), jnp.zeros((), jnp.float32))


def _context_stack() -> list[_CallContext]:
    # Per thread (utils/global_state.py): a forward pass traced in one thread never sees
    # another thread's training flag or key.
    return _global_state.global_attribute("call_context_stack", list)


@contextlib.contextmanager
def call_context(*, training: bool, rng=None, mask=None) -> Iterator[_CallContext]:
    """Sets the training flag, the step's random key and the sample mask for the calls inside.

    The trainer wraps each compiled forward pass in one; layers read it with
    ``current_context()``, ``next_rng_key()`` and ``sample_mask()``.
    """
    ctx = _CallContext(training=bool(training), rng=rng, mask=mask)
    stack = _context_stack()
    stack.append(ctx)
    try:
        yield ctx
    finally:
        stack.pop()


def _is_traced(inputs) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(inputs))


def current_context() -> _CallContext | None:
    """The innermost ``call_context`` of this thread, or None outside any."""
    stack = _context_stack()
    return stack[-1] if stack else None


def next_rng_key() -> jax.Array:
    """A fresh key: derived from the step's key inside a compiled step, else from the global seed."""
    ctx = current_context()
    if ctx is not None and ctx.rng is not None:
        key = jax.random.fold_in(ctx.rng, ctx.counter)
        ctx.counter += 1
        return key
    if ctx is not None and ctx.traced:
        # The global generator would hand the trace one fixed key: the same "random" mask at
        # every call of the compiled function.
        raise ValueError("A layer draws random numbers (training=True) inside jax.jit or another jax "
                         "transformation, but the call was given no key, so every call would reuse the "
                         "one drawn while tracing. Pass one: model(x, training=True, rng=key).")
    return _random.next_key()


def _step_key():
    """``next_rng_key()`` inside a keyed (or traced) forward pass, None outside: ``hl.random``'s draws
    with ``seed=None`` or a ``SeedGenerator`` follow the step's key there."""
    ctx = current_context()
    return next_rng_key() if ctx is not None and (ctx.rng is not None or ctx.traced) else None


_random.set_step_key_source(_step_key)


def keep_mask(key, rate, shape) -> jax.Array:
    """A boolean mask of ``shape``, each entry True with probability ``1 - rate`` (to 1/65536).

    Drawn as 16-bit uniform integers, two from each 32-bit random word: half the threefry
    hashing of ``jax.random.bernoulli`` (one word per entry), which was a fifth of the
    benchmark MLP's training step on a CPU (two 128x512 masks: 1.02 -> 0.54 ms).
    ``rate`` may be traced (a dropout schedule changes it without recompiling); rate 0 keeps
    everything, rate 1 nothing.

    >>> import jax
    >>> m = keep_mask(jax.random.key(0), 0.25, (400, 500))
    >>> m.shape, round(float(m.mean()), 2)
    ((400, 500), 0.75)
    """
    n = int(np.prod(shape, dtype=np.int64))
    words = jax.random.bits(key, ((n + 1) // 2,), jnp.uint32)
    halves = jax.lax.bitcast_convert_type(words, jnp.uint16).reshape(-1)[:n].reshape(shape)
    # Exact in float32 (integers below 2**24): P(u >= 65536 * rate) = 1 - ceil(65536 * rate) / 65536.
    return halves.astype(jnp.float32) >= jnp.asarray(rate, jnp.float32) * 65536.0


def sample_mask():
    """The ``[batch]`` float mask of real (1) and padding (0) rows, or None when all are real."""
    ctx = current_context()
    return None if ctx is None else ctx.mask


# The losses ``add_loss`` recorded in each layer's last call outside a trace (``layer.losses``).
_EAGER_LOSSES: "weakref.WeakKeyDictionary[Layer, list]" = weakref.WeakKeyDictionary()


def add_loss(layer, loss) -> None:
    """The body of ``Layer.add_loss``: ``loss`` goes to the current call's context, or, outside
    any call, to ``layer``'s losses until its next call."""
    for value in jax.tree_util.tree_leaves(loss):
        if not hasattr(value, "shape"):
            value = jnp.asarray(value, jnp.float32)
        ctx = current_context()
        if ctx is None:
            # Outside any call (Keras allows it in build): kept until the next call.
            _EAGER_LOSSES.setdefault(layer, []).append(jnp.sum(value))
        else:
            ctx.losses.append((layer, jnp.sum(value)))


def keep_eager_losses(outermost, collected: list) -> None:
    """After an outermost call outside a trace: the losses ``collected`` by its context replace
    those kept for ``outermost`` and its sublayers."""
    layers = outermost.flatten_layers()
    for layer in layers:
        _EAGER_LOSSES.pop(layer, None)
    for layer, value in collected:
        _EAGER_LOSSES.setdefault(layer, []).append(value)


def losses(owner) -> list:
    """The body of ``Layer.losses``: the ``add_loss`` values of ``owner`` and its sublayers, then
    their weights' regularization penalties, one per weight."""
    layers = owner.flatten_layers()
    ctx = current_context()
    if ctx is not None and ctx.losses:
        ids = {id(layer) for layer in layers}
        added = [value for layer, value in ctx.losses if id(layer) in ids]
    else:
        added = [value for layer in layers for value in _EAGER_LOSSES.get(layer, ())]
    # One penalty per regularized weight, as Keras 3's ``layer.losses`` lists them.
    added.extend(reg(getattr(layer, name).get_value())
                 for layer in layers for name, reg in layer._regularizers.items())
    return added
