"""Keras's ``keras.ops`` (numpy) that reshape, join, split and pad tensors."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to", "tile",
           "repeat", "flip", "fliplr", "flipud", "rot90", "roll", "concatenate", "stack", "hstack", "vstack",
           "dstack", "append", "split", "array_split", "hsplit", "vsplit", "dsplit", "pad", "size", "ndim",
           "view"]


def _dtype(dtype):
    return None if dtype is None else jnp.dtype(getattr(dtype, "name", dtype))


def reshape(x, newshape):
    """``x`` with a new shape.

    Args:
        x: Input tensor.
        newshape: The new shape (one entry may be -1).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.reshape(np.arange(6).reshape(2, 3), (3, -1))
    array([[0, 1],
           [2, 3],
           [4, 5]])
    """
    return jnp.reshape(x, newshape)


def ravel(x):
    """``x`` flattened to 1-D.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ravel(np.arange(6).reshape(2, 3))
    Array([0, 1, 2, 3, 4, 5], dtype=int32)
    """
    return jnp.ravel(x)


def transpose(x, axes=None):
    """``x`` with its axes permuted (reversed by default).

    Args:
        x: Input tensor.
        axes: The permutation (None: reversed).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.transpose(np.arange(6).reshape(2, 3))
    Array([[0, 3],
           [1, 4],
           [2, 5]], dtype=int32)
    """
    return jnp.transpose(x, axes)


def swapaxes(x, axis1, axis2):
    """``x`` with two axes exchanged.

    Args:
        x: Input tensor.
        axis1: The first axis.
        axis2: The second axis.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.swapaxes(np.arange(6).reshape(2, 3), 0, 1)
    Array([[0, 3],
           [1, 4],
           [2, 5]], dtype=int32)
    """
    return jnp.swapaxes(x, axis1, axis2)


def moveaxis(x, source, destination):
    """``x`` with axes moved to new positions.

    Args:
        x: Input tensor.
        source: The axes to move.
        destination: Where they go.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    return jnp.moveaxis(x, source, destination)


def expand_dims(x, axis):
    """``x`` with a new axis of size 1.

    Args:
        x: Input tensor.
        axis: Where the new axis (or axes) go.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.expand_dims(np.array([1, 2]), 0)
    Array([[1, 2]], dtype=int32)
    """
    return jnp.expand_dims(x, axis)


def squeeze(x, axis=None):
    """``x`` without its axes of size 1.

    Args:
        x: Input tensor.
        axis: The axis (or axes) to remove (None: every axis of size 1).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.squeeze(np.zeros((1, 2, 1))).shape
    (2,)
    """
    return jnp.squeeze(x, axis)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``.

    Args:
        x: Input tensor.
        shape: The shape, a tuple of ints.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.broadcast_to(np.array([1, 2]), (2, 2))
    Array([[1, 2],
           [1, 2]], dtype=int32)
    """
    return jnp.broadcast_to(x, shape)


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis.

    Args:
        x: Input tensor.
        repeats: The number of repetitions.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.tile(np.array([1, 2]), 2)
    Array([1, 2, 1, 2], dtype=int32)
    """
    return jnp.tile(x, repeats)


def repeat(x, repeats, axis=None):
    """Each entry repeated ``repeats`` times along ``axis``.

    Args:
        x: Input tensor.
        repeats: The number of repetitions.
        axis: The axis (None: flattened).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.repeat(np.array([1, 2]), 2)
    Array([1, 1, 2, 2], dtype=int32)
    """
    return jnp.repeat(x, repeats, axis=axis)


def flip(x, axis=None):
    """``x`` reversed along ``axis`` (None: all).

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.flip(np.array([1, 2, 3]))
    Array([3, 2, 1], dtype=int32)
    """
    return jnp.flip(x, axis=axis)


def fliplr(x):
    """``x`` reversed along axis 1.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fliplr(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[2., 1.],
           [4., 3.]], dtype=float32)
    """
    return jnp.fliplr(x)


def flipud(x):
    """``x`` reversed along axis 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.flipud(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[3., 4.],
           [1., 2.]], dtype=float32)
    """
    return jnp.flipud(x)


def rot90(array, k=1, axes=(0, 1)):
    """``array`` rotated by 90 degrees ``k`` times in the plane of ``axes``.

    Args:
        array: Input tensor.
        k: The number of quarter turns.
        axes: The plane of the rotation.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rot90(np.array([[1.0, 2.0], [3.0, 4.0]]))
    Array([[2., 4.],
           [1., 3.]], dtype=float32)
    """
    return jnp.rot90(array, k=k, axes=tuple(axes))


def roll(x, shift, axis=None):
    """``x`` shifted cyclically by ``shift`` along ``axis``.

    Args:
        x: Input tensor.
        shift: The number of places to shift.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.roll(np.array([1, 2, 3]), 1)
    Array([3, 1, 2], dtype=int32)
    """
    return jnp.roll(x, shift, axis=axis)


def concatenate(xs, axis=0):
    """Tensors joined along an existing axis.

    Args:
        xs: A sequence of tensors.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.concatenate([np.array([1, 2]), np.array([3])])
    Array([1, 2, 3], dtype=int32)
    """
    return jnp.concatenate(list(xs), axis=axis)


def stack(x, axis=0):
    """Tensors of one shape joined along a new axis.

    Args:
        x: A sequence of tensors of one shape.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.stack([np.array([1, 2]), np.array([3, 4])])
    Array([[1, 2],
           [3, 4]], dtype=int32)
    """
    return jnp.stack(list(x), axis=axis)


def hstack(xs):
    """Tensors joined along axis 1 (axis 0 for 1-D).

    Args:
        xs: A sequence of tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.hstack([np.array([1]), np.array([2, 3])])
    Array([1, 2, 3], dtype=int32)
    """
    return jnp.hstack(list(xs))


def vstack(xs):
    """Tensors joined along axis 0 (as rows).

    Args:
        xs: A sequence of tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.vstack([np.array([1, 2]), np.array([3, 4])])
    Array([[1, 2],
           [3, 4]], dtype=int32)
    """
    return jnp.vstack(list(xs))


def dstack(xs):
    """Tensors joined along axis 2.

    Args:
        xs: A sequence of tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.dstack([np.array([1, 2]), np.array([3, 4])]).shape
    (1, 2, 2)
    """
    return jnp.dstack(list(xs))


def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` (flattened when ``axis`` is None).

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.append(np.array([1, 2]), np.array([3]))
    Array([1, 2, 3], dtype=int32)
    """
    return jnp.append(x1, x2, axis=axis)


def split(x, indices_or_sections, axis=0):
    """``x`` split into parts along ``axis``.

    Args:
        x: Input tensor.
        indices_or_sections: Number of equal parts, or the indices where to split.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.split(np.arange(4), 2)
    [Array([0, 1], dtype=int32), Array([2, 3], dtype=int32)]
    """
    return jnp.split(x, indices_or_sections, axis=axis)


def array_split(x, indices_or_sections, axis=0):
    """``x`` split into parts of near-equal size.

    Args:
        x: Input tensor.
        indices_or_sections: Number of equal parts, or the indices where to split.
        axis: Axis (or axes) to operate along; None for all.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.array_split(np.arange(5), 2)
    [Array([0, 1, 2], dtype=int32), Array([3, 4], dtype=int32)]
    """
    return jnp.array_split(x, indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections):
    """``x`` split along axis 1 (axis 0 for 1-D).

    Args:
        x: Input tensor.
        indices_or_sections: Number of equal parts, or the indices where to split.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.hsplit(np.arange(4), 2)
    [Array([0, 1], dtype=int32), Array([2, 3], dtype=int32)]
    """
    return jnp.hsplit(x, indices_or_sections)


def vsplit(x, indices_or_sections):
    """``x`` split along axis 0.

    Args:
        x: Input tensor.
        indices_or_sections: Number of equal parts, or the indices where to split.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.vsplit(np.array([[1.0, 2.0], [3.0, 4.0]]), 2)
    [Array([[1., 2.]], dtype=float32), Array([[3., 4.]], dtype=float32)]
    """
    return jnp.vsplit(x, indices_or_sections)


def dsplit(x, indices_or_sections):
    """``x`` split along axis 2.

    Args:
        x: Input tensor.
        indices_or_sections: Number of equal parts, or the indices where to split.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.dsplit(np.zeros((1, 1, 4)), 2)[0].shape
    (1, 1, 2)
    """
    return jnp.dsplit(x, indices_or_sections)


def pad(x, pad_width, mode='constant', constant_values=None):
    """``x`` padded on each axis.

    Args:
        x: Input tensor.
        pad_width: The padding of each axis: ``((before, after), ...)``.
        mode: "constant", "edge", "reflect", "symmetric", "wrap", ... (as ``numpy.pad``).
        constant_values: The padding value (None: 0).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.pad(np.array([1, 2]), ((1, 2),))
    Array([0, 1, 2, 0, 0], dtype=int32)
    """
    if mode == "constant":
        return jnp.pad(x, pad_width, mode="constant", constant_values=0 if constant_values is None else constant_values)
    if constant_values is not None:
        raise ValueError(f"pad: constant_values applies only to mode='constant', got mode={mode!r}.")
    return jnp.pad(x, pad_width, mode=mode)


def size(x):
    """The number of entries of a tensor.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.size(np.zeros((2, 3)))
    6
    """
    return int(jnp.size(x))


def ndim(x):
    """The number of axes of a tensor.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ndim(np.zeros((2, 3)))
    2
    """
    return int(jnp.ndim(x))


def view(x, dtype=None):
    """``x``'s bytes read as ``dtype``.

    Args:
        x: Input tensor.
        dtype: The dtype to read the bytes as (None: unchanged).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.view(np.array([1.0], 'float32'), 'int32')
    Array([1065353216], dtype=int32)
    """
    return jnp.asarray(x).view(_dtype(dtype))
