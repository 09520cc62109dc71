"""Global seeding, as ``keras.utils.set_random_seed``.

Weight initialization and calls outside ``fit`` draw keys from one global seed
generator: the same seed and the same construction order give the same weights,
bit for bit. Inside a compiled step, keys come from the train state instead.
The global generator is kept per thread (``utils/global_state.py``) and reset to
unseeded by ``hl.utils.clear_session()``; ``use_generator`` lends another stream
for a block (an ``Ensemble`` member's own seed).
"""

from __future__ import annotations

import contextlib
import random as _py_random
from typing import Iterator

import jax
import numpy as np

from highlevel.utils import global_state

__all__ = ["SeedGenerator", "global_generator", "use_generator", "set_random_seed", "next_key",
           "seed_from_global", "host_key", "split_key", "set_step_key_source", "step_key"]


def _key_data_shape() -> tuple:
    """The raw data shape of the default key implementation's keys (traced, not run)."""
    impl = jax.config.jax_default_prng_impl
    shapes = global_state.global_attribute("key_data_shapes", dict)
    if impl not in shapes:
        shapes[impl] = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0))).shape
    return shapes[impl]


def host_key(seed: int) -> jax.Array:
    """``jax.random.key(seed)``, made on the host: equal to it, and nothing compiles.

    (``jax.random.key`` compiles its seeding function once per process, about 40 ms.)

    >>> import jax
    >>> from highlevel.utils.random import host_key
    >>> bool((jax.random.key_data(host_key(7)) == jax.random.key_data(jax.random.key(7))).all())
    True
    """
    seed = int(seed)
    if jax.config.jax_default_prng_impl != "threefry2x32" or not 0 <= seed < 2**32:
        return jax.random.key(seed)  # (seeds outside 32 bits are converted as jax's x64 setting says)
    return jax.random.wrap_key_data(np.array([0, seed], np.uint32))


def split_key(key, num: int = 2) -> list:
    """``num`` keys derived from ``key``: ``jax.random.split`` under a trace; for a concrete
    key, made on the host from its data (``SeedSequence([*data, i])``), so nothing compiles.

    >>> import jax
    >>> from highlevel.utils.random import split_key
    >>> a, b = split_key(jax.random.key(0))
    >>> bool((jax.random.key_data(a) != jax.random.key_data(b)).any())
    True
    """
    if isinstance(key, jax.core.Tracer):
        return list(jax.random.split(key, num))
    data = [int(v) for v in np.asarray(jax.random.key_data(key)).ravel()]
    shape = _key_data_shape()
    impl = jax.random.key_impl(key)
    return [jax.random.wrap_key_data(np.random.SeedSequence([*data, i]).generate_state(
        int(np.prod(shape)), np.uint32).reshape(shape), impl=impl) for i in range(num)]


class SeedGenerator:
    """A stream of keys: key ``n`` is made on the host from ``SeedSequence([seed, n])``.

    The global generator is one of these (``global_generator()``); ``set_random_seed``
    replaces it, ``use_generator`` swaps another in for a block.

    Args:
      seed: a non-negative integer.

    >>> import jax
    >>> a, b = SeedGenerator(5), SeedGenerator(5)
    >>> bool((jax.random.key_data(a.next()) == jax.random.key_data(b.next())).all()), a.count
    (True, 1)
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.count = 0  # the keys (and seeds) drawn so far: the position in the stream

    def next(self) -> jax.Array:
        """The next key of the stream."""
        shape = _key_data_shape()
        words = np.random.SeedSequence([self.seed, self.count]).generate_state(int(np.prod(shape)), np.uint32)
        self.count += 1
        return jax.random.wrap_key_data(words.reshape(shape))

    def next_seed(self) -> int:
        """The next integer seed of the stream (for a train state's key); nothing compiles."""
        count = self.count
        self.count += 1
        return int(np.random.SeedSequence([self.seed, count]).generate_state(1)[0] % (2**31 - 1))

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed}, count={self.count})"


_GENERATOR = "global_seed_generator"  # its name in the thread's global state


def set_random_seed(seed: int) -> None:
    """Seeds Python's ``random``, NumPy and highlevel's key generator.

    highlevel's generator (weight initialization, random layers called outside ``fit``)
    is kept per thread: this seeds the calling thread's.

    Args:
      seed: a non-negative integer.

    >>> import highlevel as hl
    >>> hl.utils.set_random_seed(0)
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer, got {seed!r}.")
    _py_random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    global_state.set_global_attribute(_GENERATOR, SeedGenerator(int(seed)))


def global_generator() -> SeedGenerator:
    """This thread's global seed generator (seeded by ``set_random_seed``).

    Unseeded, as in Keras, until ``set_random_seed`` is called (and again after
    ``hl.utils.clear_session()``): then it starts from a fresh seed.

    >>> set_random_seed(3)
    >>> global_generator().seed
    3
    """
    gen = global_state.get_global_attribute(_GENERATOR)
    if gen is None:
        gen = SeedGenerator(int(np.random.SeedSequence().entropy % (2**31)))
        global_state.set_global_attribute(_GENERATOR, gen)
    return gen


@contextlib.contextmanager
def use_generator(generator: SeedGenerator) -> Iterator[SeedGenerator]:
    """Makes ``generator`` this thread's global generator for the block, then puts the previous back.

    Everything that draws from the global generator inside (weight initialization, a
    train state's seed) draws from ``generator`` and advances it; the global stream is
    left where it was.

    Args:
      generator: the ``SeedGenerator`` to draw from.

    >>> set_random_seed(0)
    >>> mine = SeedGenerator(7)
    >>> with use_generator(mine):
    ...     _ = next_key()
    >>> mine.count, global_generator().seed
    (1, 0)
    """
    if not isinstance(generator, SeedGenerator):
        raise TypeError(f"use_generator expects a hl.utils.random.SeedGenerator, got {type(generator).__name__}.")
    saved = global_state.get_global_attribute(_GENERATOR)
    global_state.set_global_attribute(_GENERATOR, generator)
    try:
        yield generator
    finally:
        global_state.set_global_attribute(_GENERATOR, saved)


def next_key() -> jax.Array:
    """The next key of the global generator."""
    return global_generator().next()


def seed_from_global() -> int:
    """An integer seed drawn from the global generator (for the train state's key).

    Derived on the host with NumPy from the generator's seed and position, so drawing
    it compiles nothing.
    """
    return global_generator().next_seed()


# The layers' call context owns the step's key; it lives two rows up the import table, so it
# lends a function here (``highlevel/layers/_context.py`` sets it when it is imported) rather than
# this module reaching up for it.
_STEP_KEY_SOURCE = None


def set_step_key_source(source) -> None:
    """Lends ``source() -> key | None``: a fresh key from the running forward pass, or None outside one."""
    global _STEP_KEY_SOURCE
    _STEP_KEY_SOURCE = source


def step_key():
    """A fresh key of the compiled step running now (a layer's ``call`` inside ``fit``), else None.

    >>> step_key() is None   # outside any forward pass
    True
    """
    return None if _STEP_KEY_SOURCE is None else _STEP_KEY_SOURCE()
