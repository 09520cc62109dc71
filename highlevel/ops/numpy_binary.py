"""Keras's element-wise ``keras.ops`` (numpy) arithmetic of two tensors, and ``where`` (comparisons are in
``numpy_comparison.py``, logic and bits in ``numpy_logic.py``)."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _float

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "floor_divide", "mod", "fmod",
           "power", "maximum", "minimum", "fmax", "fmin", "heaviside", "nextafter", "ldexp", "gcd", "lcm", "where"]


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
