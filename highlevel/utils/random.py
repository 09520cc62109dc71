"""Global seeding, as ``keras.utils.set_random_seed``.

Weight initialization and calls outside ``fit`` draw keys from one global seed
generator: the same seed and the same construction order give the same weights,
bit for bit. Inside a compiled step, keys come from the train state instead.
"""

from __future__ import annotations

import contextlib
import random as _py_random

import jax
import numpy as np

__all__ = ["set_random_seed", "next_key", "seed_from_global", "host_key", "split_key", "SeedGenerator",
           "use_generator"]


_KEY_SHAPES: dict = {}


def _key_data_shape() -> tuple:
    """The raw data shape of the default key implementation's keys (traced, not run)."""
    impl = jax.config.jax_default_prng_impl
    if impl not in _KEY_SHAPES:
        _KEY_SHAPES[impl] = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0))).shape
    return _KEY_SHAPES[impl]


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
    """Hands out keys for n = 0, 1, 2, ..., made on the host from ``SeedSequence([seed, n])``."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._count = 0

    def next(self) -> jax.Array:
        shape = _key_data_shape()
        words = np.random.SeedSequence([self.seed, self._count]).generate_state(int(np.prod(shape)), np.uint32)
        self._count += 1
        return jax.random.wrap_key_data(words.reshape(shape))


_GLOBAL: SeedGenerator | None = None


def set_random_seed(seed: int) -> None:
    """Seeds Python's ``random``, NumPy and highlevel's key generator.

    Args:
      seed: a non-negative integer.

    >>> import highlevel as hl
    >>> hl.utils.set_random_seed(0)
    """
    global _GLOBAL
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer, got {seed!r}.")
    _py_random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    _GLOBAL = SeedGenerator(int(seed))


def _generator() -> SeedGenerator:
    global _GLOBAL
    if _GLOBAL is None:
        # Unseeded, as in Keras: a fresh seed per process.
        _GLOBAL = SeedGenerator(int(np.random.SeedSequence().entropy % (2**31)))
    return _GLOBAL


@contextlib.contextmanager
def use_generator(generator: SeedGenerator):
    """Makes ``generator`` the global seed generator inside the block (then restores the previous one)."""
    global _GLOBAL
    saved = _GLOBAL
    _GLOBAL = generator
    try:
        yield generator
    finally:
        _GLOBAL = saved


def next_key() -> jax.Array:
    """The next key of the global generator."""
    return _generator().next()


def seed_from_global() -> int:
    """An integer seed drawn from the global generator (for the train state's key).

    Derived on the host with NumPy from the generator's seed and position, so drawing
    it compiles nothing.
    """
    gen = _generator()
    count = gen._count
    gen._count += 1
    return int(np.random.SeedSequence([gen.seed, count]).generate_state(1)[0] % (2**31 - 1))
