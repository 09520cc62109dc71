"""Keras's short-time Fourier transforms, ``stft`` and ``istft`` (part of ``keras.ops.math``), as framing and FFTs.

``stft`` cuts the last axis into frames of ``fft_length`` (the ``sequence_length`` window
zero-padded to it, centred) every ``sequence_stride`` samples, reflect-padding the signal by
``fft_length // 2`` on both sides when ``center``, and returns the real and imaginary parts of
each windowed frame's real FFT, ``(..., frames, fft_length // 2 + 1)``. ``istft`` inverts it by
overlap-adding the windowed inverse FFTs and dividing by the overlap-added squared window
(SciPy's and Keras's least-squares inverse).

One difference from Keras 3.15's JAX backend: with ``sequence_stride == fft_length`` (frames
that do not overlap) Keras's ``istft`` passes ``noverlap=0`` to ``jax.scipy.signal.istft``,
which reads it as its default (half a frame) and returns a shorter, wrong signal; here the
frames are laid end to end and ``istft(stft(x))`` gives ``x`` back.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["stft", "istft"]


def _window(window, sequence_length: int, fft_length: int, dtype, where: str):
    """The window zero-padded (centred) to ``fft_length``; None for no window."""
    if window is None:
        return None
    if isinstance(window, str):
        k = np.arange(sequence_length) / sequence_length   # periodic, as scipy.signal.get_window
        if window == "hann":
            win = 0.5 - 0.5 * np.cos(2 * np.pi * k)
        elif window == "hamming":
            win = 0.54 - 0.46 * np.cos(2 * np.pi * k)
        else:
            raise ValueError(f'{where} `window` must be "hann", "hamming", an array of length sequence_length or '
                             f"None, got {window!r}.")
        win = jnp.asarray(win, dtype)
    else:
        win = jnp.asarray(window, dtype)
        if win.shape != (sequence_length,):
            raise ValueError(f"{where} `window` must have shape (sequence_length,) = ({sequence_length},), got "
                             f"shape {win.shape}.")
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left))


def _check_lengths(sequence_length, sequence_stride, fft_length, where: str) -> None:
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("fft_length", fft_length)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{where} `{name}` must be a positive int, got {value!r}.")
    if fft_length < sequence_length:
        raise ValueError(f"{where} `fft_length` must be >= sequence_length ({sequence_length}), got {fft_length}.")


def _overlap_add(frames, stride: int):
    """``(..., frames, length)`` summed at offsets ``stride`` apart into ``(..., stride * (frames - 1) + length)``."""
    count, length = frames.shape[-2:]
    out = jnp.zeros(frames.shape[:-2] + (stride * (count - 1) + length,), frames.dtype)
    index = (np.arange(count)[:, None] * stride + np.arange(length)).reshape(-1)
    return out.at[..., index].add(frames.reshape(frames.shape[:-2] + (-1,)))


def stft(x, sequence_length, sequence_stride, fft_length, window='hann', center=True):
    """The short-time Fourier transform of the last axis, as ``keras.ops.stft``: ``(real, imag)``.

    Args:
        x: a float32 or float64 signal, ``(..., samples)``.
        sequence_length: the window's length.
        sequence_stride: the step between frames.
        fft_length: the FFT size (>= ``sequence_length``; the window is zero-padded to it).
        window: ``"hann"``, ``"hamming"`` (periodic), an array of ``sequence_length`` values, or None.
        center: reflect-pad ``fft_length // 2`` samples on both sides, so frame ``t`` is centred at
            ``t * sequence_stride``.

    Returns:
        The real and imaginary parts, each ``(..., frames, fft_length // 2 + 1)``.

    >>> from highlevel import ops
    >>> real, imag = ops.stft(ops.convert_to_tensor([0.0, 1.0, 2.0, 3.0, 4.0]), 3, 2, 3, window=None)
    >>> real
    Array([[ 2. ,  0.5],
           [ 6. , -1.5],
           [10. , -0.5]], dtype=float32)
    """
    x = jnp.asarray(x)
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(f"stft takes a float32 or float64 signal, got dtype {x.dtype}; cast it first.")
    _check_lengths(sequence_length, sequence_stride, fft_length, "stft")
    win = _window(window, sequence_length, fft_length, x.dtype, "stft")
    if center:
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    count = (x.shape[-1] - fft_length) // sequence_stride + 1
    if count <= 0:
        raise ValueError(f"stft: a signal of {x.shape[-1]} samples (after padding) is shorter than fft_length "
                         f"{fft_length}.")
    frames = x[..., np.arange(count)[:, None] * sequence_stride + np.arange(fft_length)]
    if win is not None:
        frames = frames * jnp.reshape(win, (1,) * (frames.ndim - 1) + (fft_length,))
    spectrum = jnp.fft.rfft(frames, n=fft_length, axis=-1)
    return jnp.real(spectrum), jnp.imag(spectrum)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window='hann', center=True):
    """The inverse of ``stft`` (the same arguments give back the signal), as ``keras.ops.istft``.

    Args:
        x: the pair ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
        sequence_length: the window's length.
        sequence_stride: the step between frames.
        fft_length: the FFT size ``stft`` used.
        length: cut (or keep) the output to this many samples; None keeps what the frames cover.
        window: ``"hann"``, ``"hamming"``, an array of ``sequence_length`` values, or None.
        center: whether ``stft`` padded the signal (the padding is cut off again).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> signal = np.arange(8.0, dtype="float32")
    >>> back = ops.istft(ops.stft(signal, 4, 2, 4), 4, 2, 4, length=8)
    >>> bool(np.allclose(back, signal, atol=1e-5))
    True
    """
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"istft takes x as a pair (real, imag), got {type(x).__name__}.")
    real, imag = jnp.asarray(x[0]), jnp.asarray(x[1])
    if real.ndim < 2 or real.shape != imag.shape:
        raise ValueError(f"istft takes real and imaginary parts of the same shape (..., frames, bins), got "
                         f"{real.shape} and {imag.shape}.")
    _check_lengths(sequence_length, sequence_stride, fft_length, "istft")
    win = _window(window, sequence_length, fft_length, real.dtype, "istft")
    frames = jnp.fft.irfft(real + 1j * imag, n=fft_length, axis=-1)[..., :fft_length].astype(real.dtype)
    ones = jnp.ones((fft_length,), real.dtype) if win is None else win
    signal = _overlap_add(frames * jnp.reshape(ones, (1,) * (frames.ndim - 1) + (fft_length,)), sequence_stride)
    norm = _overlap_add(jnp.broadcast_to(ones * ones, (frames.shape[-2], fft_length)), sequence_stride)
    norm = jnp.reshape(norm, (1,) * (signal.ndim - 1) + norm.shape)
    signal = signal / jnp.where(norm > 1e-10, norm, 1.0)
    if win is None:   # Keras's JAX backend scales an unwindowed inverse by fft_length / sequence_stride
        signal = signal * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:signal.shape[-1] - (fft_length // 2 if center else 0)]


dispatch_namespace("math", globals(), __all__)   # calls on symbolic tensors become graph nodes
