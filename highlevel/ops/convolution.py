"""Keras's convolutions and pooling (part of ``keras.ops.nn``) over ``jax.lax``."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool", "average_pool", "depth_to_space",
           "space_to_depth"]


def _last(data_format) -> bool:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    return data_format == "channels_last"


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _padding(padding) -> str:
    if str(padding).lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    return str(padding).upper()


def _numbers(n: int, last: bool):
    spatial = "DHW"[-n:] if n <= 3 else None
    if spatial is None:
        raise ValueError(f"Convolutions take 1 to 3 spatial dimensions, got {n}.")
    lhs = "N" + spatial + "C" if last else "NC" + spatial
    return (lhs, spatial + "IO", lhs)


def _window(value, n: int, last: bool) -> tuple:
    value = _tuple(value, n)
    return (1,) + value + (1,) if last else (1, 1) + value


def conv(inputs, kernel, strides=1, padding='valid', data_format=None, dilation_rate=1):
    """An N-D convolution (1 to 3 spatial axes) with Keras's kernel layout ``(*window, in / groups, out)``.

    Args:
        inputs: Input tensor.
        kernel: The convolution kernel, ``(*window, in, out)``.
        strides: The stride(s) of the window.
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: The dilation rate(s).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.conv(np.ones((1, 4, 1)), np.ones((2, 1, 1))).shape
    (1, 3, 1)
    """
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    n, last = inputs.ndim - 2, _last(data_format)
    channels = inputs.shape[-1] if last else inputs.shape[1]
    groups = channels // kernel.shape[-2]
    return jax.lax.conv_general_dilated(inputs, kernel.astype(inputs.dtype), _tuple(strides, n), _padding(padding),
                                        rhs_dilation=_tuple(dilation_rate, n), dimension_numbers=_numbers(n, last),
                                        feature_group_count=groups)


def depthwise_conv(inputs, kernel, strides=1, padding='valid', data_format=None, dilation_rate=1):
    """A depthwise convolution: each input channel convolved with its own ``(*window, channels, multiplier)`` kernel.

    Args:
        inputs: Input tensor.
        kernel: The convolution kernel, ``(*window, in, out)``.
        strides: The stride(s) of the window.
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: The dilation rate(s).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.depthwise_conv(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1))).shape
    (1, 2, 2, 2)
    """
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    n, last = inputs.ndim - 2, _last(data_format)
    channels = inputs.shape[-1] if last else inputs.shape[1]
    kernel = kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))
    return jax.lax.conv_general_dilated(inputs, kernel.astype(inputs.dtype), _tuple(strides, n), _padding(padding),
                                        rhs_dilation=_tuple(dilation_rate, n), dimension_numbers=_numbers(n, last),
                                        feature_group_count=channels)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding='valid', data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a pointwise (1x1) convolution.

    Args:
        inputs: Input tensor.
        depthwise_kernel: ``(*window, channels, multiplier)``.
        pointwise_kernel: ``(1, ..., channels * multiplier, out)``.
        strides: The stride(s) of the window.
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: The dilation rate(s).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.separable_conv(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1)), np.ones((1, 1, 2, 3))).shape
    (1, 2, 2, 3)
    """
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs, kernel, strides=1, padding='valid', output_padding=None, data_format=None, dilation_rate=1):
    """The transpose of ``conv`` (a fractionally strided convolution), with Keras's output shapes; kernel ``(*window, out, in)``.

    Args:
        inputs: Input tensor.
        kernel: The convolution kernel, ``(*window, in, out)``.
        strides: The stride(s) of the window.
        padding: "valid" or "same".
        output_padding: Extra size added on one side of each spatial axis (None: Keras's default).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: The dilation rate(s).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.conv_transpose(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), strides=2).shape
    (1, 5, 5, 1)
    """
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    n, last = inputs.ndim - 2, _last(data_format)
    strides, dilation = _tuple(strides, n), _tuple(dilation_rate, n)
    extra = (None,) * n if output_padding is None else _tuple(output_padding, n)
    pads = []
    for size, stride, rate, extra_pad in zip(kernel.shape[:n], strides, dilation, extra):
        size = (size - 1) * rate + 1
        if _padding(padding) == "VALID":
            extra_pad = max(size, stride) - size if extra_pad is None else extra_pad
            pads.append((size - 1, size - 1 + extra_pad))
        else:
            total = stride + size - 2 if extra_pad is None else size + size % 2 - 2 + extra_pad
            left = min(total // 2 + total % 2, size - 1)
            pads.append((left, total - left))
    return jax.lax.conv_transpose(inputs, kernel.astype(inputs.dtype), strides, pads, rhs_dilation=dilation,
                                  dimension_numbers=_numbers(n, last), transpose_kernel=True)


def max_pool(inputs, pool_size, strides=None, padding='valid', data_format=None):
    """Max pooling over ``pool_size`` windows of the spatial axes.

    Args:
        inputs: Input tensor.
        pool_size: The size of the pooling window.
        strides: The step between windows (None: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.max_pool(np.arange(16.0).reshape(1, 4, 4, 1), 2)[..., 0]
    Array([[[ 5.,  7.],
            [13., 15.]]], dtype=float32)
    """
    inputs = jnp.asarray(inputs)
    n, last = inputs.ndim - 2, _last(data_format)
    window = _window(pool_size, n, last)
    step = window if strides is None else _window(strides, n, last)
    return jax.lax.reduce_window(inputs, -jnp.inf, jax.lax.max, window, step, _padding(padding))


def average_pool(inputs, pool_size, strides=None, padding='valid', data_format=None):
    """Average pooling over ``pool_size`` windows (with "same" padding, the mean of the real entries).

    Args:
        inputs: Input tensor.
        pool_size: The size of the pooling window.
        strides: The step between windows (None: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.average_pool(np.arange(16.0).reshape(1, 4, 4, 1), 2)[..., 0]
    Array([[[ 2.5,  4.5],
            [10.5, 12.5]]], dtype=float32)
    """
    inputs = jnp.asarray(inputs)
    n, last = inputs.ndim - 2, _last(data_format)
    window = _window(pool_size, n, last)
    step = window if strides is None else _window(strides, n, last)
    pad = _padding(padding)
    total = jax.lax.reduce_window(inputs, 0.0, jax.lax.add, window, step, pad)
    if pad == "VALID":
        return total / math.prod(window)
    ones = jnp.ones([s if w != 1 else 1 for s, w in zip(inputs.shape, window)], inputs.dtype)
    return total / jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, step, pad)


def depth_to_space(x, block_size, data_format='channels_last'):
    """Moves blocks of channels into space (pixel shuffle): ``(n, h, w, c)`` -> ``(n, h*b, w*b, c/b^2)``.

    Args:
        x: A 4-D tensor.
        block_size: The size of the spatial blocks.
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.depth_to_space(np.arange(4.0).reshape(1, 1, 1, 4), 2)[..., 0]
    Array([[[0., 1.],
            [2., 3.]]], dtype=float32)
    """
    x = jnp.asarray(x)
    b = block_size
    if _last(data_format):
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // b**2).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // b**2)
    n, c, h, w = x.shape
    x = x.reshape(n, c // b**2, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // b**2, h * b, w * b)


def space_to_depth(x, block_size, data_format='channels_last'):
    """Moves blocks of space into channels (the inverse of ``depth_to_space``).

    Args:
        x: A 4-D tensor.
        block_size: The size of the spatial blocks.
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.space_to_depth(np.arange(4.0).reshape(1, 2, 2, 1), 2)
    Array([[[[0., 1., 2., 3.]]]], dtype=float32)
    """
    x = jnp.asarray(x)
    b = block_size
    if _last(data_format):
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, c * b**2)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b**2, h // b, w // b)

dispatch_namespace("convolution", globals(), __all__)   # calls on symbolic tensors become graph nodes
