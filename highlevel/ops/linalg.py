"""Keras's ``keras.ops.linalg`` over ``jax.numpy.linalg`` and ``jax.scipy.linalg``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "lstsq", "lu_factor", "matrix_rank", "norm",
           "pinv", "qr", "solve", "solve_triangular", "svd", "jvp"]


def cholesky(x, upper=False):
    """The Cholesky factor of a symmetric positive-definite matrix (lower, or upper with ``upper=True``).

    Args:
        x: Input tensor.
        upper: Whether to return the upper factor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]))).round(4)
    array([[2.    , 0.    ],
           [1.    , 1.4142]], dtype=float32)
    """
    c = jnp.linalg.cholesky(x)
    return jnp.swapaxes(c, -1, -2).conj() if upper else c


def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` from its Cholesky factor (``A = L L^T``).

    Args:
        x: The Cholesky factor.
        upper: Whether ``x`` is the upper factor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cholesky_inverse(ops.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]])))).round(4)
    array([[ 0.375, -0.25 ],
           [-0.25 ,  0.5  ]], dtype=float32)
    """
    x = jnp.asarray(x)
    factor = jnp.swapaxes(x, -1, -2).conj() if upper else x
    identity = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    inv_factor = jax.scipy.linalg.solve_triangular(factor, identity, lower=True)
    return jnp.swapaxes(inv_factor, -1, -2).conj() @ inv_factor


def det(x):
    """The determinant of a square matrix (or a batch of them).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.det(np.array([[4.0, 2.0], [2.0, 3.0]]))
    Array(8., dtype=float32)
    """
    return jnp.linalg.det(x)


def eig(x):
    """The eigenvalues and eigenvectors of a square matrix (complex; CPU only in JAX).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.eig(np.array([[2.0, 0.0], [0.0, 3.0]]))
    EigResult(eigenvalues=Array([2.+0.j, 3.+0.j], dtype=complex64), eigenvectors=Array([[1.+0.j, 0.+0.j],
           [0.+0.j, 1.+0.j]], dtype=complex64))
    """
    return jnp.linalg.eig(x)


def eigh(x):
    """The eigenvalues (ascending) and eigenvectors of a symmetric matrix.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.eigh(np.array([[2.0, 0.0], [0.0, 3.0]]))
    EighResult(eigenvalues=Array([2., 3.], dtype=float32), eigenvectors=Array([[1., 0.],
           [0., 1.]], dtype=float32))
    """
    return jnp.linalg.eigh(x)


def inv(x):
    """The inverse of a square matrix.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.inv(np.array([[4.0, 2.0], [2.0, 3.0]]))
    Array([[ 0.375, -0.25 ],
           [-0.25 ,  0.5  ]], dtype=float32)
    """
    return jnp.linalg.inv(x)


def lstsq(a, b, rcond=None):
    """The least-squares solution of ``a @ x = b``.

    Args:
        a: The ``(m, n)`` matrix.
        b: The ``(m,)`` or ``(m, k)`` right-hand side.
        rcond: The cut-off ratio for small singular values.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.lstsq(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), np.array([1.0, 4.0, 0.0]))
    Array([1., 2.], dtype=float32)
    """
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


def lu_factor(x):
    """The LU factorization of a square matrix: ``(lu, pivots)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.lu_factor(np.array([[4.0, 2.0], [2.0, 3.0]]))
    (Array([[4. , 2. ],
           [0.5, 2. ]], dtype=float32), Array([0, 1], dtype=int32))
    """
    return jax.scipy.linalg.lu_factor(x)


def matrix_rank(x, tol=None):
    """The rank of a matrix (from its singular values).

    Args:
        x: Input tensor.
        tol: The tolerance (None: the default of ``numpy``).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    Array(1, dtype=int32)
    """
    return jnp.linalg.matrix_rank(x, rtol=tol)


def norm(x, ord=None, axis=None, keepdims=False):
    """A vector or matrix norm (as ``numpy.linalg.norm``).

    Args:
        x: Input tensor.
        ord: The order of the norm (as ``numpy.linalg.norm``).
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.norm(np.array([3.0, 4.0]))
    Array(5., dtype=float32)
    """
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse of a matrix.

    Args:
        x: Input tensor.
        rcond: The cut-off ratio for small singular values.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.pinv(np.array([[2.0, 0.0], [0.0, 0.0]]))
    Array([[0.5, 0. ],
           [0. , 0. ]], dtype=float32)
    """
    return jnp.linalg.pinv(x) if rcond is None else jnp.linalg.pinv(x, rtol=rcond)


def qr(x, mode='reduced'):
    """The QR decomposition ``x = q @ r``: ``(q, r)``.

    Args:
        x: Input tensor.
        mode: "reduced" or "complete".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.qr(np.array([[1.0, 0.0], [0.0, 2.0]]))
    QRResult(Q=Array([[ 1.,  0.],
           [-0.,  1.]], dtype=float32), R=Array([[1., 0.],
           [0., 2.]], dtype=float32))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}.")
    return jnp.linalg.qr(x, mode=mode)


def solve(a, b):
    """The solution ``x`` of ``a @ x = b`` for a square ``a``.

    Args:
        a: A square matrix.
        b: The right-hand side.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.solve(np.array([[4.0, 2.0], [2.0, 3.0]]), np.array([6.0, 5.0]))
    Array([1., 1.], dtype=float32)
    """
    return jnp.linalg.solve(a, b)


def solve_triangular(a, b, lower=False):
    """The solution of ``a @ x = b`` for a triangular ``a``.

    Args:
        a: A triangular matrix.
        b: The right-hand side.
        lower: Whether ``a`` is lower triangular.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    Array([1., 2.], dtype=float32)
    """
    return jax.scipy.linalg.solve_triangular(a, b, lower=lower)


def svd(x, full_matrices=True, compute_uv=True):
    """The singular value decomposition: ``(u, s, vh)``, or the singular values alone.

    Args:
        x: Input tensor.
        full_matrices: Whether to return full-sized U and V.
        compute_uv: Whether to compute U and V as well as the singular values.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.svd(np.array([[3.0, 0.0], [0.0, 2.0]]), compute_uv=False)
    Array([3., 2.], dtype=float32)
    """
    return jnp.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)


def jvp(fun, primals, tangents, has_aux=False):
    """The function's value and its Jacobian-vector product: ``(outputs, tangent_outputs)`` (``jax.jvp``).

    Args:
        fun: The function.
        primals: Its arguments (a tuple).
        tangents: The tangent of each argument.
        has_aux: Whether ``fun`` returns ``(output, aux)``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.jvp(lambda v: v * v, (np.array(3.0),), (np.array(1.0),))
    (Array(9., dtype=float32), Array(6., dtype=float32))
    """
    return jax.jvp(fun, primals, tangents, has_aux=has_aux)

dispatch_namespace("linalg", globals(), __all__)   # calls on symbolic tensors become graph nodes
