"""Keras's ``keras.ops`` (numpy) order statistics and counts: quantiles and percentiles (NaN-ignoring too),
histograms, bin counts."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _axis, _mean_dtype

__all__ = ["quantile", "percentile", "nanquantile", "nanpercentile", "histogram", "bincount"]


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
    length = max(int(jnp.max(x)) + 1 if x.size else 0, int(minlength))
    if x.ndim == 2:
        w = None if weights is None else jnp.asarray(weights)
        rows = [jnp.bincount(x[i], None if w is None else w[i], length=length) for i in range(x.shape[0])]
        return jnp.stack(rows)
    return jnp.bincount(x, weights, length=length)
