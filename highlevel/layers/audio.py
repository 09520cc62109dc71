"""Audio preprocessing layers: STFTSpectrogram and MelSpectrogram (Keras 3's).

``STFTSpectrogram`` computes the short-time Fourier transform as a strided 1-D convolution
with Fourier kernels (``real_kernel``, ``imag_kernel``: Keras's weights, trainable by
default, so ``fit`` can tune them). ``MelSpectrogram`` has no weights: ``hl.ops.stft``, a
mel filter bank and, by default, decibels. Both take Keras 3.15's arguments and config keys
and give Keras's numbers, except where Keras's code departs from its docs (see
``docs/guides/coming_from_keras.md``): an odd ``fft_length`` here is an FFT of that size
(Keras's kernels are those of ``fft_length - 1``); ``MelSpectrogram``'s ``top_db`` cut-off is
taken from each spectrogram's own maximum (Keras's from the whole batch's), and its
``compute_output_shape`` gives the number of frames ``call`` returns.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from highlevel import backend as _backend
from highlevel import initializers as _initializers
from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.convolutional import check_data_format
from highlevel.ops.signal import stft as _stft

__all__ = ["STFTSpectrogram", "MelSpectrogram"]

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")

# The mel scale of HTK (and Keras): mel(f) = 1127 * ln(1 + f / 700).
_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _positive_int(layer: str, name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer} `{name}` must be a positive integer, got {value!r}.")
    return int(value)


def _window_config(window):
    """A window as a config holds it: a name, None, or a list of numbers."""
    if window is None or isinstance(window, str):
        return window
    return np.asarray(window).tolist()


def _check_window(layer: str, window, length: int, length_name: str, names: Sequence[str] | None):
    """The window: a name (``names``, or any of scipy's when None), None, or ``length`` numbers."""
    if window is None:
        return None
    if isinstance(window, str):
        if names is not None and window not in names:
            raise ValueError(f"{layer} `window` must be one of {', '.join(map(repr, names))}, an array of "
                             f"{length_name}={length} values or None, got {window!r}.")
        if names is None:
            _initializers.STFT(window=window)   # scipy's get_window refuses an unknown name, as in Keras
        return window
    values = np.asarray(window, dtype=np.float64)
    if values.shape != (length,):
        raise ValueError(f"{layer} `window` must have {length_name}={length} values, got shape {values.shape}.")
    return tuple(values.tolist())   # a tuple: a module attribute, never mistaken for an array of state


class _FourierKernel:
    """The STFT kernel of an ``fft_length``-point transform, ``(frame_length, 1, fft_length // 2 + 1)``.

    Keras's ``STFT`` initializer reads the FFT size off the number of bins, ``2 * (bins - 1)``,
    which is ``fft_length`` only when it is even. For an odd one the bins of the ``2 * fft_length``
    transform at even indices are those of the ``fft_length`` one.
    """

    def __init__(self, side: str, window, scaling: str | None, periodic: bool, fft_length: int):
        self.stft = _initializers.STFT(side, window, scaling, periodic)
        self.fft_length = fft_length

    def __call__(self, key, shape, dtype=jnp.float32):
        if self.fft_length % 2 == 0:
            return self.stft(key, shape, dtype)
        frame_length, channels, bins = shape
        return self.stft(key, (frame_length, channels, self.fft_length + 1), dtype)[..., ::2][..., :bins]


def _trace_lengths(window: int, step: int) -> tuple[int, int]:
    """Two signal lengths for tracing an unknown time axis: each longer than the window, their
    frame counts different."""
    first = 2 * window + 128
    return first, first + 2 * step + 65


@register_layer
class STFTSpectrogram(Layer):
    """Spectrograms of 1-D signals by the short-time Fourier transform, computed as a strided convolution.

    Each channel of the signal is cut into frames of ``frame_length`` samples every
    ``frame_step``; each frame is windowed and transformed by a convolution whose kernels
    (``real_kernel`` and ``imag_kernel``, ``(frame_length, 1, fft_length // 2 + 1)``) start as
    the Fourier basis, so they can be fine-tuned in training (``trainable=False`` keeps
    them fixed), as Keras's.

    Args:
      mode: the output: ``"log"`` (the log of the magnitude, default), ``"magnitude"``,
        ``"psd"`` (the one-sided power spectral density), ``"real"``, ``"imag"``,
        ``"angle"`` (the phase) or ``"stft"`` (the real parts, then the imaginary parts).
      frame_length: the frame (window) length in samples (default 256).
      frame_step: the step between frames, at most ``frame_length`` (default ``frame_length // 2``).
      fft_length: the FFT size, at least ``frame_length`` (default the smallest power of two
        that is at least ``frame_length``); ``fft_length // 2 + 1`` frequency bins.
      window: ``"hann"`` (default), ``"hamming"`` or another name of
        ``scipy.signal.get_window``, an array of ``frame_length`` values, or None.
      periodic: whether a named window is periodic rather than symmetric (default False).
      scaling: divide the window by its L2 norm (``"density"``, default), by its sum
        (``"spectrum"``), or not (None).
      padding: ``"valid"`` (default) or ``"same"`` (``ceil(time / frame_step)`` frames).
      expand_dims: keep the channels on an axis of their own, for image models (default False).
      data_format: ``"channels_last"`` (``(batch, time, channels)``) or ``"channels_first"``
        (``(batch, channels, time)``); None: ``hl.backend.image_data_format()``.

    Input ``(batch, time, channels)`` (``channels_first``: ``(batch, channels, time)``), float.
    Output with ``bins = fft_length // 2 + 1`` (twice that for ``"stft"``): channels_last
    ``(batch, frames, channels * bins)``, or ``(batch, frames, bins, channels)`` with
    ``expand_dims``; channels_first ``(batch, channels * bins, frames)``, or
    ``(batch, channels, frames, bins)`` with ``expand_dims``.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.STFTSpectrogram(mode="magnitude", frame_length=8, frame_step=4, window=None)
    >>> tone = np.cos(2 * np.pi * np.arange(32) / 4).astype("float32")   # a quarter of the sample rate
    >>> spectrum = layer(tone.reshape(1, 32, 1))
    >>> spectrum.shape, [int(i) for i in np.argmax(np.asarray(spectrum)[0], axis=-1)]
    ((1, 7, 5), [2, 2, 2, 2, 2, 2, 2])
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window: Any = "hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid", expand_dims: bool = False,
                 data_format: str | None = None, **kwargs):
        where = "STFTSpectrogram"
        frame_length = _positive_int(where, "frame_length", frame_length)
        frame_step = _positive_int(where, "frame_step", frame_step, allow_none=True)
        fft_length = _positive_int(where, "fft_length", fft_length, allow_none=True)
        if frame_step is not None and frame_step > frame_length:
            raise ValueError(f"{where} `frame_step` must be a positive integer not greater than frame_length="
                             f"{frame_length}, got frame_step={frame_step}.")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"{where} `fft_length` must be at least frame_length={frame_length}, got "
                             f"fft_length={fft_length}.")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"{where} `fft_length` is recommended to be a power of two, got fft_length={fft_length}.",
                          stacklevel=5)   # past flax's module constructor, at the caller
        if mode not in _MODES:
            raise ValueError(f"{where} `mode` must be one of {', '.join(map(repr, _MODES))}, got {mode!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"{where} `scaling` must be None, 'density' or 'spectrum', got {scaling!r}.")
        if padding not in ("valid", "same"):
            raise ValueError(f"{where} `padding` must be 'valid' or 'same', got {padding!r}.")
        checked_window = _check_window(where, window, frame_length, "frame_length", None)
        super().__init__(**kwargs)
        self._window = checked_window
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.window = _window_config(window)
        self.periodic = bool(periodic)
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = bool(expand_dims)
        self.data_format = check_data_format(data_format, where)

    @property
    def _step(self) -> int:
        return self.frame_step or max(self.frame_length // 2, 1)

    @property
    def _fft_size(self) -> int:
        return self.fft_length or 2 ** int(math.ceil(math.log2(self.frame_length)))

    @property
    def _unknown_dim_sizes(self) -> tuple[int, int]:
        # Shape inference traces an unknown time axis at two lengths; both must hold a window
        # and give different frame counts (the default 128 and 193 are shorter than a window).
        return _trace_lengths(max(self.frame_length, self._fft_size), self._step)

    def _check_rank(self, shape) -> None:
        if len(shape) != 3:
            layout = "(batch, time, channels)" if self.data_format == "channels_last" else "(batch, channels, time)"
            raise ValueError(f"STFTSpectrogram layer '{self.name}' expects inputs of rank 3 {layout}, got shape "
                             f"{format_shape(tuple(shape))}.")

    def build(self, input_shape) -> None:
        self._check_rank(input_shape)
        shape = (self.frame_length, 1, self._fft_size // 2 + 1)
        sides = [side for side, skipped_by in (("real", "imag"), ("imag", "real")) if self.mode != skipped_by]
        for side in sides:
            init = _FourierKernel(side, self._window, self.scaling, self.periodic, self._fft_size)
            self.add_weight(shape=shape, initializer=init, name=f"{side}_kernel")

    def _transform(self, signals, kernel):
        """``(signals, time, 1)`` convolved with a kernel: ``(signals, frames, bins)``."""
        return _backend.conv(signals, kernel.get_value().astype(signals.dtype), (self._step,), self.padding)

    def call(self, inputs):
        x = jnp.asarray(inputs)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"STFTSpectrogram layer '{self.name}' takes float16, bfloat16, float32 or float64 "
                            f"signals, got dtype {x.dtype}; cast them first.")
        self._check_rank(x.shape)
        if self.data_format == "channels_last":
            batch, time, channels = x.shape
            x = jnp.transpose(x, (0, 2, 1))
        else:
            batch, channels, time = x.shape
        signals = jnp.reshape(x, (batch * channels, time, 1))
        real = self._transform(signals, self.real_kernel) if self.mode != "imag" else None
        imag = self._transform(signals, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            out = real
        elif self.mode == "imag":
            out = imag
        elif self.mode == "angle":
            out = jnp.arctan2(imag, real)
        elif self.mode == "stft":
            out = jnp.concatenate([real, imag], axis=-1)
        else:
            power = jnp.square(real) + jnp.square(imag)
            if self.mode == "psd":
                # One-sided: every bin but DC (and Nyquist, for an even FFT) stands for two.
                bins = power.shape[-1]
                double = np.full((bins,), 2.0)
                double[0] = 1.0
                if self._fft_size % 2 == 0:
                    double[-1] = 1.0
                out = power * jnp.asarray(double, power.dtype).reshape(1, 1, bins)
            else:
                eps = _backend.epsilon()
                out = jnp.sqrt(jnp.maximum(power, eps))
                if self.mode == "log":
                    out = jnp.log(jnp.maximum(out, eps))
        frames, bins = out.shape[1:]
        out = jnp.reshape(out, (batch, channels, frames, bins))
        if self.data_format == "channels_last":
            if self.expand_dims:
                return jnp.transpose(out, (0, 2, 3, 1))
            return jnp.reshape(jnp.transpose(out, (0, 2, 1, 3)), (batch, frames, channels * bins))
        if self.expand_dims:
            return out
        return jnp.reshape(jnp.transpose(out, (0, 1, 3, 2)), (batch, channels * bins, frames))

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch, time or channels may be None).

        Args:
          input_shape: ``(batch, time, channels)``, or ``(batch, channels, time)`` for channels_first.

        >>> import highlevel as hl
        >>> hl.layers.STFTSpectrogram(frame_length=256, frame_step=128, fft_length=512).compute_output_shape(
        ...     (None, 16000, 2))
        (None, 124, 514)
        """
        self._check_rank(input_shape)
        if self.data_format == "channels_last":
            batch, time, channels = input_shape
        else:
            batch, channels, time = input_shape
        bins = (self._fft_size // 2 + 1) * (2 if self.mode == "stft" else 1)
        if time is None:
            frames = None
        elif self.padding == "same":
            frames = -(-time // self._step)
        else:
            frames = (time - self.frame_length) // self._step + 1
            if frames < 1:
                raise ValueError(f"STFTSpectrogram layer '{self.name}' needs at least frame_length="
                                 f"{self.frame_length} samples with padding='valid', got {time}.")
        if self.expand_dims:
            return (batch, frames, bins, channels) if self.data_format == "channels_last" else (
                batch, channels, frames, bins)
        features = None if channels is None else channels * bins
        return (batch, frames, features) if self.data_format == "channels_last" else (batch, features, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


def _hertz_to_mel(frequencies):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + frequencies / _MEL_BREAK_FREQUENCY_HERTZ)


@register_layer
class MelSpectrogram(Layer):
    """Mel spectrograms of audio signals: the STFT's magnitude, a mel filter bank and (by default) decibels.

    The signal is framed as ``hl.ops.stft`` does (centred, reflect-padded); the magnitude
    raised to ``mag_exp`` is mapped onto ``num_mel_bins`` triangular filters evenly spaced
    on the mel scale (HTK's, peak 1) from ``min_freq`` to ``max_freq``; with
    ``power_to_db``, ``10 * log10(S / ref_power)`` (S and ``ref_power`` at least
    ``min_power``), cut off ``top_db`` below each spectrogram's maximum. No weights.

    Args:
      fft_length: the FFT size (default 2048).
      sequence_stride: the samples between successive frames (default 512).
      sequence_length: the window's length, at most ``fft_length`` (default ``fft_length``).
      window: ``"hann"`` (default), ``"hamming"``, an array of ``sequence_length`` values, or None.
      sampling_rate: the signal's samples per second (default 16000).
      num_mel_bins: the number of mel bands (default 128).
      min_freq: the lowest frequency of the mel bands, in Hz (default 20).
      max_freq: their highest frequency (default ``sampling_rate / 2``).
      power_to_db: convert the mel power to decibels (default True).
      top_db: the decibels kept below each spectrogram's maximum (default 80); None keeps all.
      mag_exp: the exponent of the magnitude: 1 for magnitude, 2 (default) for power.
      min_power: the smallest power (and ``ref_power``) ``log10`` sees (default 1e-10).
      ref_power: the power that is 0 dB (default 1).

    Input ``(samples,)`` or ``(batch, samples)`` (float; any leading axes). Output
    ``(num_mel_bins, frames)`` or ``(batch, num_mel_bins, frames)``, ``frames =
    samples // sequence_stride + 1`` for an even ``fft_length``.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=16, sampling_rate=8000)
    >>> tone = np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000).astype("float32")   # 1 kHz for a second
    >>> mel = np.asarray(layer(tone[None]))
    >>> mel.shape, int(np.argmax(mel[0, :, 30]))   # the band around 1 kHz
    ((1, 16, 63), 7)
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: int | None = None,
                 window: Any = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0,
                 max_freq: float | None = None, power_to_db: bool = True, top_db: float | None = 80.0,
                 mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0, **kwargs):
        where = "MelSpectrogram"
        fft_length = _positive_int(where, "fft_length", fft_length)
        sequence_stride = _positive_int(where, "sequence_stride", sequence_stride)
        sequence_length = _positive_int(where, "sequence_length", sequence_length or fft_length)
        if fft_length < sequence_length:
            raise ValueError(f"{where} `fft_length` must be at least sequence_length={sequence_length}, got "
                             f"fft_length={fft_length}.")
        checked_window = _check_window(where, window, sequence_length, "sequence_length", ("hann", "hamming"))
        num_mel_bins = _positive_int(where, "num_mel_bins", num_mel_bins)
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, float, np.number)) \
                or sampling_rate <= 0:
            raise ValueError(f"{where} `sampling_rate` must be a positive number, got {sampling_rate!r}.")
        max_freq = max_freq or int(sampling_rate / 2)
        if not 0 <= min_freq < max_freq:
            raise ValueError(f"{where} needs 0 <= min_freq < max_freq, got min_freq={min_freq!r}, "
                             f"max_freq={max_freq!r}.")
        super().__init__(**kwargs)
        self._window = checked_window
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length
        self.window = _window_config(window)
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.power_to_db = bool(power_to_db)
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    @property
    def _unknown_dim_sizes(self) -> tuple[int, int]:
        return _trace_lengths(self.fft_length, self.sequence_stride)

    def linear_to_mel_weight_matrix(self, num_mel_bins: int = 20, num_spectrogram_bins: int = 129,
                                    sampling_rate: float = 8000, lower_edge_hertz: float = 125.0,
                                    upper_edge_hertz: float = 3800.0, dtype: str = "float32"):
        """The ``(num_spectrogram_bins, num_mel_bins)`` matrix from linear-frequency bins to mel bands.

        Keras's (and HTK's) triangular filters, peak 1, evenly spaced on the mel scale between
        the edges; the DC bin gets no weight. ``spectrogram @ matrix`` gives the mel spectrogram.

        Args:
          num_mel_bins: the number of mel bands.
          num_spectrogram_bins: the number of linear bins, ``fft_length // 2 + 1``.
          sampling_rate: the signal's samples per second.
          lower_edge_hertz: the lower edge of the lowest band.
          upper_edge_hertz: the upper edge of the highest band.
          dtype: the matrix's dtype.

        >>> import highlevel as hl
        >>> hl.layers.MelSpectrogram().linear_to_mel_weight_matrix(8, 65, 16000, 20.0, 8000.0).shape
        (65, 8)
        """
        dtype = np.dtype(dtype)
        nyquist = np.asarray(sampling_rate, dtype) / dtype.type(2.0)
        linear = np.linspace(dtype.type(0.0), nyquist, num_spectrogram_bins, dtype=dtype)[1:]
        bins_mel = _hertz_to_mel(linear).astype(dtype)[:, None]
        edges = np.linspace(_hertz_to_mel(dtype.type(lower_edge_hertz)), _hertz_to_mel(dtype.type(upper_edge_hertz)),
                            num_mel_bins + 2, dtype=dtype)
        lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.maximum(0.0, np.minimum((bins_mel - lower) / (center - lower),
                                                 (upper - bins_mel) / (upper - center))).astype(dtype)
        return jnp.asarray(np.pad(weights, [(1, 0), (0, 0)]))

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = jnp.asarray(inputs, dtype)
        if x.ndim < 1:
            raise ValueError(f"MelSpectrogram layer '{self.name}' expects signals (samples,) or (batch, samples), "
                             f"got a scalar.")
        real, imag = _stft(x, self.sequence_length, self.sequence_stride, self.fft_length, self._window, center=True)
        spectrum = jnp.power(jnp.sqrt(jnp.square(real) + jnp.square(imag)), self.mag_exp)
        matrix = self.linear_to_mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate,
                                                  self.min_freq, self.max_freq)
        mel = jnp.tensordot(spectrum, matrix.astype(spectrum.dtype), axes=1)
        if self.power_to_db:
            mel = self._decibels(mel)
        return jnp.swapaxes(mel, -1, -2).astype(self.compute_dtype)

    def _decibels(self, power):
        db = 10.0 * jnp.log10(jnp.maximum(power, self.min_power))
        db = db - 10.0 * float(np.log10(max(abs(self.ref_power), self.min_power)))
        if self.top_db is None:
            return db
        # Each spectrogram's own maximum, so an example's output does not depend on its batch.
        peak = jnp.max(db, axis=(-2, -1), keepdims=True)
        return jnp.maximum(db, peak - self.top_db)

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``: ``(..., num_mel_bins, frames)``.

        Args:
          input_shape: ``(samples,)`` or ``(batch, samples)``; sizes may be None.

        >>> import highlevel as hl
        >>> hl.layers.MelSpectrogram(num_mel_bins=80, sequence_stride=128).compute_output_shape((None, 16000))
        (None, 80, 126)
        """
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(f"MelSpectrogram layer '{self.name}' expects signals (samples,) or (batch, samples), "
                             "got a scalar shape ().")
        samples = input_shape[-1]
        frames = None if samples is None else (
            (samples + 2 * (self.fft_length // 2) - self.fft_length) // self.sequence_stride + 1)
        return input_shape[:-1] + (self.num_mel_bins, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}
