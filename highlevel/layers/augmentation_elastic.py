"""RandomElasticTransform: each image resampled through a smoothed random displacement field.

Keras 3's arguments and config keys. As the other augmentation layers, each image
draws its own parameters (whether it is transformed, its distortion scale, its
noise) from the step's key inside the compiled step, the layer is the identity
outside training, and ``factor`` and ``scale`` are ``Hyperparameter`` arrays that
can be set between steps without recompiling. Keras's Gaussian filter has a size
that depends on the drawn scale (``int(6 * sigma) | 1`` taps); here each image's
filter is a banded matrix whose band has that width, so the size need not be
known when the step is compiled.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation_color import _check_range_factor, _check_value_range, _ColorAugmentation
from highlevel.layers.base import register_layer
from highlevel.layers.image_ops import _INTERPOLATIONS, _check_choice, _is_number, _resample_one

__all__ = ["RandomElasticTransform"]

_ELASTIC_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _blur_matrix(size: int, sigma, half):
    """(batch, size, size): row ``i`` holds Keras's normalized 1-D Gaussian taps around ``i``
    (``half`` taps each side, zero beyond the image, as a zero-padded "same" convolution)."""
    offsets = (jnp.arange(size, dtype=jnp.float32)[None, :] - jnp.arange(size, dtype=jnp.float32)[:, None])
    offsets = offsets[None]
    sigma = jnp.reshape(sigma, (-1, 1, 1))
    taps = jnp.arange(-size + 1, size, dtype=jnp.float32)[None, None, :]
    inside = jnp.abs(taps) <= jnp.reshape(half, (-1, 1, 1))
    # The full kernel's sum, for Keras's normalization (taps that fall outside the image count too).
    total = jnp.sum(jnp.where(inside, jnp.exp(-0.5 * (taps / sigma) ** 2), 0.0), axis=-1, keepdims=True)
    weights = jnp.exp(-0.5 * (offsets / sigma) ** 2) / total
    return jnp.where(jnp.abs(offsets) <= jnp.reshape(half, (-1, 1, 1)), weights, 0.0)


def elastic_displacements(noise, alpha, sigma):
    """Keras's ``alpha * gaussian_blur(noise * sigma)`` for a batch of fields ``noise`` (batch, h, w).

    ``alpha`` and ``sigma`` are one number per image; the filter has ``int(6 * sigma) | 1``
    taps and is zero padded, as Keras's ``ops.image.elastic_transform``.
    """
    batch, height, width = noise.shape
    alpha = jnp.reshape(jnp.asarray(alpha, jnp.float32), (-1,))
    sigma = jnp.reshape(jnp.asarray(sigma, jnp.float32), (-1,))
    alpha, sigma = jnp.broadcast_to(alpha, (batch,)), jnp.broadcast_to(sigma, (batch,))
    # Keras's kernel size int(6 sigma) | 1 has this many taps on each side of the centre.
    half = jnp.floor(6.0 * sigma).astype(jnp.int32) // 2
    positive = sigma > 0
    safe = jnp.where(positive, sigma, 1.0)
    rows, cols = _blur_matrix(height, safe, half), _blur_matrix(width, safe, half)
    field = noise.astype(jnp.float32) * jnp.reshape(sigma, (batch, 1, 1))
    blurred = jnp.einsum("bij,bjk,blk->bil", rows, field, cols, precision=jax.lax.Precision.HIGHEST)
    return jnp.where(jnp.reshape(positive, (batch, 1, 1)), jnp.reshape(alpha, (batch, 1, 1)) * blurred, 0.0)


@functools.partial(jax.jit, static_argnames=("shape",))
def _draw(key, lower, upper, scale_lower, scale_upper, *, shape: tuple[int, int, int]):
    """Each image's coin, distortion and the two noise fields (batch, height, width)."""
    batch = shape[0]
    key_p, key_u, key_s, key_x, key_y = jax.random.split(key, 5)
    probability = jax.random.uniform(key_p, (batch,), jnp.float32, lower, upper)
    return {"apply_transform": jax.random.uniform(key_u, (batch,)) < probability,
            "distortion_factor": jax.random.uniform(key_s, (batch,), jnp.float32, scale_lower, scale_upper),
            "dx": jax.random.normal(key_x, shape), "dy": jax.random.normal(key_y, shape)}


# Jitted so that an eager call (outside a train step) is one compiled program; inside the step it inlines.
@functools.partial(jax.jit, static_argnames=("interpolation", "fill_mode", "fill_value", "value_range"))
def _elastic(images, apply, factor, dx, dy, *, interpolation: str, fill_mode: str, fill_value: float,
             value_range: tuple[float, float]):
    batch, height, width = images.shape[:3]
    # Keras's order of operations, so that the float32 values (and the filter size) agree.
    alpha = max(height, width) * (0.1 * factor)
    sigma = min(height, width) * (0.05 * factor)
    dx, dy = elastic_displacements(dx, alpha, sigma), elastic_displacements(dy, alpha, sigma)
    ys = jnp.reshape(jnp.arange(height, dtype=jnp.float32), (1, height, 1))
    xs = jnp.reshape(jnp.arange(width, dtype=jnp.float32), (1, 1, width))

    def one(image, y, x):
        return _resample_one(image, y, x, interpolation, fill_mode, fill_value)

    moved = jax.vmap(one)(images, ys + dy, xs + dx)
    return jnp.clip(jnp.where(jnp.reshape(apply, (batch, 1, 1, 1)), moved, images), *value_range).astype(images.dtype)


@register_layer
class RandomElasticTransform(_ColorAugmentation):
    """Distorts each image by a smooth random displacement field, with a random probability, in training.

    Each image draws a probability from ``uniform(lower, upper)`` of ``factor`` and
    is transformed if a second draw falls below it, with a distortion ``s`` drawn
    from ``scale``: two fields of standard normal noise (one per axis) are scaled by
    ``sigma = 0.05 s min(height, width)``, smoothed by a Gaussian filter of that
    sigma, multiplied by ``alpha = 0.1 s max(height, width)``, and each output
    pixel reads the input at its own position moved by them. The result is
    clipped to ``value_range``. Identity outside training.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the probability of transforming an image (default 1.0).
        Settable between steps without recompiling.
      scale: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the distortion's strength (default 1.0). Settable between steps.
      interpolation: ``"bilinear"`` (default) or ``"nearest"``.
      fill_mode: how points outside the image are read: ``"constant"`` (default,
        ``fill_value``), ``"nearest"``, ``"wrap"``, ``"mirror"`` or ``"reflect"``.
      fill_value: the value read outside the image with ``fill_mode="constant"``.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    >>> y = np.asarray(hl.layers.RandomElasticTransform((1.0, 1.0), scale=(1.0, 1.0))(x, training=True))
    >>> y.shape, bool(y.min() >= 0 and y.max() <= 255), bool(np.abs(y - x).max() > 1)
    ((2, 16, 16, 3), True, True)
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float | Sequence[float] = 1.0,
                 interpolation: str = "bilinear", fill_mode: str = "constant", fill_value: float = 0.0,
                 value_range: Sequence[float] = (0, 255), seed: int | None = None, data_format: str | None = None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._init_factor(factor)
        self._set_bounds("scale_", self._check_scale(scale), create=True)
        owner = "RandomElasticTransform"
        self.interpolation = _check_choice(owner, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode = _check_choice(owner, "fill_mode", fill_mode, _ELASTIC_FILL_MODES)
        if not _is_number(fill_value):
            raise ValueError(f"{owner} fill_value must be a number, got {fill_value!r}.")
        self.fill_value = float(fill_value)
        self.value_range = _check_value_range(owner, value_range)

    @staticmethod
    def _check_scale(scale) -> tuple[float, float]:
        return _check_range_factor("RandomElasticTransform", "scale", scale, 0.0, 1.0)

    @property
    def scale(self) -> tuple[float, float]:
        """The current ``(lower, upper)`` range each image's distortion is drawn from."""
        return self._bounds("scale_")

    @scale.setter
    def scale(self, value) -> None:
        self._set_bounds("scale_", self._check_scale(value))

    def _draw(self, key, batch, height: int = 1, width: int = 1):
        bounds = [getattr(self, f"_{p}{side}").get_value() for p in ("", "scale_") for side in ("lower", "upper")]
        return _draw(key, *bounds, shape=(batch, height, width))

    def _augment(self, images, key):
        return self._apply(images, self._draw(key, *images.shape[:3]))

    def _apply(self, images, transformation):
        """``transformation``: ``apply_transform`` (batch,), ``distortion_factor`` (batch,) or one
        number, and the standard normal noise ``dx``, ``dy`` (batch, height, width) before smoothing.
        Keras 3.15 draws ``dx`` and ``dy`` from one key, so they are equal there; give both the same
        array to reproduce its numbers."""
        batch = images.shape[0]
        factor = jnp.broadcast_to(jnp.reshape(jnp.asarray(transformation["distortion_factor"], jnp.float32),
                                              (-1,)), (batch,))
        return _elastic(images, jnp.reshape(jnp.asarray(transformation["apply_transform"]), (batch,)), factor,
                        jnp.asarray(transformation["dx"]), jnp.asarray(transformation["dy"]),
                        interpolation=self.interpolation, fill_mode=self.fill_mode, fill_value=self.fill_value,
                        value_range=self.value_range)

    def get_config(self):
        return {**super().get_config(), "scale": list(self.scale), "interpolation": self.interpolation,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value}
