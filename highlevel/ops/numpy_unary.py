"""Keras's element-wise ``keras.ops`` (numpy) of one tensor: math functions, tests, complex parts."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["abs", "absolute", "fabs", "negative", "sign", "signbit", "square", "sqrt", "cbrt", "reciprocal", "exp",
           "exp2", "expm1", "log", "log10", "log2", "log1p", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "i0",
           "ceil", "floor", "trunc", "round", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal",
           "real", "imag", "conj", "conjugate", "angle", "logical_not", "bitwise_not", "bitwise_invert",
           "nan_to_num", "clip"]


def _float(x):
    """``x`` as a float array (integers and booleans become float32, as Keras's float ops do)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


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


def exp(x):
    """``e ** x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.exp(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([0.2231, 1.    , 7.3891], dtype=float32)
    """
    return jnp.exp(_float(x))


def exp2(x):
    """``2 ** x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.exp2(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([0.3536, 1.    , 4.    ], dtype=float32)
    """
    return jnp.exp2(_float(x))


def expm1(x):
    """``exp(x) - 1``, accurate near 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.expm1(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.7769,  0.    ,  6.3891], dtype=float32)
    """
    return jnp.expm1(_float(x))


def log(x):
    """The natural logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log(np.array([0.5, 1.0, 4.0]))).round(4)
    array([-0.6931,  0.    ,  1.3863], dtype=float32)
    """
    return jnp.log(_float(x))


def log10(x):
    """The base-10 logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log10(np.array([0.5, 1.0, 4.0]))).round(4)
    array([-0.301 ,  0.    ,  0.6021], dtype=float32)
    """
    return jnp.log10(_float(x))


def log2(x):
    """The base-2 logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.log2(np.array([0.5, 1.0, 4.0]))
    Array([-1.,  0.,  2.], dtype=float32)
    """
    return jnp.log2(_float(x))


def log1p(x):
    """``log(1 + x)``, accurate near 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log1p(np.array([0.5, 1.0, 4.0]))).round(4)
    array([0.4055, 0.6931, 1.6094], dtype=float32)
    """
    return jnp.log1p(_float(x))


def sin(x):
    """The sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sin(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.9975,  0.    ,  0.9093], dtype=float32)
    """
    return jnp.sin(_float(x))


def cos(x):
    """The cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cos(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([ 0.0707,  1.    , -0.4161], dtype=float32)
    """
    return jnp.cos(_float(x))


def tan(x):
    """The tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.tan(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-14.1014,   0.    ,  -2.185 ], dtype=float32)
    """
    return jnp.tan(_float(x))


def arcsin(x):
    """The inverse sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arcsin(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([-0.5236,  0.    ,  0.5236], dtype=float32)
    """
    return jnp.arcsin(_float(x))


def arccos(x):
    """The inverse cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arccos(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([2.0944, 1.5708, 1.0472], dtype=float32)
    """
    return jnp.arccos(_float(x))


def arctan(x):
    """The inverse tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctan(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.9828,  0.    ,  1.1071], dtype=float32)
    """
    return jnp.arctan(_float(x))


def sinh(x):
    """The hyperbolic sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sinh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-2.1293,  0.    ,  3.6269], dtype=float32)
    """
    return jnp.sinh(_float(x))


def cosh(x):
    """The hyperbolic cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cosh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([2.3524, 1.    , 3.7622], dtype=float32)
    """
    return jnp.cosh(_float(x))


def arcsinh(x):
    """The inverse hyperbolic sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arcsinh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-1.1948,  0.    ,  1.4436], dtype=float32)
    """
    return jnp.arcsinh(_float(x))


def arccosh(x):
    """The inverse hyperbolic cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arccosh(np.array([1.0, 2.0, 3.0]))).round(4)
    array([0.    , 1.317 , 1.7627], dtype=float32)
    """
    return jnp.arccosh(_float(x))


def arctanh(x):
    """The inverse hyperbolic tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctanh(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([-0.5493,  0.    ,  0.5493], dtype=float32)
    """
    return jnp.arctanh(_float(x))


def deg2rad(x):
    """Degrees to radians.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.deg2rad(np.array([0.0, 90.0, 180.0]))).round(4)
    array([0.    , 1.5708, 3.1416], dtype=float32)
    """
    return jnp.deg2rad(_float(x))


def rad2deg(x):
    """Radians to degrees.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rad2deg(np.array([0.0, np.pi / 2, np.pi]))
    Array([  0.,  90., 180.], dtype=float32)
    """
    return jnp.rad2deg(_float(x))


def sinc(x):
    """The normalized sinc, ``sin(pi x) / (pi x)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sinc(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.2122,  1.    ,  0.    ], dtype=float32)
    """
    return jnp.sinc(_float(x))


def i0(x):
    """The modified Bessel function of the first kind, order 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.i0(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([1.6467, 1.    , 2.2796], dtype=float32)
    """
    return jnp.i0(_float(x))


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


def isfinite(x):
    """Whether each entry is finite.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isfinite(np.array([1.0, np.inf, np.nan]))
    Array([ True, False, False], dtype=bool)
    """
    return jnp.isfinite(x)


def isinf(x):
    """Whether each entry is infinite.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isinf(np.array([1.0, np.inf, np.nan]))
    Array([False,  True, False], dtype=bool)
    """
    return jnp.isinf(x)


def isnan(x):
    """Whether each entry is NaN.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isnan(np.array([1.0, np.inf, np.nan]))
    Array([False, False,  True], dtype=bool)
    """
    return jnp.isnan(x)


def isneginf(x):
    """Whether each entry is -inf.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isneginf(np.array([-np.inf, np.inf, 0.0]))
    Array([ True, False, False], dtype=bool)
    """
    return jnp.isneginf(x)


def isposinf(x):
    """Whether each entry is +inf.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isposinf(np.array([-np.inf, np.inf, 0.0]))
    Array([False,  True, False], dtype=bool)
    """
    return jnp.isposinf(x)


def isreal(x):
    """Whether each entry has no imaginary part.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isreal(np.array([1 + 0j, 1j]))
    Array([ True, False], dtype=bool)
    """
    return jnp.isreal(x)


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


def logical_not(x):
    """Logical NOT, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.logical_not(np.array([True, False]))
    Array([False,  True], dtype=bool)
    """
    return jnp.logical_not(x)


def bitwise_not(x):
    """Bitwise NOT, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_not(np.array([0, 5], 'int32'))
    Array([-1, -6], dtype=int32)
    """
    return jnp.bitwise_not(x)


def bitwise_invert(x):
    """Bitwise NOT, element-wise (the same as ``bitwise_not``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_invert(np.array([0, 5], 'int32'))
    Array([-1, -6], dtype=int32)
    """
    return jnp.bitwise_invert(x)


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
