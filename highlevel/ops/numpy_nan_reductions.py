"""Keras's ``keras.ops`` (numpy) reductions that ignore NaN: ``nansum``, ``nanmean``, ``nanmax``, ...,
their cumulative forms and arg-extremes."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _axis, _mean_dtype

__all__ = ["nancumsum", "nancumprod", "nansum", "nanprod", "nanmean", "nanmedian", "nanvar", "nanstd", "nanmax",
           "nanmin", "nanargmax", "nanargmin"]


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
