"""Keras's element-wise ``keras.ops`` (numpy) logic and bit operations: logical and/or/xor/not, bitwise
and/or/xor/not, shifts."""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "bitwise_invert", "bitwise_left_shift", "left_shift", "bitwise_right_shift",
           "right_shift"]


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
