"""Keras's element-wise ``keras.ops`` (numpy) of one tensor: absolute value and sign, powers and roots,
rounding, complex parts, clipping (exponentials and trigonometry are in ``numpy_transcendental.py``)."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _float

__all__ = ["abs", "absolute", "fabs", "negative", "sign", "signbit", "square", "sqrt", "cbrt", "reciprocal", "ceil",
           "floor", "trunc", "round", "real", "imag", "conj", "conjugate", "angle", "nan_to_num", "clip"]


def abs(x):
    """The absolute value, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.abs(np.array([-1.5, 0.0, 2.0]))
    Array([1.5, 0. , 2. ], dtype=float32)
    """
    return jnp.abs(x)


def absolute(x):
    """The absolute value, element-wise (the same as ``abs``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.absolute(np.array([-1.5, 0.0, 2.0]))
    Array([1.5, 0. , 2. ], dtype=float32)
    """
    return jnp.abs(x)


def fabs(x):
    """The absolute value as floats, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fabs(np.array([-1.5, 0.0, 2.0]))
    Array([1.5, 0. , 2. ], dtype=float32)
    """
    return jnp.abs(_float(x))


def negative(x):
    """``-x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.negative(np.array([-1.5, 0.0, 2.0]))
    Array([ 1.5, -0. , -2. ], dtype=float32)
    """
    return jnp.negative(x)


def sign(x):
    """-1, 0 or 1 by the sign of each entry.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.sign(np.array([-1.5, 0.0, 2.0]))
    Array([-1.,  0.,  1.], dtype=float32)
    """
    return jnp.sign(x)


def signbit(x):
    """Whether the sign bit is set (True for negatives and -0.0).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.signbit(np.array([-1.5, 0.0, 2.0]))
    Array([ True, False, False], dtype=bool)
    """
    return jnp.signbit(x)


def square(x):
    """``x * x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.square(np.array([-1.5, 0.0, 2.0]))
    Array([2.25, 0.  , 4.  ], dtype=float32)
    """
    return jnp.square(x)


def sqrt(x):
    """The square root, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sqrt(np.array([0.5, 1.0, 4.0]))).round(4)
    array([0.7071, 1.    , 2.    ], dtype=float32)
    """
    return jnp.sqrt(_float(x))


def cbrt(x):
    """The cube root, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cbrt(np.array([-8.0, 1.0, 27.0]))
    Array([-2.,  1.,  3.], dtype=float32)
    """
    return jnp.cbrt(_float(x))


def reciprocal(x):
    """``1 / x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.reciprocal(np.array([0.5, 1.0, 4.0]))
    Array([2.  , 1.  , 0.25], dtype=float32)
    """
    return jnp.reciprocal(_float(x))


def ceil(x):
    """The smallest integer not below each entry (as floats).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ceil(np.array([-1.5, 0.0, 2.0]))
    Array([-1.,  0.,  2.], dtype=float32)
    """
    return jnp.ceil(_float(x))


def floor(x):
    """The largest integer not above each entry (as floats).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.floor(np.array([-1.5, 0.0, 2.0]))
    Array([-2.,  0.,  2.], dtype=float32)
    """
    return jnp.floor(_float(x))


def trunc(x):
    """Each entry rounded towards zero.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.trunc(np.array([-1.5, 0.0, 2.0]))
    Array([-1.,  0.,  2.], dtype=float32)
    """
    return jnp.trunc(x)


def round(x, decimals=0):
    """Rounds to ``decimals`` places (halves to even).

    Args:
        x: Input tensor.
        decimals: The number of decimals.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.round(np.array([0.5, 1.5, 2.675]), 2)).round(4)
    array([0.5 , 1.5 , 2.68], dtype=float32)
    """
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer) and decimals < 0:
        factor = 10.0 ** decimals
        return (jnp.round(x.astype(jnp.float32) * factor) / factor).astype(x.dtype)
    return jnp.round(x, decimals=decimals)


def real(x):
    """The real part, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.real(np.array([1 + 2j, 3 - 1j]))
    Array([1., 3.], dtype=float32)
    """
    return jnp.real(x)


def imag(x):
    """The imaginary part, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.imag(np.array([1 + 2j, 3 - 1j]))
    Array([ 2., -1.], dtype=float32)
    """
    return jnp.imag(x)


def conj(x):
    """The complex conjugate, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.conj(np.array([1 + 2j]))
    Array([1.-2.j], dtype=complex64)
    """
    return jnp.conj(x)


def conjugate(x):
    """The complex conjugate, element-wise (the same as ``conj``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.conjugate(np.array([1 + 2j]))
    Array([1.-2.j], dtype=complex64)
    """
    return jnp.conjugate(x)


def angle(x):
    """The argument of each complex entry, in radians.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.angle(np.array([1.0 + 1j, -1.0 + 0j]))).round(4)
    array([0.7854, 3.1416], dtype=float32)
    """
    return jnp.angle(x)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN and infinities with finite numbers.

    Args:
        x: Input tensor.
        nan: The value for NaN.
        posinf: The value for +inf (None: the largest float).
        neginf: The value for -inf (None: the most negative float).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0]), posinf=9.0, neginf=-9.0)
    Array([ 0.,  9., -9.,  1.], dtype=float32)
    """
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def clip(x, x_min, x_max):
    """Each entry limited to ``[x_min, x_max]``.

    Args:
        x: Input tensor.
        x_min: The lower bound.
        x_max: The upper bound.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.clip(np.array([-1.5, 0.0, 2.0]), -1.0, 1.0)
    Array([-1.,  0.,  1.], dtype=float32)
    """
    return jnp.clip(x, x_min, x_max)
