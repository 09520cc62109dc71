"""Reading weights in a layer's compute dtype: the autocast scope (Keras's ``AutocastScope``).

A layer whose policy is mixed (float32 weights, bfloat16 or float16 computation) opens a
scope around its ``call``; inside it, its weights (``AutocastParam``, in
``highlevel/layers/autocast.py``) are read cast to the compute dtype, so that the gradient
flows back to the float32 weights through the cast. The scope is per thread and
exists only while a layer is called (at trace time inside a compiled step).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import jax.numpy as jnp

from highlevel.utils import global_state as _global_state

__all__ = ["autocast_scope", "autocast_dtype", "autocast", "is_low_precision"]


def _stack() -> list:
    return _global_state.global_attribute("autocast_stack", list)


def autocast_dtype() -> str | None:
    """The dtype weights are read in now (None outside any scope).

    >>> with autocast_scope("bfloat16"):
    ...     inside = autocast_dtype()
    >>> inside, autocast_dtype()
    ('bfloat16', None)
    """
    stack = _stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def autocast_scope(dtype: str | None) -> Iterator[None]:
    """Inside the block, autocast weights read as ``dtype`` (None: as stored).

    Args:
        dtype: The compute dtype, or None.

    >>> import jax.numpy as jnp
    >>> with autocast_scope("float16"):
    ...     print(autocast(jnp.ones(2)).dtype)
    float16
    """
    stack = _stack()
    stack.append(dtype)
    try:
        yield
    finally:
        stack.pop()


def is_low_precision(dtype) -> bool:
    """Whether ``dtype`` is a floating dtype narrower than 32 bits (float16, bfloat16).

    Args:
        dtype: A dtype or its name.

    >>> is_low_precision("bfloat16"), is_low_precision("float32"), is_low_precision("int8")
    (True, False, False)
    """
    return bool(jnp.issubdtype(dtype, jnp.floating)) and jnp.finfo(dtype).bits < 32


def autocast(value):
    """``value`` cast to the scope's dtype when it is a floating array of another dtype.

    Args:
        value: An array (or anything else, returned as is).

    >>> import jax.numpy as jnp
    >>> autocast(jnp.ones(2)).dtype   # outside a scope: unchanged
    dtype('float32')
    """
    dtype = autocast_dtype()
    if dtype is None or not hasattr(value, "dtype") or not jnp.issubdtype(value.dtype, jnp.floating):
        return value
    return value if value.dtype == jnp.dtype(dtype) else value.astype(dtype)
