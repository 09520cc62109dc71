"""Keras's ``keras.ops`` (numpy) that make tensors: constants, ranges, matrices, windows."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["array", "copy", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
           "arange", "linspace", "logspace", "geomspace", "eye", "identity", "tri", "tril", "triu", "diag",
           "diagflat", "diagonal", "trace", "vander", "meshgrid", "bartlett", "blackman", "hamming",
           "hanning", "kaiser"]


def _dtype(dtype):
    return None if dtype is None else jnp.dtype(getattr(dtype, "name", dtype))


def array(x, dtype=None):
    """A tensor from array-like data.

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.array([[1, 2], [3, 4]], dtype='float32')
    Array([[1., 2.],
           [3., 4.]], dtype=float32)
    """
    return jnp.array(x, dtype=_dtype(dtype))


def copy(x):
    """A copy of a tensor.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.copy(np.array([1, 2]))
    Array([1, 2], dtype=int32)
    """
    return jnp.array(x, copy=True)


def zeros(shape, dtype=None):
    """A tensor of zeros.

    Args:
        shape: The shape, a tuple of ints.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.zeros((2, 2))
    Array([[0., 0.],
           [0., 0.]], dtype=float32)
    """
    return jnp.zeros(shape, dtype=_dtype(dtype) or jnp.float32)


def ones(shape, dtype=None):
    """A tensor of ones.

    Args:
        shape: The shape, a tuple of ints.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.ones((2,))
    Array([1., 1.], dtype=float32)
    """
    return jnp.ones(shape, dtype=_dtype(dtype) or jnp.float32)


def empty(shape, dtype=None):
    """A tensor of ``shape`` (zeros: JAX has no uninitialized memory).

    Args:
        shape: The shape, a tuple of ints.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.empty((2,))
    Array([0., 0.], dtype=float32)
    """
    return jnp.zeros(shape, dtype=_dtype(dtype) or jnp.float32)


def full(shape, fill_value, dtype=None):
    """A tensor filled with ``fill_value``.

    Args:
        shape: The shape, a tuple of ints.
        fill_value: The value to fill with.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.full((2,), 7.0)
    Array([7., 7.], dtype=float32, weak_type=True)
    """
    return jnp.full(shape, fill_value, dtype=_dtype(dtype))


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape (and dtype).

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.zeros_like(np.array([1, 2]))
    Array([0, 0], dtype=int32)
    """
    return jnp.zeros_like(x, dtype=_dtype(dtype))


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape (and dtype).

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ones_like(np.array([1, 2]))
    Array([1, 1], dtype=int32)
    """
    return jnp.ones_like(x, dtype=_dtype(dtype))


def empty_like(x, dtype=None):
    """A tensor of ``x``'s shape (zeros).

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.empty_like(np.array([1, 2]))
    Array([0, 0], dtype=int32)
    """
    return jnp.zeros_like(x, dtype=_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    """``fill_value`` in ``x``'s shape (and dtype).

    Args:
        x: Input tensor.
        fill_value: The value to fill with.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.full_like(np.array([1, 2]), 5)
    Array([5, 5], dtype=int32)
    """
    return jnp.full_like(x, fill_value, dtype=_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``.

    Args:
        start: The first value (the end, when ``stop`` is None).
        stop: The end (excluded).
        step: The spacing.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.arange(1, 7, 2)
    Array([1, 3, 5], dtype=int32)
    """
    return jnp.arange(start, stop, step, dtype=_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Args:
        start: The start value.
        stop: The end value.
        num: The number of values.
        endpoint: Whether ``stop`` is included.
        retstep: Whether to return the step too.
        dtype: The result's dtype (None: inferred, as Keras).
        axis: Where the values go for array endpoints.

    >>> from highlevel import ops
    >>> ops.linspace(0.0, 1.0, 5)
    Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep, dtype=_dtype(dtype), axis=axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``.

    Args:
        start: The start value.
        stop: The end value.
        num: The number of values.
        endpoint: Whether ``stop`` is included.
        base: The base.
        dtype: The result's dtype (None: inferred, as Keras).
        axis: Where the values go for array endpoints.

    >>> from highlevel import ops
    >>> ops.logspace(0.0, 2.0, 3)
    Array([  1.,  10., 100.], dtype=float32)
    """
    return jnp.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=_dtype(dtype), axis=axis)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values spaced evenly on a log scale from ``start`` to ``stop``.

    Args:
        start: The start value.
        stop: The end value.
        num: The number of values.
        endpoint: Whether ``stop`` is included.
        dtype: The result's dtype (None: inferred, as Keras).
        axis: Where the values go for array endpoints.

    >>> from highlevel import ops
    >>> ops.geomspace(1.0, 100.0, 3)
    Array([  1.,  10., 100.], dtype=float32)
    """
    return jnp.geomspace(start, stop, num=num, endpoint=endpoint, dtype=_dtype(dtype), axis=axis)


def eye(N, M=None, k=0, dtype=None):
    """A matrix with ones on the ``k``-th diagonal.

    Args:
        N: The number of rows.
        M: The number of columns (None: ``N``).
        k: The diagonal offset (0: the main diagonal).
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.eye(2, 3)
    Array([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    return jnp.eye(N, M, k=k, dtype=_dtype(dtype) or jnp.float32)


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix.

    Args:
        n: The size.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.identity(2)
    Array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    return jnp.identity(n, dtype=_dtype(dtype) or jnp.float32)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal.

    Args:
        N: The number of rows.
        M: The number of columns (None: ``N``).
        k: The diagonal offset (0: the main diagonal).
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> ops.tri(3)
    Array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]], dtype=float32)
    """
    return jnp.tri(N, M, k=k, dtype=_dtype(dtype) or jnp.float32)


def tril(x, k=0):
    """``x`` with entries above the ``k``-th diagonal zeroed.

    Args:
        x: Input tensor.
        k: The diagonal offset (0: the main diagonal).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.tril(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[1., 0.],
           [3., 4.]], dtype=float32)
    """
    return jnp.tril(x, k=k)


def triu(x, k=0):
    """``x`` with entries below the ``k``-th diagonal zeroed.

    Args:
        x: Input tensor.
        k: The diagonal offset (0: the main diagonal).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.triu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[1., 2.],
           [0., 4.]], dtype=float32)
    """
    return jnp.triu(x, k=k)


def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with vector ``x`` on it.

    Args:
        x: Input tensor.
        k: The diagonal offset (0: the main diagonal).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.diag(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([1., 4.], dtype=float32)
    """
    return jnp.diag(x, k=k)


def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on the ``k``-th diagonal.

    Args:
        x: Input tensor.
        k: The diagonal offset (0: the main diagonal).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.diagflat(np.array([1, 2]))
    Array([[1, 0],
           [0, 2]], dtype=int32)
    """
    return jnp.diagflat(x, k=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal over two axes.

    Args:
        x: Input tensor.
        offset: The diagonal offset.
        axis1: The first axis.
        axis2: The second axis.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([1., 4.], dtype=float32)
    """
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the diagonal over two axes.

    Args:
        x: Input tensor.
        offset: The diagonal offset.
        axis1: The first axis.
        axis2: The second axis.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.trace(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(5., dtype=float32)
    """
    return jnp.trace(x, offset=offset, axis1=axis1, axis2=axis2)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of ``x``.

    Args:
        x: Input tensor.
        N: The number of columns (None: ``len(x)``).
        increasing: Whether powers increase left to right.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.vander(np.array([1, 2, 3]), 3)
    Array([[1, 1, 1],
           [4, 2, 1],
           [9, 3, 1]], dtype=int32)
    """
    return jnp.vander(x, N=N, increasing=increasing)


def meshgrid(*x, indexing='xy'):
    """Coordinate grids from coordinate vectors.

    Args:
        *x: The coordinate vectors.
        indexing: "xy" (Cartesian) or "ij" (matrix).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.meshgrid(np.array([1, 2]), np.array([3, 4, 5]))
    [Array([[1, 2],
           [1, 2],
           [1, 2]], dtype=int32), Array([[3, 3],
           [4, 4],
           [5, 5]], dtype=int32)]
    """
    return jnp.meshgrid(*x, indexing=indexing)


def bartlett(x):
    """The Bartlett window of ``x`` points.

    Args:
        x: The number of points.

    >>> from highlevel import ops
    >>> ops.bartlett(5)
    Array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    return jnp.bartlett(x)


def blackman(x):
    """The Blackman window of ``x`` points.

    Args:
        x: The number of points.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.blackman(3)).round(4)
    array([-0.,  1., -0.], dtype=float32)
    """
    return jnp.blackman(x)


def hamming(x):
    """The Hamming window of ``x`` points.

    Args:
        x: The number of points.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hamming(3)).round(4)
    array([0.08, 1.  , 0.08], dtype=float32)
    """
    return jnp.hamming(x)


def hanning(x):
    """The Hann window of ``x`` points.

    Args:
        x: The number of points.

    >>> from highlevel import ops
    >>> ops.hanning(3)
    Array([0., 1., 0.], dtype=float32)
    """
    return jnp.hanning(x)


def kaiser(x, beta):
    """The Kaiser window of ``x`` points.

    Args:
        x: The number of points.
        beta: The shape parameter.

    >>> from highlevel import ops
    >>> ops.kaiser(3, 0.0)
    Array([1., 1., 1.], dtype=float32)
    """
    return jnp.kaiser(x, beta)
