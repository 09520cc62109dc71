"""Global seeding, as ``keras.utils.set_random_seed``.

Weight initialization and calls outside ``fit`` draw keys from one global seed
generator: the same seed and the same construction order give the same weights,
bit for bit. Inside a compiled step, keys come from the train state instead.
"""

from __future__ import annotations

import random as _py_random

import jax
import numpy as np

__all__ = ["set_random_seed", "next_key", "seed_from_global"]


class _SeedGenerator:
    """Hands out keys ``fold_in(key(seed), n)`` for n = 0, 1, 2, ..."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._key = jax.random.key(self.seed)
        self._count = 0

    def next(self) -> jax.Array:
        key = jax.random.fold_in(self._key, self._count)
        self._count += 1
        return key


_GLOBAL: _SeedGenerator | None = None


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
    _GLOBAL = _SeedGenerator(int(seed))


def _generator() -> _SeedGenerator:
    global _GLOBAL
    if _GLOBAL is None:
        # Unseeded, as in Keras: a fresh seed per process.
        _GLOBAL = _SeedGenerator(int(np.random.SeedSequence().entropy % (2**31)))
    return _GLOBAL


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
