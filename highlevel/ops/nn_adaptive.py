"""Keras's adaptive pooling (part of ``keras.ops.nn``): pool to a fixed output size, whatever the input size.

Output position ``i`` of an axis of length ``n`` pooled to ``out`` covers the input positions
``floor(i * n / out)`` to ``ceil((i + 1) * n / out)`` (PyTorch's and Keras's windows), so the
windows overlap or differ by one in size where ``out`` does not divide ``n``. As on Keras's JAX
backend, each axis is pooled in turn with the (at most two) window sizes it needs, and each
output picks its window's value: the same numbers as Keras, and a gradient through
``reduce_window``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["adaptive_average_pool", "adaptive_max_pool"]


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """The start (inclusive) and end (exclusive) input positions of each of ``out`` adaptive windows."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def normalize_output_size(output_size, rank: int, where: str) -> tuple[int, ...]:
    """``output_size`` as ``rank`` positive ints (an int means the same for every axis)."""
    if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
        sizes = (int(output_size),) * rank
    elif isinstance(output_size, (tuple, list)) and len(output_size) == rank and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in output_size):
        sizes = tuple(int(s) for s in output_size)
    else:
        raise TypeError(f"{where} `output_size` must be an int or a tuple of {rank} ints, got {output_size!r}.")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"{where} `output_size` must hold positive sizes, got {output_size!r}.")
    return sizes


def _lowest(dtype):
    # A Python scalar, not an array: reduce_window has a gradient only when it sees its init value as a constant.
    if jnp.issubdtype(dtype, jnp.floating):
        return -float("inf")
    return int(jnp.iinfo(dtype).min)


def _pool_axis(x, axis: int, out: int, mode: str):
    size = x.shape[axis]
    starts, ends = adaptive_windows(size, out)
    widths = sorted(set((ends - starts).tolist()))   # one or two sizes, consecutive
    pooled, offset, gather = [], 0, np.zeros(out, np.int32)
    for width in widths:
        window = [1] * x.ndim
        window[axis] = width
        ones = (1,) * x.ndim
        if mode == "max":
            part = lax.reduce_window(x, _lowest(x.dtype), lax.max, window, ones, "valid")
        else:
            part = lax.reduce_window(x, 0.0 if jnp.issubdtype(x.dtype, jnp.floating) else 0, lax.add, window, ones, "valid") / width
        picked = (ends - starts) == width
        gather[picked] = starts[picked] + offset
        offset += part.shape[axis]
        pooled.append(part)
    combined = pooled[0] if len(pooled) == 1 else jnp.concatenate(pooled, axis=axis)
    return jnp.take(combined, jnp.asarray(gather), axis=axis)


def _adaptive_pool(inputs, output_size, data_format, mode: str, name: str):
    x = jnp.asarray(inputs)
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{name} takes inputs with 1 to 3 spatial axes (rank 3 to 5), got shape {x.shape}.")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name} `data_format` must be 'channels_last' or 'channels_first', got {data_format!r}.")
    if mode == "average" and not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    sizes = normalize_output_size(output_size, rank, name)
    first = 2 if data_format == "channels_first" else 1
    for axis, out in enumerate(sizes, start=first):
        x = _pool_axis(x, axis, out, mode)
    return x


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed spatial size (1 to 3 spatial axes), as ``keras.ops.adaptive_average_pool``.

    Args:
        inputs: ``(batch, *spatial, channels)``, or ``(batch, channels, *spatial)`` with
            ``data_format="channels_first"``.
        output_size: the output's spatial size: an int (every axis) or one int per axis.
        data_format: ``"channels_last"`` (None means it) or ``"channels_first"``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.adaptive_average_pool(np.arange(5.0).reshape(1, 5, 1), 3)[0, :, 0]
    Array([0.5, 2. , 3.5], dtype=float32)
    """
    return _adaptive_pool(inputs, output_size, data_format, "average", "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed spatial size (1 to 3 spatial axes), as ``keras.ops.adaptive_max_pool``.

    Args:
        inputs: ``(batch, *spatial, channels)``, or ``(batch, channels, *spatial)`` with
            ``data_format="channels_first"``.
        output_size: the output's spatial size: an int (every axis) or one int per axis.
        data_format: ``"channels_last"`` (None means it) or ``"channels_first"``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.adaptive_max_pool(np.arange(5.0).reshape(1, 5, 1), 3)[0, :, 0]
    Array([1., 3., 4.], dtype=float32)
    """
    return _adaptive_pool(inputs, output_size, data_format, "max", "adaptive_max_pool")


dispatch_namespace("nn", globals(), __all__)   # calls on symbolic tensors become graph nodes
