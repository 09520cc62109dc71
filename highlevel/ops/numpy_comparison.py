"""Keras's element-wise ``keras.ops`` (numpy) comparisons and tests: equality and order of two tensors,
closeness, and whether entries are finite, infinite, NaN or real."""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "isclose", "allclose",
           "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal"]


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
