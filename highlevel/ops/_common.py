"""Private helpers that several ops families share: float coercions, axis arguments, Keras's epsilon."""

from __future__ import annotations

import jax.numpy as jnp

__all__: list[str] = []

_EPSILON = 1e-7   # keras.backend.epsilon()


def _float(x):
    """``x`` as a float array (integers and booleans become float32, as Keras's float ops do)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def _x(x):
    return jnp.asarray(x, jnp.result_type(float, x))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


_mean_dtype = _float   # the input of a mean, variance or quantile, as a float array
