"""The initializer base class and the host generator the random initializers draw from."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def host_rng(key) -> np.random.Generator:
    """A NumPy generator seeded by a concrete JAX key's data: the same key, the same draws."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


class Initializer:
    """Abstract base of the initializers: ``initializer(key, shape, dtype) -> array``.

    Subclasses implement ``__call__(key, shape, dtype)`` and, when they take arguments,
    ``get_config()``; ``from_config`` calls the constructor with the config's keys.

    >>> import highlevel as hl, jax
    >>> class Twos(hl.initializers.Initializer):
    ...     def __call__(self, key, shape, dtype=jax.numpy.float32):
    ...         return jax.numpy.full(shape, 2.0, dtype)
    >>> print(Twos()(jax.random.key(0), (2,)))
    [2. 2.]
    """

    def __call__(self, key, shape, dtype=jnp.float32):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)
