"""Initializers with a fixed structure: orthogonal, identity and STFT (Fourier basis) kernels.

Exported by ``hl.initializers``, which resolves their Keras names.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.initializers.base import Initializer, host_rng
from highlevel.utils import random as _random


def _key(seed, key):
    """The key an initializer draws from: its own seed's when it has one."""
    return key if seed is None else _random.host_key(seed)


class Orthogonal(Initializer):
    """Draws a (semi-)orthogonal matrix, scaled by ``gain``.

        A kernel of more than two dimensions is flattened to ``(prod(shape[:-1]), shape[-1])``.

        Args:
            gain: The factor applied to the orthogonal matrix.
            seed: An integer seed; when given, every call draws the same values.

        >>> import highlevel as hl, jax, numpy as np
        >>> w = np.asarray(hl.initializers.Orthogonal(seed=0)(jax.random.key(0), (3, 3)))
        >>> np.allclose(w @ w.T, np.eye(3), atol=1e-5)
        True
    """
    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = _key(self.seed, key)
        if isinstance(key, jax.core.Tracer) or len(shape) < 2:
            return jax.nn.initializers.orthogonal(scale=self.gain)(key, shape, dtype)
        # On the host, as jax's: QR of a normal matrix, signs fixed by R's diagonal.
        rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
        a = host_rng(key).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return jax.device_put((self.gain * q).reshape(shape).astype(jnp.dtype(dtype)))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """The identity matrix times ``gain`` (Keras's ``"identity"``), for a rank-2 weight.

        A non-square shape gets ones on the main diagonal, as ``numpy.eye(rows, cols)``.

        Args:
            gain: The factor applied to the identity matrix.

        >>> import highlevel as hl, jax
        >>> print(hl.initializers.Identity(gain=2.0)(jax.random.key(0), (2, 3)))
        [[2. 0. 0.]
         [0. 2. 0.]]
    """
    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, key, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(f"Identity initializes only rank-2 weights (matrices), got shape {tuple(shape)}; "
                             "use it for a Dense or recurrent kernel.")
        return jax.device_put((self.gain * np.eye(*shape)).astype(jnp.dtype(dtype)))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Keras's STFT kernel: the real or imaginary part of a windowed Fourier basis.

        For a shape ``(frame_length, 1, fft_bins)`` (``fft_bins = fft_length // 2 + 1``) the
        kernel is ``cos`` (``side="real"``) or ``sin`` (``"imag"``) of ``-2 pi t f / fft_length``,
        times the window and divided by its scaling, as ``keras.initializers.STFT``.

        Args:
            side: ``"real"`` or ``"imag"``.
            window: A window name for ``scipy.signal.get_window`` (needs scipy), an array of
                ``frame_length`` values, or None (no window).
            scaling: ``"density"`` (divide by the window's L2 norm), ``"spectrum"`` (by its
                sum) or None.
            periodic: Whether a named window is periodic (for spectral analysis) rather than
                symmetric.

        >>> import highlevel as hl, jax, numpy as np
        >>> w = hl.initializers.STFT(window=None)(jax.random.key(0), (4, 1, 3))
        >>> print(np.asarray(w)[:, 0, :].round(3) + 0.0)
        [[ 1.  1.  1.]
         [ 1.  0. -1.]
         [ 1. -1.  1.]
         [ 1.  0. -1.]]
    """
    def __init__(self, side: str = "real", window="hann", scaling: str | None = "density", periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT's side must be 'real' or 'imag', got side={side!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT's scaling must be None, 'density' or 'spectrum', got scaling={scaling!r}.")
        self.side, self.scaling, self.periodic = side, scaling, bool(periodic)
        self.window = window
        if isinstance(window, str):
            _named_window(window, 1, self.periodic)   # an unknown name fails here, as in Keras

    def __call__(self, key, shape, dtype=jnp.float32):
        if len(shape) != 3:
            raise ValueError(f"STFT initializes weights of shape (frame_length, 1, fft_bins), got {tuple(shape)}.")
        frame_length, _, bins = shape
        dtype = jnp.dtype(dtype)
        time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        freq = np.arange(bins, dtype=dtype).reshape(1, 1, bins) / dtype.type((bins - 1) * 2)
        args = (-2 * time * freq) * np.arccos(dtype.type(-1))
        kernel = (np.cos(args) if self.side == "real" else np.sin(args)).astype(dtype)
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                win = _named_window(win, frame_length, self.periodic)
            win = np.asarray(win, dtype)
            if win.shape != (frame_length,):
                raise ValueError(f"STFT's window must have frame_length={frame_length} values, got shape {win.shape}.")
            scale = {"density": np.sqrt(np.sum(np.square(win))), "spectrum": np.sum(np.abs(win)), None: 1}
            kernel = kernel * win.reshape(frame_length, 1, 1) / scale[self.scaling]
        return jax.device_put(kernel.astype(dtype))

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "scaling": self.scaling, "periodic": self.periodic}


def _named_window(name: str, length: int, periodic: bool) -> np.ndarray:
    try:
        from scipy.signal import get_window
    except ImportError:
        raise ImportError(f"STFT's window={name!r} is computed by scipy, which is not installed: pip install "
                          "scipy, or pass the window as an array.") from None
    return get_window(name, length, fftbins=periodic)
