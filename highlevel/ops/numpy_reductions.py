"""Keras's ``keras.ops`` (numpy) reductions and statistics."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import builtins

__all__ = ["sum", "prod", "mean", "median", "var", "std", "max", "min", "amax", "amin", "ptp", "all", "any", "argmax",
           "argmin", "count_nonzero", "average", "cumsum", "cumprod", "nancumsum", "nancumprod", "nansum",
           "nanprod", "nanmean", "nanmedian", "nanvar", "nanstd", "nanmax", "nanmin", "nanargmax",
           "nanargmin", "quantile", "percentile", "nanquantile", "nanpercentile", "histogram", "bincount"]


def _float(x):
    """``x`` as a float array (integers and booleans become float32, as Keras's float ops do)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _mean_dtype(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


builtins_max = builtins.max


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


def nancumsum(x, axis=None, dtype=None):
    """The cumulative sum, NaNs counted as 0.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nancumsum(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([[1., 1., 4.],
           [4., 6., 6.]], dtype=float32)
    """
    return jnp.nancumsum(x, axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """The cumulative product, NaNs counted as 1.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nancumprod(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([[1., 1., 3.],
           [4., 8., 8.]], dtype=float32)
    """
    return jnp.nancumprod(x, axis=axis, dtype=dtype)


def nansum(x, axis=None, keepdims=False):
    """The sum over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nansum(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([4., 6.], dtype=float32)
    """
    return jnp.nansum(x, axis=_axis(axis), keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """The product over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanprod(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([3., 8.], dtype=float32)
    """
    return jnp.nanprod(x, axis=_axis(axis), keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanmean(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([2., 3.], dtype=float32)
    """
    return jnp.nanmean(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """The median over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanmedian(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([2., 3.], dtype=float32)
    """
    return jnp.nanmedian(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def nanvar(x, axis=None, keepdims=False):
    """The variance over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanvar(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([1., 1.], dtype=float32)
    """
    return jnp.nanvar(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def nanstd(x, axis=None, keepdims=False):
    """The standard deviation over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanstd(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([1., 1.], dtype=float32)
    """
    return jnp.nanstd(_mean_dtype(x), axis=_axis(axis), keepdims=keepdims)


def nanmax(x, axis=None, keepdims=False):
    """The maximum over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanmax(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([3., 4.], dtype=float32)
    """
    return jnp.nanmax(x, axis=_axis(axis), keepdims=keepdims)


def nanmin(x, axis=None, keepdims=False):
    """The minimum over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanmin(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([1., 2.], dtype=float32)
    """
    return jnp.nanmin(x, axis=_axis(axis), keepdims=keepdims)


def nanargmax(x, axis=None, keepdims=False):
    """The index of the largest entry along ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanargmax(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([2, 0], dtype=int32)
    """
    return jnp.nanargmax(x, axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """The index of the smallest entry along ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanargmin(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), axis=1)
    Array([0, 1], dtype=int32)
    """
    return jnp.nanargmin(x, axis=axis, keepdims=keepdims)


def quantile(x, q, axis=None, method='linear', keepdims=False):
    """The ``q``-th quantile(s) over ``axis``.

    Args:
        x: Input tensor.
        q: The quantile(s), in [0, 1] (percentiles in [0, 100]).
        axis: Axis (or axes) to operate along; None for all.
        method: How to interpolate between data points ("linear", "lower", "higher", "midpoint", "nearest").
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.quantile(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), 0.5, axis=1)
    Array([3., 4.], dtype=float32)
    """
    return jnp.quantile(_mean_dtype(x), jnp.asarray(q), axis=_axis(axis), method=method, keepdims=keepdims)


def percentile(x, q, axis=None, method='linear', keepdims=False):
    """The ``q``-th percentile(s) over ``axis``.

    Args:
        x: Input tensor.
        q: The quantile(s), in [0, 1] (percentiles in [0, 100]).
        axis: Axis (or axes) to operate along; None for all.
        method: How to interpolate between data points ("linear", "lower", "higher", "midpoint", "nearest").
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.percentile(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), 50, axis=1)
    Array([3., 4.], dtype=float32)
    """
    return jnp.percentile(_mean_dtype(x), jnp.asarray(q), axis=_axis(axis), method=method, keepdims=keepdims)


def nanquantile(x, q, axis=None, method='linear', keepdims=False):
    """The ``q``-th quantile(s) over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        q: The quantile(s), in [0, 1] (percentiles in [0, 100]).
        axis: Axis (or axes) to operate along; None for all.
        method: How to interpolate between data points ("linear", "lower", "higher", "midpoint", "nearest").
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanquantile(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), 0.5, axis=1)
    Array([2., 3.], dtype=float32)
    """
    return jnp.nanquantile(_mean_dtype(x), jnp.asarray(q), axis=_axis(axis), method=method, keepdims=keepdims)


def nanpercentile(x, q, axis=None, method='linear', keepdims=False):
    """The ``q``-th percentile(s) over ``axis``, ignoring NaNs.

    Args:
        x: Input tensor.
        q: The quantile(s), in [0, 1] (percentiles in [0, 100]).
        axis: Axis (or axes) to operate along; None for all.
        method: How to interpolate between data points ("linear", "lower", "higher", "midpoint", "nearest").
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.nanpercentile(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, np.nan]]), 50, axis=1)
    Array([2., 3.], dtype=float32)
    """
    return jnp.nanpercentile(_mean_dtype(x), jnp.asarray(q), axis=_axis(axis), method=method, keepdims=keepdims)


def histogram(x, bins=10, range=None):
    """A histogram: the counts and the bin edges.

    Args:
        x: Input tensor.
        bins: The number of bins (or the edges).
        range: The ``(low, high)`` range (None: the data's).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.histogram(np.array([0.0, 0.2, 0.9, 1.0]), bins=2)
    (Array([2., 2.], dtype=float32), Array([0. , 0.5, 1. ], dtype=float32))
    """
    return jnp.histogram(x, bins=bins, range=range)


def bincount(x, weights=None, minlength=0, sparse=False):
    """The count (or summed weights) of each non-negative integer value (eager: the length depends on the data).

    Args:
        x: Input tensor.
        weights: Weights, as ``x``'s shape or broadcastable (None: equal).
        minlength: The least length of the result.
        sparse: Accepted for Keras compatibility; only ``False`` is supported (JAX has no sparse tensors here).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.bincount(np.array([0, 1, 1, 3]))
    Array([1, 2, 0, 1], dtype=int32)
    """
    if sparse:
        raise ValueError("bincount(sparse=True): JAX has no sparse tensors here; use sparse=False.")
    x = jnp.asarray(x)
    length = builtins_max(int(jnp.max(x)) + 1 if x.size else 0, int(minlength))
    if x.ndim == 2:
        w = None if weights is None else jnp.asarray(weights)
        rows = [jnp.bincount(x[i], None if w is None else w[i], length=length) for i in range(x.shape[0])]
        return jnp.stack(rows)
    return jnp.bincount(x, weights, length=length)
