"""Keras 3's shrinkage, clipping, threshold and sparse activations (tanh_shrink, soft/hard shrink,
hard_tanh, threshold, sparse_plus, sparse_sigmoid, squareplus, sparsemax), on ``hl.ops``;
``hl.activations`` names them."""

from __future__ import annotations

from highlevel import ops

__all__ = ["tanh_shrink", "sparse_plus", "sparse_sigmoid", "squareplus", "soft_shrink", "hard_shrink",
           "sparsemax", "threshold", "hard_tanh"]


def tanh_shrink(x):
    """Tanh shrink: ``x - tanh(x)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.tanh_shrink(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.2384  0.      1.036 ]
    """
    return ops.tanh_shrink(x)


def sparse_plus(x):
    """SparsePlus: 0 below -1, ``(x + 1)**2 / 4`` between -1 and 1, ``x`` above 1.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.sparse_plus(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.   0.25 2.  ]
    """
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """Sparse sigmoid: 0 below -1, ``(x + 1) / 2`` between -1 and 1, 1 above 1.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.sparse_sigmoid(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.  0.5 1. ]
    """
    return ops.sparse_sigmoid(x)


def squareplus(x, b: float = 4):
    """Squareplus: ``(x + sqrt(x**2 + b)) / 2``.

    Args:
        x: Input array, any shape.
        b: The smoothness near 0 (non-negative; Keras's default, 4).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.squareplus(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.618  1.     2.4142]
    """
    return ops.squareplus(x, b=b)


def soft_shrink(x, threshold: float = 0.5):
    """Soft shrink: ``x`` moved towards 0 by ``threshold``, 0 within ``[-threshold, threshold]``.

    Args:
        x: Input array, any shape.
        threshold: The half-width of the zero band (Keras's default, 0.5).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.soft_shrink(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.5  0.   1.5]
    """
    return ops.soft_shrink(x, threshold=threshold)


def hard_shrink(x, threshold: float = 0.5):
    """Hard shrink: ``x`` where ``abs(x) > threshold``, else 0.

    Args:
        x: Input array, any shape.
        threshold: The half-width of the zero band (Keras's default, 0.5).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.hard_shrink(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-1.  0.  2.]
    """
    return ops.hard_shrink(x, threshold=threshold)


def sparsemax(x, axis: int = -1):
    """Sparsemax: the Euclidean projection of ``x`` onto the probability simplex along ``axis`` (a sparse softmax).

    Args:
        x: Input array, any shape.
        axis: The axis to normalise over (default: the last).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.sparsemax(jnp.array([1.0, 1.0, 0.0]))).round(4))
    [0.5 0.5 0. ]
    """
    return ops.sparsemax(x, axis=axis)


def threshold(x, threshold: float, default_value: float):
    """Threshold: ``x`` where ``x > threshold``, else ``default_value``.

    As in Keras, both arguments are required (``activation="threshold"`` alone cannot be called).

    Args:
        x: Input array, any shape.
        threshold: Values at or below it are replaced.
        default_value: What they are replaced with.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.threshold(jnp.array([-1.0, 0.0, 2.0]), 0.5, -3.0)).round(4))
    [-3. -3.  2.]
    """
    return ops.threshold(x, threshold, default_value)


def hard_tanh(x):
    """Hard tanh: ``x`` clipped to ``[-1, 1]``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.hard_tanh(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-1.  0.  1.]
    """
    return ops.hard_tanh(x)
