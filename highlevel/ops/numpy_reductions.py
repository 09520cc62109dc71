"""Keras's ``keras.ops`` (numpy) reductions: sums, products, means and spreads, extremes and their
indices, counts, cumulative sums and products (the NaN-ignoring ones are in ``numpy_nan_reductions.py``)."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _axis, _mean_dtype

__all__ = ["sum", "prod", "mean", "median", "var", "std", "max", "min", "amax", "amin", "ptp", "all", "any",
           "argmax", "argmin", "count_nonzero", "average", "cumsum", "cumprod"]


def sum(x, axis=None, keepdims=False):
    """The sum over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.sum(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([ 9., 12.], dtype=float32)
    """
    return jnp.sum(x, axis=_axis(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.prod(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([15., 48.], dtype=float32)
    """
    return jnp.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (floats for integer input).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.mean(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([3., 4.], dtype=float32)
    """
    return jnp.mean(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def median(x, axis=None, keepdims=False):
    """The median over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.median(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([3., 4.], dtype=float32)
    """
    return jnp.median(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """The variance over ``axis`` (divided by N).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.var(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)).round(4)
    array([2.6667, 2.6667], dtype=float32)
    """
    return jnp.var(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """The standard deviation over ``axis`` (divided by N).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.std(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)).round(4)
    array([1.633, 1.633], dtype=float32)
    """
    return jnp.std(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    """The maximum over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.
        initial: The starting value of the reduction (None: none).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.max(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([5., 6.], dtype=float32)
    """
    return jnp.max(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x, axis=None, keepdims=False, initial=None):
    """The minimum over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.
        initial: The starting value of the reduction (None: none).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.min(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([1., 2.], dtype=float32)
    """
    return jnp.min(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


def amax(x, axis=None, keepdims=False):
    """The maximum over ``axis`` (the same as ``max``).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.amax(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([5., 6.], dtype=float32)
    """
    return jnp.max(x, axis=_axis(axis), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """The minimum over ``axis`` (the same as ``min``).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.amin(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([1., 2.], dtype=float32)
    """
    return jnp.min(x, axis=_axis(axis), keepdims=keepdims)


def ptp(x, axis=None, keepdims=False):
    """The range ``max - min`` over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ptp(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([4., 4.], dtype=float32)
    """
    return jnp.ptp(x, axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """Whether all entries along ``axis`` are true.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.all(np.array([[True, False], [True, True]]), axis=1)
    Array([False,  True], dtype=bool)
    """
    return jnp.all(x, axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """Whether any entry along ``axis`` is true.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.any(np.array([[True, False], [False, False]]), axis=1)
    Array([ True, False], dtype=bool)
    """
    return jnp.any(x, axis=_axis(axis), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    """The index of the largest entry along ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.argmax(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([1, 2], dtype=int32)
    """
    return jnp.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    """The index of the smallest entry along ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.argmin(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([0, 1], dtype=int32)
    """
    return jnp.argmin(x, axis=axis, keepdims=keepdims)


def count_nonzero(x, axis=None):
    """The number of nonzero entries along ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.count_nonzero(np.array([[0, 1, 2], [0, 0, 3]]), axis=1)
    Array([2, 1], dtype=int32)
    """
    return jnp.count_nonzero(x, axis=_axis(axis))


def average(x, axis=None, weights=None):
    """The (weighted) average over ``axis``.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        weights: Weights, as ``x``'s shape or broadcastable (None: equal).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.average(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1, weights=np.array([1.0, 0.0, 1.0]))
    Array([2., 5.], dtype=float32)
    """
    return jnp.average(_mean_dtype(x), axis=_axis(axis), weights=None if weights is None else jnp.asarray(weights))


def cumsum(x, axis=None, dtype=None):
    """The cumulative sum along ``axis`` (None: flattened).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cumsum(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([[ 1.,  6.,  9.],
           [ 4.,  6., 12.]], dtype=float32)
    """
    return jnp.cumsum(x, axis=axis, dtype=dtype)


def cumprod(x, axis=None, dtype=None):
    """The cumulative product along ``axis`` (None: flattened).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cumprod(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), axis=1)
    Array([[ 1.,  5., 15.],
           [ 4.,  8., 48.]], dtype=float32)
    """
    return jnp.cumprod(x, axis=axis, dtype=dtype)
