"""Helpers of the augmentation layers: argument checks and batched affine resampling.

``affine_transform`` resamples each image by its own 8-number affine transform with
the interpolation and fill modes of ``jax.scipy.ndimage.map_coordinates`` (what
Keras's JAX backend uses), gathering all channels of a pixel at once.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import backend as _backend
# The resampler lives with ops.image (its affine/perspective/elastic transforms use it too).
from highlevel.ops.image_transform import resample_image as _resample_one

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# ---------------------------------------------------------------------------
# Argument checks.


def _as_float(value) -> float:
    # The shortest decimal that is this float32 (0.1, not 0.10000000149011612).
    return float(str(np.float32(np.asarray(value))))


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_choice(owner: str, arg: str, value, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{owner} got {arg}={value!r}; expected one of "
                         f"{', '.join(repr(a) for a in allowed)}.")
    return value


def _check_seed(owner: str, seed) -> int | None:
    if seed is None:
        return None
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"{owner} seed must be a non-negative integer or None, got {seed!r}.")
    return int(seed)


def _check_data_format(owner: str, data_format) -> str:
    if data_format is None:
        return _backend.image_data_format()   # Keras's default: channels_last unless set
    return _check_choice(owner, "data_format", data_format, ("channels_last", "channels_first"))


def _symmetric_factor(owner: str, arg: str, factor, low: float, high: float, low_open: bool = False,
                      meaning: str = "") -> tuple[tuple[float, float], Any]:
    """Keras's factor rule: ``f`` means ``[-|f|, |f|]``; a pair is ``[min, max]``; each in range.

    Returns ``((lower, upper), the factor as given, normalized for the config)``.
    """
    opening = "(" if low_open else "["
    expected = (f"{owner} {arg} must be a number or a pair of numbers in "
                f"{opening}{low:g}, {high:g}]{meaning}")
    if _is_number(factor):
        values, given = [-abs(float(factor)), abs(float(factor))], float(factor)
    elif isinstance(factor, (tuple, list)) and len(factor) == 2 and all(_is_number(f) for f in factor):
        values = sorted(float(f) for f in factor)
        given = tuple(float(f) for f in factor)
    else:
        raise ValueError(f"{expected}, got {factor!r}.")
    for value in (float(factor),) if _is_number(factor) else values:
        if not (low < value <= high if low_open else low <= value <= high):
            raise ValueError(f"{expected}, got {factor!r}.")
    return (values[0], values[1]), given


def _config_factor(given):
    return given if isinstance(given, float) else list(given)


# ---------------------------------------------------------------------------
# Resampling: an affine transform per image, Keras's fill modes.


# Jitted so that an eager call (outside a train step) is one compiled program, not dozens of ops;
# inside the train step it simply inlines.
@functools.partial(jax.jit, static_argnames=("interpolation", "fill_mode", "fill_value"))
def affine_transform(images, transforms, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0.0):
    """Resamples each image of ``images`` (batch, h, w, c) through its row of ``transforms``.

    ``transforms`` is (batch, 6) or (batch, 8) in Keras's form ``[a0, a1, a2, b0, b1, b2, ...]``:
    output pixel (row y, column x) takes the input at ``(b0 x + b1 y + b2, a0 x + a1 y + a2)``
    (the projective terms, zero for every layer here, are ignored as Keras's JAX backend does).
    """
    batch, height, width = images.shape[0], images.shape[1], images.shape[2]
    transforms = jnp.asarray(transforms, jnp.float32)
    a0, a1, a2, b0, b1, b2 = (jnp.reshape(transforms[:, i], (batch, 1, 1)) for i in range(6))
    ys = jnp.reshape(jnp.arange(height, dtype=jnp.float32), (1, height, 1))
    xs = jnp.reshape(jnp.arange(width, dtype=jnp.float32), (1, 1, width))
    x_in = a0 * xs + a1 * ys + a2
    y_in = b0 * xs + b1 * ys + b2

    def one(image, y, x):
        return _resample_one(image, y, x, interpolation, fill_mode, fill_value)

    return jax.vmap(one)(images, y_in, x_in)
