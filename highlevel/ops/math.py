"""Keras's ``keras.ops`` math operations: segments, top-k, FFTs, special functions."""

from __future__ import annotations

import math as _math

import jax
import jax.numpy as jnp

from highlevel.ops.signal import istft, stft
from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["segment_sum", "segment_max", "segment_min", "segment_prod", "top_k", "in_top_k", "logsumexp", "cdist",
           "extract_sequences", "fft", "fft2", "ifft2", "rfft", "irfft", "view_as_complex", "view_as_real",
           "rsqrt", "erf", "erfc", "erfinv", "logdet", "stft", "istft"]


def _need_segments(num_segments) -> int:
    if num_segments is None:
        raise ValueError("num_segments must be given: shapes are static under jax.jit, so the number of segments "
                         "cannot be read from segment_ids. Pass num_segments=<int> (e.g. int(ids.max()) + 1).")
    return int(num_segments)


def _complex(x, what: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{what} takes x as a pair (real, imaginary) of float tensors of one shape, got {type(x).__name__}.")
    real, imag = jnp.asarray(x[0]), jnp.asarray(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"{what}: the real and imaginary parts have shapes {real.shape} and {imag.shape}; they must match.")
    return jax.lax.complex(real.astype(jnp.float32), imag.astype(jnp.float32))


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """The sum of the rows of ``data`` in each segment (``num_segments`` rows out).

    Args:
        data: The data, segmented along its first axis.
        segment_ids: The segment of each row of ``data`` (integers).
        num_segments: The number of segments (required: shapes are static).
        sorted: Whether the segment ids (or results) are sorted.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.segment_sum(ops.arange(1.0, 5.0), np.array([0, 0, 1, 1]), num_segments=2)
    Array([3., 7.], dtype=float32)
    """
    return jax.ops.segment_sum(data, segment_ids, _need_segments(num_segments), indices_are_sorted=sorted)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """The maximum of the rows of ``data`` in each segment.

    Args:
        data: The data, segmented along its first axis.
        segment_ids: The segment of each row of ``data`` (integers).
        num_segments: The number of segments (required: shapes are static).
        sorted: Whether the segment ids (or results) are sorted.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.segment_max(ops.arange(1.0, 5.0), np.array([0, 0, 1, 1]), num_segments=2)
    Array([2., 4.], dtype=float32)
    """
    return jax.ops.segment_max(data, segment_ids, _need_segments(num_segments), indices_are_sorted=sorted)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """The minimum of the rows of ``data`` in each segment.

    Args:
        data: The data, segmented along its first axis.
        segment_ids: The segment of each row of ``data`` (integers).
        num_segments: The number of segments (required: shapes are static).
        sorted: Whether the segment ids (or results) are sorted.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.segment_min(ops.arange(1.0, 5.0), np.array([0, 0, 1, 1]), num_segments=2)
    Array([1., 3.], dtype=float32)
    """
    return jax.ops.segment_min(data, segment_ids, _need_segments(num_segments), indices_are_sorted=sorted)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """The product of the rows of ``data`` in each segment.

    Args:
        data: The data, segmented along its first axis.
        segment_ids: The segment of each row of ``data`` (integers).
        num_segments: The number of segments (required: shapes are static).
        sorted: Whether the segment ids (or results) are sorted.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.segment_prod(ops.arange(1.0, 5.0), np.array([0, 0, 1, 1]), num_segments=2)
    Array([ 2., 12.], dtype=float32)
    """
    return jax.ops.segment_prod(data, segment_ids, _need_segments(num_segments), indices_are_sorted=sorted)


def top_k(x, k, sorted=True):
    """The ``k`` largest entries of the last axis and their indices, largest first: ``(values, indices)``.

    Args:
        x: Input tensor.
        k: How many entries to keep.
        sorted: Accepted for Keras compatibility: the result is always sorted.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.top_k(np.array([1.0, 5.0, 3.0, 4.0]), 2)
    [Array([5., 4.], dtype=float32), Array([1, 3], dtype=int32)]
    """
    return jax.lax.top_k(x, k)


def in_top_k(targets, predictions, k):
    """Whether each row's target class is among its ``k`` highest predictions.

    Args:
        targets: The target class of each row (integers).
        predictions: The scores, ``(batch, classes)``.
        k: How many top predictions count.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.in_top_k(np.array([0, 2]), np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]]), 1)
    Array([ True, False], dtype=bool)
    """
    predictions = jnp.asarray(predictions)
    at_label = jnp.take_along_axis(predictions, jnp.expand_dims(jnp.asarray(targets), -1), axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)   # NaN is no large score
    return 1 + jnp.sum(predictions > at_label, axis=-1) <= k


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    Args:
        x: Input tensor.
        axis: Axis (or axes) to operate along; None for all.
        keepdims: Whether to keep the reduced axes, with size 1.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logsumexp(np.array([0.0, 0.0]))).round(4)
    np.float32(0.6931)
    """
    return jax.scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)


def cdist(x, y):
    """The Euclidean distance between every row of ``x`` and every row of ``y``.

    Args:
        x: Points ``(..., m, d)``.
        y: Points ``(..., n, d)``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cdist(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]]))
    Array([[5., 1.]], dtype=float32)
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist takes (..., m, d) and (..., n, d) tensors, got shapes {x.shape} and {y.shape}.")
    diff = jnp.expand_dims(x, -2) - jnp.expand_dims(y, -3)
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` taken every ``sequence_stride`` along the last axis.

    Args:
        x: Input tensor.
        sequence_length: The length of each sequence.
        sequence_stride: The step between sequences.

    >>> from highlevel import ops
    >>> ops.extract_sequences(ops.arange(5.0), 3, 2)
    Array([[0., 1., 2.],
           [2., 3., 4.]], dtype=float32)
    """
    x = jnp.asarray(x)
    *batch, signal = x.shape
    frames = jax.lax.conv_general_dilated_patches(
        x.reshape((_math.prod(batch), signal, 1)), (sequence_length,), (sequence_stride,), "VALID",
        dimension_numbers=("NTC", "OIT", "NTC"))
    return frames.reshape((*batch, *frames.shape[-2:]))


def fft(x):
    """The FFT along the last axis of a complex tensor given as ``(real, imag)``.

    Args:
        x: A pair ``(real, imag)`` of float tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fft((np.array([1.0, 0.0]), np.array([0.0, 0.0])))
    (Array([1., 1.], dtype=float32), Array([0., 0.], dtype=float32))
    """
    out = jnp.fft.fft(_complex(x, "fft"))
    return jnp.real(out), jnp.imag(out)


def fft2(x):
    """The 2-D FFT over the last two axes of ``(real, imag)``.

    Args:
        x: A pair ``(real, imag)`` of float tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.fft2((np.ones((2, 2)), np.zeros((2, 2))))
    (Array([[4., 0.],
           [0., 0.]], dtype=float32), Array([[0., 0.],
           [0., 0.]], dtype=float32))
    """
    out = jnp.fft.fft2(_complex(x, "fft2"))
    return jnp.real(out), jnp.imag(out)


def ifft2(x):
    """The inverse 2-D FFT over the last two axes of ``(real, imag)``.

    Args:
        x: A pair ``(real, imag)`` of float tensors.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.ifft2((np.ones((2, 2)), np.zeros((2, 2))))
    (Array([[1., 0.],
           [0., 0.]], dtype=float32), Array([[0., 0.],
           [0., 0.]], dtype=float32))
    """
    out = jnp.fft.ifft2(_complex(x, "ifft2"))
    return jnp.real(out), jnp.imag(out)


def rfft(x, fft_length=None):
    """The FFT of a real signal along its last axis: ``(real, imag)``.

    Args:
        x: Input tensor.
        fft_length: The FFT length (None: from the input).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rfft(np.array([1.0, 2.0, 3.0, 4.0]))
    (Array([10., -2., -2.], dtype=float32), Array([0., 2., 0.], dtype=float32))
    """
    out = jnp.fft.rfft(jnp.asarray(x), n=fft_length, axis=-1)
    return jnp.real(out), jnp.imag(out)


def irfft(x, fft_length=None):
    """The real signal of a one-sided spectrum ``(real, imag)`` (the inverse of ``rfft``).

    Args:
        x: A pair ``(real, imag)`` of float tensors.
        fft_length: The FFT length (None: from the input).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.irfft(ops.rfft(np.array([1.0, 2.0, 3.0, 4.0])))
    Array([1., 2., 3., 4.], dtype=float32)
    """
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1)


def view_as_complex(x):
    """A complex tensor from a real one whose last axis is ``(real, imag)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.view_as_complex(np.array([[1.0, 2.0]]))
    Array([1.+2.j], dtype=complex64)
    """
    x = jnp.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"view_as_complex takes a last axis of size 2 (real, imaginary), got shape {x.shape}.")
    return jax.lax.complex(x[..., 0], x[..., 1])


def view_as_real(x):
    """A real tensor with a last axis ``(real, imag)`` from a complex one.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.view_as_real(np.array([1 + 2j]))
    Array([[1., 2.]], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


def rsqrt(x):
    """``1 / sqrt(x)``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rsqrt(np.array([1.0, 4.0]))
    Array([1. , 0.5], dtype=float32)
    """
    return jax.lax.rsqrt(jnp.asarray(x, jnp.result_type(float, x)))


def erf(x):
    """The error function, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.erf(np.array([0.0, 1.0]))).round(4)
    array([0.    , 0.8427], dtype=float32)
    """
    return jax.scipy.special.erf(x)


def erfc(x):
    """The complementary error function ``1 - erf(x)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.erfc(np.array([0.0, 1.0]))).round(4)
    array([1.    , 0.1573], dtype=float32)
    """
    return jax.scipy.special.erfc(x)


def erfinv(x):
    """The inverse error function, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.erfinv(np.array([0.0, 0.5]))).round(4)
    array([0.    , 0.4769], dtype=float32)
    """
    return jax.scipy.special.erfinv(x)


def logdet(x):
    """The log of the absolute determinant of a square matrix (from ``slogdet``, as Keras).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logdet(np.array([[2.0, 0.0], [0.0, 3.0]]))).round(4)
    np.float32(1.7918)
    """
    return jnp.linalg.slogdet(x)[1]

dispatch_namespace("math", globals(), __all__)   # calls on symbolic tensors become graph nodes
