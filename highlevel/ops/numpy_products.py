"""Keras's ``keras.ops`` (numpy) products: dot, matmul, tensordot, einsum and friends."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["dot", "matmul", "vdot", "inner", "outer", "tensordot", "slogdet", "kron", "cross", "einsum", "vectorize"]


def _dtype(dtype):
    return None if dtype is None else jnp.dtype(getattr(dtype, "name", dtype))


def dot(x1, x2):
    """The dot product (matrix product for 2-D tensors).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float32)
    """
    return jnp.dot(x1, x2)


def matmul(x1, x2):
    """The matrix product (batched over leading axes).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.matmul(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[ 7., 10.],
           [15., 22.]], dtype=float32)
    """
    return jnp.matmul(x1, x2)


def vdot(x1, x2):
    """The dot product of the flattened tensors (conjugating the first).

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.vdot(np.array([1, 2]), np.array([3, 4]))
    Array(11, dtype=int32)
    """
    return jnp.vdot(x1, x2)


def inner(x1, x2):
    """The inner product over the last axes.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.inner(np.array([1, 2]), np.array([3, 4]))
    Array(11, dtype=int32)
    """
    return jnp.inner(x1, x2)


def outer(x1, x2):
    """The outer product of the flattened tensors.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.outer(np.array([1, 2]), np.array([3, 4]))
    Array([[3, 4],
           [6, 8]], dtype=int32)
    """
    return jnp.outer(x1, x2)


def tensordot(x1, x2, axes=2):
    """The tensor contraction over ``axes``.

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        axes: The number of trailing/leading axes to contract, or the two lists of axes.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.tensordot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), axes=1)
    Array([[ 7., 10.],
           [15., 22.]], dtype=float32)
    """
    return jnp.tensordot(x1, x2, axes=axes)


def slogdet(x):
    """The sign and the log of the absolute determinant: ``(sign, logabsdet)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> [np.asarray(v).round(4) for v in ops.slogdet(np.array([[2.0, 0.0], [0.0, -3.0]]))]
    [np.float32(-1.0), np.float32(1.7918)]
    """
    return jnp.linalg.slogdet(x)


def kron(x1, x2):
    """The Kronecker product.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.kron(np.eye(2), np.array([[1, 2]]))
    Array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]], dtype=float32)
    """
    return jnp.kron(x1, x2)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors.

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        axisa: The vector axis of ``x1``.
        axisb: The vector axis of ``x2``.
        axisc: The vector axis of the result.
        axis: One axis for all three (overrides the others).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cross(np.array([1, 0, 0]), np.array([0, 1, 0]))
    Array([0, 0, 1], dtype=int32)
    """
    return jnp.cross(x1, x2, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over the operands.

    Args:
        subscripts: The subscripts, e.g. ``"ij,jk->ik"``.
        *operands: The tensors.
        **kwargs: Passed to ``jnp.einsum``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.einsum('ij,j->i', np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, 1.0]))
    Array([3., 7.], dtype=float32)
    """
    return jnp.einsum(subscripts, *operands, **kwargs)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """A function vectorized over its arguments (``jnp.vectorize``).

    Args:
        pyfunc: The function.
        excluded: Arguments not vectorized.
        signature: A generalized ufunc signature, e.g. ``"(n)->()"``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.vectorize(lambda a, b: a + b)(np.array([1, 2]), 10)
    Array([11, 12], dtype=int32)
    """
    return jnp.vectorize(pyfunc, excluded=excluded if excluded is not None else frozenset(), signature=signature)
