"""Keras's element-wise ``keras.ops`` (numpy) of two tensors: arithmetic, comparisons, logic, bits."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "floor_divide", "mod", "fmod",
           "power", "maximum", "minimum", "fmax", "fmin", "arctan2", "hypot", "logaddexp", "logaddexp2",
           "heaviside", "nextafter", "ldexp", "gcd", "lcm", "equal", "not_equal", "greater", "greater_equal",
           "less", "less_equal", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_left_shift", "left_shift", "bitwise_right_shift", "right_shift",
           "isclose", "allclose", "where"]


def _float(x):
    """``x`` as a float array (integers and booleans become float32, as Keras's float ops do)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def add(x1, x2):
    """``x1 + x2``, element-wise (broadcasting).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.add(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([ 3.,  6., 12.], dtype=float32)
    """
    return jnp.add(x1, x2)


def subtract(x1, x2):
    """``x1 - x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.subtract(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([-1.,  2.,  6.], dtype=float32)
    """
    return jnp.subtract(x1, x2)


def multiply(x1, x2):
    """``x1 * x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.multiply(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([ 2.,  8., 27.], dtype=float32)
    """
    return jnp.multiply(x1, x2)


def divide(x1, x2):
    """``x1 / x2``, element-wise (true division).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.divide(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([0.5, 2. , 3. ], dtype=float32)
    """
    return jnp.true_divide(x1, x2)


def true_divide(x1, x2):
    """``x1 / x2``, element-wise (the same as ``divide``).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.true_divide(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([0.5, 2. , 3. ], dtype=float32)
    """
    return jnp.true_divide(x1, x2)


def divide_no_nan(x1, x2):
    """``x1 / x2``, with 0 where ``x2`` is 0.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.divide_no_nan(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    Array([0. , 0.5], dtype=float32)
    """
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.true_divide(x1, safe))


def floor_divide(x1, x2):
    """``x1 // x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.floor_divide(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([0., 2., 3.], dtype=float32)
    """
    return jnp.floor_divide(x1, x2)


def mod(x1, x2):
    """The remainder of ``x1 / x2`` with the sign of ``x2``.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.mod(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([1., 0., 0.], dtype=float32)
    """
    return jnp.mod(x1, x2)


def fmod(x1, x2):
    """The remainder of ``x1 / x2`` with the sign of ``x1``.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fmod(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([1., 0., 0.], dtype=float32)
    """
    return jnp.fmod(x1, x2)


def power(x1, x2):
    """``x1 ** x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.power(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([  1.,  16., 729.], dtype=float32)
    """
    return jnp.power(x1, x2)


def maximum(x1, x2):
    """The larger of each pair of entries.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.maximum(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([2., 4., 9.], dtype=float32)
    """
    return jnp.maximum(x1, x2)


def minimum(x1, x2):
    """The smaller of each pair of entries.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.minimum(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([1., 2., 3.], dtype=float32)
    """
    return jnp.minimum(x1, x2)


def fmax(x1, x2):
    """The larger of each pair, ignoring NaNs.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fmax(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([2., 4., 9.], dtype=float32)
    """
    return jnp.fmax(x1, x2)


def fmin(x1, x2):
    """The smaller of each pair, ignoring NaNs.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fmin(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))
    Array([1., 2., 3.], dtype=float32)
    """
    return jnp.fmin(x1, x2)


def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``, in radians.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctan2(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([0.4636, 1.1071, 1.249 ], dtype=float32)
    """
    return jnp.arctan2(_float(x1), _float(x2))


def hypot(x1, x2):
    """``sqrt(x1^2 + x2^2)``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hypot(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.2361, 4.4721, 9.4868], dtype=float32)
    """
    return jnp.hypot(_float(x1), _float(x2))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))``, computed stably.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logaddexp(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.3133, 4.1269, 9.0025], dtype=float32)
    """
    return jnp.logaddexp(_float(x1), _float(x2))


def logaddexp2(x1, x2):
    """``log2(2^x1 + 2^x2)``, computed stably.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logaddexp2(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.585 , 4.3219, 9.0224], dtype=float32)
    """
    return jnp.logaddexp2(_float(x1), _float(x2))


def heaviside(x1, x2):
    """The step function: 0 below 0, 1 above, ``x2`` at 0.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.heaviside(np.array([-1.0, 0.0, 2.0]), 0.5)
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    return jnp.heaviside(x1, x2)


def nextafter(x1, x2):
    """The next float after ``x1`` towards ``x2``.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.nextafter(np.float32(1.0), np.float32(2.0))).round(4)
    np.float32(1.0)
    """
    return jnp.nextafter(_float(x1), _float(x2))


def ldexp(x1, x2):
    """``x1 * 2 ** x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ldexp(np.array([1.0, 3.0]), np.array([2, 1]))
    Array([4., 6.], dtype=float32)
    """
    return jnp.ldexp(x1, x2 if jnp.issubdtype(jnp.asarray(x2).dtype, jnp.integer) else jnp.asarray(x2).astype(jnp.int32))


def gcd(x1, x2):
    """The greatest common divisor, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.gcd(np.array([12, 10]), np.array([8, 4]))
    Array([4, 2], dtype=int32)
    """
    return jnp.gcd(x1, x2)


def lcm(x1, x2):
    """The least common multiple, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.lcm(np.array([12, 10]), np.array([8, 4]))
    Array([24, 20], dtype=int32)
    """
    return jnp.lcm(x1, x2)


def equal(x1, x2):
    """``x1 == x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.equal(np.array([1, 2]), np.array([1, 3]))
    Array([ True, False], dtype=bool)
    """
    return jnp.equal(x1, x2)


def not_equal(x1, x2):
    """``x1 != x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.not_equal(np.array([1, 2]), np.array([1, 3]))
    Array([False,  True], dtype=bool)
    """
    return jnp.not_equal(x1, x2)


def greater(x1, x2):
    """``x1 > x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.greater(np.array([1, 4]), np.array([2, 3]))
    Array([False,  True], dtype=bool)
    """
    return jnp.greater(x1, x2)


def greater_equal(x1, x2):
    """``x1 >= x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.greater_equal(np.array([1, 4]), np.array([2, 4]))
    Array([False,  True], dtype=bool)
    """
    return jnp.greater_equal(x1, x2)


def less(x1, x2):
    """``x1 < x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.less(np.array([1, 4]), np.array([2, 3]))
    Array([ True, False], dtype=bool)
    """
    return jnp.less(x1, x2)


def less_equal(x1, x2):
    """``x1 <= x2``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.less_equal(np.array([1, 4]), np.array([2, 4]))
    Array([ True,  True], dtype=bool)
    """
    return jnp.less_equal(x1, x2)


def logical_and(x1, x2):
    """Logical AND, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.logical_and(np.array([True, True]), np.array([True, False]))
    Array([ True, False], dtype=bool)
    """
    return jnp.logical_and(x1, x2)


def logical_or(x1, x2):
    """Logical OR, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.logical_or(np.array([True, False]), np.array([False, False]))
    Array([ True, False], dtype=bool)
    """
    return jnp.logical_or(x1, x2)


def logical_xor(x1, x2):
    """Logical XOR, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.logical_xor(np.array([True, True]), np.array([True, False]))
    Array([False,  True], dtype=bool)
    """
    return jnp.logical_xor(x1, x2)


def bitwise_and(x, y):
    """Bitwise AND, element-wise.

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_and(np.array([12], 'int32'), np.array([10], 'int32'))
    Array([8], dtype=int32)
    """
    return jnp.bitwise_and(x, y)


def bitwise_or(x, y):
    """Bitwise OR, element-wise.

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_or(np.array([12], 'int32'), np.array([10], 'int32'))
    Array([14], dtype=int32)
    """
    return jnp.bitwise_or(x, y)


def bitwise_xor(x, y):
    """Bitwise XOR, element-wise.

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_xor(np.array([12], 'int32'), np.array([10], 'int32'))
    Array([6], dtype=int32)
    """
    return jnp.bitwise_xor(x, y)


def bitwise_left_shift(x, y):
    """``x << y``, element-wise.

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_left_shift(np.array([1], 'int32'), np.array([3], 'int32'))
    Array([8], dtype=int32)
    """
    return jnp.left_shift(x, y)


def left_shift(x, y):
    """``x << y``, element-wise (the same as ``bitwise_left_shift``).

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.left_shift(np.array([1], 'int32'), np.array([3], 'int32'))
    Array([8], dtype=int32)
    """
    return jnp.left_shift(x, y)


def bitwise_right_shift(x, y):
    """``x >> y``, element-wise.

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bitwise_right_shift(np.array([8], 'int32'), np.array([2], 'int32'))
    Array([2], dtype=int32)
    """
    return jnp.right_shift(x, y)


def right_shift(x, y):
    """``x >> y``, element-wise (the same as ``bitwise_right_shift``).

    Args:
        x: Input tensor.
        y: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.right_shift(np.array([8], 'int32'), np.array([2], 'int32'))
    Array([2], dtype=int32)
    """
    return jnp.right_shift(x, y)


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether entries are equal within a tolerance.

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
        equal_nan: Whether NaNs compare equal.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.isclose(np.array([1.0, 1.1]), np.array([1.0, 1.0]))
    Array([ True, False], dtype=bool)
    """
    return jnp.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether all entries are equal within a tolerance.

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        rtol: Relative tolerance.
        atol: Absolute tolerance.
        equal_nan: Whether NaNs compare equal.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.allclose(np.array([1.0, 1.0]), np.array([1.0, 1.0 + 1e-9]))
    Array(True, dtype=bool)
    """
    return jnp.allclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2`` (or, with neither, the indices where it holds).

    Args:
        condition: A boolean tensor.
        x1: The values where the condition holds.
        x2: The values elsewhere.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.where(np.array([True, False]), np.array([1, 2]), np.array([10, 20]))
    Array([ 1, 20], dtype=int32)
    """
    if (x1 is None) != (x2 is None):
        raise ValueError("where: pass both x1 and x2, or neither (then the indices where condition holds).")
    if x1 is None:
        return jnp.nonzero(condition)
    return jnp.where(condition, x1, x2)
