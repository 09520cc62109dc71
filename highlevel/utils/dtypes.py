"""Keras's dtype settings and helpers: ``floatx``, ``epsilon``, ``standardize_dtype``, ``result_type``...

``hl.backend`` exports them under Keras's ``keras.backend``/``keras.config`` names; they live
here, in the bottom row of DESIGN.md's table, so that the dtype policies
(``hl.mixed_precision``) can read ``floatx()``. Like Keras's, ``floatx`` and ``epsilon`` are
process-wide and survive ``clear_session``.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from highlevel.utils import global_state

__all__ = ["floatx", "set_floatx", "epsilon", "set_epsilon", "standardize_dtype", "result_type", "is_float_dtype",
           "is_int_dtype", "get_uid", "FLOATX_VALUES", "ALLOWED_DTYPES"]

#: The values ``set_floatx`` takes (Keras's).
FLOATX_VALUES = ("bfloat16", "float16", "float32", "float64")
#: The dtype names ``standardize_dtype`` returns (Keras's ``ALLOWED_DTYPES``).
ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                  "int64", "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128")

_floatx = "float32"
_epsilon = 1e-7


def floatx() -> str:
    """The default float dtype of layers' weights and of ``standardize_dtype(None)`` (``"float32"``).

    >>> floatx()
    'float32'
    """
    return _floatx


def set_floatx(value: str) -> None:
    """Sets the default float dtype: layers created afterwards without a ``dtype`` use it, as Keras's.

    A global mixed-precision policy (``hl.mixed_precision.set_global_policy``) takes
    precedence. ``"float64"`` needs JAX's 64-bit mode (``jax.config.update("jax_enable_x64", True)``).

    Args:
        value: ``"bfloat16"``, ``"float16"``, ``"float32"`` or ``"float64"``.

    >>> set_floatx("bfloat16"); floatx()
    'bfloat16'
    >>> set_floatx("float32")
    """
    global _floatx
    if value not in FLOATX_VALUES:
        raise ValueError(f"set_floatx takes one of {FLOATX_VALUES}, got {value!r}; for float16 compute with "
                         "float32 weights use hl.mixed_precision.set_global_policy('mixed_float16').")
    _floatx = str(value)


def epsilon() -> float:
    """Keras's fuzz factor (``1e-7``): a small number user code adds to avoid dividing by zero.

    >>> epsilon()
    1e-07
    """
    return _epsilon


def set_epsilon(value: float) -> None:
    """Sets the value ``epsilon()`` returns, as Keras's ``set_epsilon``.

    Code that calls ``epsilon()`` sees it; highlevel's own losses, metrics and constraints
    keep Keras's default 1e-7 (in Keras they read the setting).

    Args:
        value: a positive float.

    >>> set_epsilon(1e-5); epsilon()
    1e-05
    >>> set_epsilon(1e-7)
    """
    global _epsilon
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value > 0:
        raise ValueError(f"set_epsilon takes a positive float such as 1e-7, got {value!r}.")
    _epsilon = float(value)


_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32",
                  complex: "complex64"}


def standardize_dtype(dtype: Any) -> str:
    """A dtype's Keras name: ``np.float32``, ``jnp.int8``, ``"float32"``, ``float`` -> ``"float32"``...

    None gives ``floatx()``; Python's ``int`` is ``"int32"`` and ``float`` ``"float32"``, as Keras's.

    Args:
        dtype: a dtype, a dtype name, a Python type, or None.

    >>> import numpy as np
    >>> standardize_dtype(np.int8), standardize_dtype(None), standardize_dtype(int)
    ('int8', 'float32', 'int32')
    """
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:   # an unhashable value
        pass
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "jax.numpy" in str(dtype) or "torch" in str(dtype):
        dtype = str(dtype).split(".")[-1]
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"{dtype!r} is not a dtype highlevel knows; pass one of {ALLOWED_DTYPES} (or a NumPy/JAX "
                         "dtype of one).")
    return dtype


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating dtype (float16/32/64, bfloat16, float8).

    Args:
        dtype: anything ``standardize_dtype`` takes.

    >>> is_float_dtype("bfloat16"), is_float_dtype(int)
    (True, False)
    """
    name = standardize_dtype(dtype)
    return name.startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer dtype.

    Args:
        dtype: anything ``standardize_dtype`` takes.

    >>> is_int_dtype("uint8"), is_int_dtype("bool")
    (True, False)
    """
    return standardize_dtype(dtype).startswith(("int", "uint"))


_TO_32_BITS = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def result_type(*dtypes: Any) -> str:
    """The dtype of an operation on these dtypes, ``jnp.result_type``'s, as Keras's on JAX.

    Python's ``int``, ``float`` and ``complex`` are weak: they take the other operand's kind
    where it can hold them (``result_type("bfloat16", int) == "bfloat16"``); None is
    ``floatx()``; no dtype gives ``floatx()``. Without JAX's 64-bit mode 64-bit results
    are 32-bit (``result_type("int64", bool) == "int32"``), as Keras's on JAX.

    Args:
        *dtypes: dtypes, dtype names or Python types.

    >>> result_type("int32", "float32"), result_type("bfloat16", int), result_type("int8", "uint8")
    ('float32', 'bfloat16', 'int16')
    """
    import jax

    if not dtypes:
        return floatx()
    args = []
    for dtype in dtypes:
        if any(dtype is t for t in (int, float, complex, bool)):
            args.append(dtype)
            continue
        name = standardize_dtype(dtype)
        if name.startswith("float8"):
            raise ValueError(f"result_type does not promote float8 dtypes (got {dtypes}); cast them first.")
        if name == "string" and all(standardize_dtype(d) == "string" for d in dtypes):
            return "string"
        if name == "string":
            raise ValueError(f"result_type has no numeric promotion for 'string' (got {dtypes}).")
        args.append(np.dtype(name) if name != "bfloat16" else jax.numpy.dtype(name))
    with jax.enable_x64(True):   # the lattice on 64-bit types, which Keras folds to 32 bits afterwards
        name = standardize_dtype(jax.numpy.result_type(*args))
    if name == "float64" and all(any(a is t for t in (int, float, complex, bool)) for a in args):
        return floatx()   # Python numbers alone: the default float
    return name if jax.config.jax_enable_x64 else _TO_32_BITS.get(name, name)


def get_uid(prefix: str = "") -> int:
    """1, 2, 3...: how many times ``get_uid`` has been asked for ``prefix`` since ``clear_session``, as Keras's.

    Args:
        prefix: the counter's name.

    >>> import highlevel as hl
    >>> hl.utils.clear_session()
    >>> get_uid("dense"), get_uid("dense"), get_uid("conv")
    (1, 2, 1)
    """
    counts = global_state.global_attribute("uids", collections.Counter)
    counts[prefix] += 1
    return counts[prefix]
