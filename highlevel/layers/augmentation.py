"""Image augmentation layers: RandomFlip, RandomTranslation, RandomRotation, RandomZoom, RandomContrast.

Keras's names, arguments and semantics, but run on the device inside the
compiled train step: pure ``jnp``/``lax``, one random draw per image from the
step's key (``next_rng_key``), and the identity outside training. The strength
factors are ``Hyperparameter`` arrays, so a callback may change them between
steps (``layer.factor = 0.1``) without recompiling.

Geometric layers build one affine transform per image (Keras's 8-number form,
``x_in = a0 x + a1 y + a2``, ``y_in = b0 x + b1 y + b2``: where each output
pixel reads the input) and resample with the same interpolation and fill modes
as ``jax.scipy.ndimage.map_coordinates`` (what Keras's JAX backend uses), but
gathering all channels of a pixel at once.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.base import Layer, format_shape, next_rng_key, register_layer
from highlevel.layers.image_ops import (_FILL_MODES, _FLIP_MODES, _INTERPOLATIONS, _as_float, _check_choice, _check_data_format, _check_seed, _config_factor, _is_number, _symmetric_factor, affine_transform)

__all__ = ["RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast"]

# ---------------------------------------------------------------------------
# The layers.


class _ImageAugmentation(Layer):
    """Abstract base: checks and reshapes images, draws the key, and is the identity outside training.

    Subclasses implement ``_augment(images, key)`` on channels_last batches.
    """

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.seed = _check_seed(owner, seed)
        self.data_format = _check_data_format(owner, data_format)

    def _augment(self, images, key):
        raise NotImplementedError

    def call(self, inputs, training: bool = False):
        images = jnp.asarray(inputs).astype(self.compute_dtype)
        if images.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects images of rank 3 "
                             f"(height, width, channels) or 4 (batch, height, width, channels), got "
                             f"shape {format_shape(images.shape)}.")
        if not training:
            return images
        unbatched = images.ndim == 3
        if unbatched:
            images = images[None]
        if self.data_format == "channels_first":
            images = jnp.transpose(images, (0, 2, 3, 1))
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        out = self._augment(images, key)
        if self.data_format == "channels_first":
            out = jnp.transpose(out, (0, 3, 1, 2))
        return out[0] if unbatched else out

    def _bounds(self, prefix: str) -> tuple[float, float]:
        return (_as_float(getattr(self, f"_{prefix}lower").get_value()),
                _as_float(getattr(self, f"_{prefix}upper").get_value()))

    def _set_bounds(self, prefix: str, bounds: tuple[float, float], create: bool = False) -> None:
        for side, value in zip(("lower", "upper"), bounds):
            if create:
                self.add_hyperparameter(f"_{prefix}{side}", value)
            else:
                self._set_hyperparameter(f"_{prefix}{side}", value)

    def _uniform(self, key, batch: int, prefix: str, offset: float = 0.0):
        lower = getattr(self, f"_{prefix}lower").get_value() + offset
        upper = getattr(self, f"_{prefix}upper").get_value() + offset
        return jax.random.uniform(key, (batch,), jnp.float32, lower, upper)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class _AffineAugmentation(_ImageAugmentation):
    """Abstract base of the geometric layers: fill mode, interpolation and fill value."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = type(self).__name__
        self.fill_mode = _check_choice(owner, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = _check_choice(owner, "interpolation", interpolation, _INTERPOLATIONS)
        if not _is_number(fill_value):
            raise ValueError(f"{owner} fill_value must be a number, got {fill_value!r}.")
        self.fill_value = float(fill_value)

    def _transforms(self, key, batch: int, height: int, width: int):
        raise NotImplementedError

    def _augment(self, images, key):
        transforms = self._transforms(key, images.shape[0], images.shape[1], images.shape[2])
        return affine_transform(images, transforms, self.interpolation, self.fill_mode, self.fill_value)

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Applies a Keras ``transformation`` dict (from Keras's ``get_random_transformation``) to
        channels_last ``images``: the same parameters give the same images as Keras's layer."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        return affine_transform(images, self._transforms_from(transformation, images.shape),
                                self.interpolation, self.fill_mode, self.fill_value)

    def _transforms_from(self, transformation: dict, shape):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


@register_layer
class RandomFlip(_ImageAugmentation):
    """Flips each image at random, left-right and/or top-bottom, in training (identity otherwise).

    Each image draws its own flips (probability 1/2 each). In
    ``"horizontal_and_vertical"`` mode the two flips are drawn independently, so
    an image comes out unflipped, mirrored, upside down or both, as in tf.keras
    (Keras 3 draws one coin for both axes, giving only none-or-both).

    Args:
      mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
        ``"horizontal_and_vertical"``.
      seed: folded into the step's random key (two layers with different seeds
        draw differently); the draws still follow ``hl.utils.set_random_seed``.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image ``(height, width,
    channels)``; output the same shape, as floats of the layer's dtype.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1)
    >>> y = hl.layers.RandomFlip("horizontal")(x, training=True)
    >>> np.asarray(y).ravel().tolist() in ([0.0, 1.0, 2.0], [2.0, 1.0, 0.0])
    True
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _check_choice("RandomFlip", "mode", mode, _FLIP_MODES)

    def _augment(self, images, key):
        batch = images.shape[0]
        key_h, key_v = jax.random.split(key)
        out = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = jnp.reshape(jax.random.uniform(key_h, (batch,)) < 0.5, (batch, 1, 1, 1))
            out = jnp.where(flip, jnp.flip(out, axis=2), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = jnp.reshape(jax.random.uniform(key_v, (batch,)) < 0.5, (batch, 1, 1, 1))
            out = jnp.where(flip, jnp.flip(out, axis=1), out)
        return out

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@register_layer
class RandomTranslation(_AffineAugmentation):
    """Shifts each image by a random fraction of its height and width in training.

    Args:
      height_factor: a fraction of the height, or a pair ``(lower, upper)``, in
        [-1, 1]: each image moves down by ``uniform(lower, upper) * height`` pixels
        (negative: up); ``f`` alone means ``(-|f|, |f|)``. Settable between steps
        without recompiling (``layer.height_factor = 0.1``).
      width_factor: the same for the width (positive: right).
      fill_mode: how pixels from outside the image are filled: ``"reflect"``
        (d c b a | a b c d | d c b a), ``"wrap"`` (a b c d | a b c d), ``"nearest"``
        (a a | a b c d | d d) or ``"constant"`` (``fill_value``).
      interpolation: ``"bilinear"`` or ``"nearest"``.
      seed: folded into the step's random key.
      fill_value: the value used by ``fill_mode="constant"``.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomTranslation((0.5, 0.5), 0.0, fill_mode="constant")
    >>> np.asarray(layer(np.ones((1, 2, 1, 1), "float32"), training=True)).ravel().tolist()
    [0.0, 1.0]
    """

    def __init__(self, height_factor: float | Sequence[float], width_factor: float | Sequence[float],
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self._set_factor("height", height_factor, create=True)
        self._set_factor("width", width_factor, create=True)

    def _set_factor(self, axis: str, factor, create: bool = False) -> None:
        bounds, given = _symmetric_factor("RandomTranslation", f"{axis}_factor", factor, -1.0, 1.0,
                                          meaning=f" (fractions of the image {axis})")
        self._set_bounds(f"{axis}_", bounds, create=create)
        setattr(self, f"_{axis}_factor_given", given)

    @property
    def height_factor(self):
        """The height factor as last given (a number or a pair)."""
        return self._height_factor_given

    @height_factor.setter
    def height_factor(self, value) -> None:
        self._set_factor("height", value)

    @property
    def width_factor(self):
        """The width factor as last given (a number or a pair)."""
        return self._width_factor_given

    @width_factor.setter
    def width_factor(self, value) -> None:
        self._set_factor("width", value)

    @property
    def height_lower(self) -> float:
        return self._bounds("height_")[0]

    @property
    def height_upper(self) -> float:
        return self._bounds("height_")[1]

    @property
    def width_lower(self) -> float:
        return self._bounds("width_")[0]

    @property
    def width_upper(self) -> float:
        return self._bounds("width_")[1]

    @staticmethod
    def _matrix(dx, dy):
        ones, zeros = jnp.ones_like(dx), jnp.zeros_like(dx)
        return jnp.stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)

    def _transforms(self, key, batch, height, width):
        key_h, key_w = jax.random.split(key)
        dy = self._uniform(key_h, batch, "height_") * height
        dx = self._uniform(key_w, batch, "width_") * width
        return self._matrix(dx, dy)

    def _transforms_from(self, transformation, shape):
        # Keras's "translations": (batch, 2) of (dx, dy) in pixels.
        translations = jnp.asarray(transformation["translations"], jnp.float32)
        return self._matrix(translations[:, 0], translations[:, 1])

    def get_config(self):
        return {**super().get_config(), "height_factor": _config_factor(self.height_factor),
                "width_factor": _config_factor(self.width_factor)}


def _rotation_matrix(angle_degrees, height: int, width: int):
    """Keras's rotation about the image center (``_compute_affine_matrix`` without shear or scale)."""
    angle = angle_degrees * jnp.float32(math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    a2 = cx - cx * cos + cy * sin
    b2 = cy - cx * sin - cy * cos
    return jnp.stack([cos, -sin, a2, sin, cos, b2], axis=1)


@register_layer
class RandomRotation(_AffineAugmentation):
    """Rotates each image by a random angle about its center in training.

    Args:
      factor: a fraction of a full turn, or a pair ``(lower, upper)``, in [-1, 1]:
        each image turns by ``uniform(lower, upper) * 360`` degrees; ``f`` alone
        means ``(-|f|, |f|)``. Settable between steps without recompiling
        (``layer.factor = 0.05``).
      fill_mode, interpolation, seed, fill_value, data_format: as ``RandomTranslation``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    >>> y = hl.layers.RandomRotation((0.5, 0.5))(x, training=True)
    >>> np.round(np.asarray(y).ravel(), 4).tolist()
    [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, factor: float | Sequence[float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self._set_bounds("", self._check(factor), create=True)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        return _symmetric_factor("RandomRotation", "factor", factor, -1.0, 1.0,
                                 meaning=" (fractions of a full turn)")[0]

    @property
    def factor(self) -> tuple[float, float]:
        """The current ``(lower, upper)`` bounds, in fractions of a full turn."""
        return self._bounds("")

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check(value))

    def _transforms(self, key, batch, height, width):
        return _rotation_matrix(self._uniform(key, batch, "") * 360.0, height, width)

    def _transforms_from(self, transformation, shape):
        if "angle" in transformation:
            angle = jnp.reshape(jnp.asarray(transformation["angle"], jnp.float32), (-1,))
            return _rotation_matrix(angle, shape[1], shape[2])
        return jnp.reshape(jnp.asarray(transformation["rotation_matrix"], jnp.float32), (shape[0], -1))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


@register_layer
class RandomZoom(_AffineAugmentation):
    """Zooms each image in or out about its center by a random factor in training.

    Args:
      height_factor: a fraction, or a pair ``(lower, upper)``, in (-1, 1]: each
        image's height is scaled by ``1 / (1 + uniform(lower, upper))`` (positive
        values zoom out, negative zoom in); ``f`` alone means ``(-|f|, |f|)``.
        Settable between steps without recompiling.
      width_factor: the same for the width, or None to zoom the width by the
        height's draw (keeping the aspect ratio).
      fill_mode, interpolation, seed, fill_value, data_format: as ``RandomTranslation``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomZoom((1.0, 1.0), fill_mode="constant")  # zoom out 2x
    >>> np.asarray(layer(np.ones((1, 1, 5, 1), "float32"), training=True)).ravel().tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, height_factor: float | Sequence[float],
                 width_factor: float | Sequence[float] | None = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self._same_zoom = width_factor is None
        self._set_factor("height", height_factor, create=True)
        self._width_factor_given = None
        if not self._same_zoom:
            self._set_factor("width", width_factor, create=True)

    def _set_factor(self, axis: str, factor, create: bool = False) -> None:
        bounds, given = _symmetric_factor("RandomZoom", f"{axis}_factor", factor, -1.0, 1.0, low_open=True)
        self._set_bounds(f"{axis}_", bounds, create=create)
        setattr(self, f"_{axis}_factor_given", given)

    @property
    def height_factor(self):
        """The height factor as last given (a number or a pair)."""
        return self._height_factor_given

    @height_factor.setter
    def height_factor(self, value) -> None:
        self._set_factor("height", value)

    @property
    def width_factor(self):
        """The width factor as last given, or None when the width follows the height."""
        return self._width_factor_given

    @width_factor.setter
    def width_factor(self, value) -> None:
        if self._same_zoom or value is None:
            raise ValueError(f"RandomZoom layer '{self.name}' was created with "
                             f"width_factor={self._width_factor_given!r}, which fixes whether the width "
                             "is zoomed on its own; create a new layer to change that.")
        self._set_factor("width", value)

    @staticmethod
    def _matrix(zx, zy, height: int, width: int):
        zeros = jnp.zeros_like(zx)
        x_offset = (width - 1.0) / 2.0 * (1.0 - zx)
        y_offset = (height - 1.0) / 2.0 * (1.0 - zy)
        return jnp.stack([zx, zeros, x_offset, zeros, zy, y_offset], axis=1)

    def _transforms(self, key, batch, height, width):
        key_h, key_w = jax.random.split(key)
        zy = self._uniform(key_h, batch, "height_", offset=1.0)
        zx = zy if self._same_zoom else self._uniform(key_w, batch, "width_", offset=1.0)
        return self._matrix(zx, zy, height, width)

    def _transforms_from(self, transformation, shape):
        # Keras's "height_zoom"/"width_zoom": (batch, 1) factors, 1 + the drawn fraction.
        zy = jnp.reshape(jnp.asarray(transformation["height_zoom"], jnp.float32), (-1,))
        zx = jnp.reshape(jnp.asarray(transformation["width_zoom"], jnp.float32), (-1,))
        return self._matrix(zx, zy, shape[1], shape[2])

    def get_config(self):
        width = None if self.width_factor is None else _config_factor(self.width_factor)
        return {**super().get_config(), "height_factor": _config_factor(self.height_factor),
                "width_factor": width}


@register_layer
class RandomContrast(_ImageAugmentation):
    """Scales each image's contrast by a random factor in training, per channel about its mean.

    Each pixel ``x`` of a channel becomes ``(x - mean) * c + mean`` (``mean`` over
    that image's height and width), clipped to ``value_range``; each image draws
    ``c`` from ``uniform(1 - lower, 1 + upper)``.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``lower = upper = f`` (as Keras
        documents; Keras 3.x itself draws from ``[1, 1 + f]``), or a pair
        ``(lower, upper)`` with ``lower`` in [0, 1] and ``upper >= 0``. Settable
        between steps without recompiling (``layer.factor = 0.2``).
      value_range: ``(low, high)``, the range the images' values are in (and are
        clipped to).
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomContrast((0.0, 1.0), value_range=(0, 10))  # c in [1, 2]
    >>> y = np.asarray(layer(np.array([[[[2.0], [4.0]]]], "float32"), training=True)).ravel()
    >>> bool(y[0] <= 2.0 and y[1] >= 4.0)
    True
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
                or not all(_is_number(v) for v in value_range) or not value_range[0] < value_range[1]):
            raise ValueError(f"RandomContrast value_range must be a pair (low, high) with low < high, "
                             f"got {value_range!r}.")
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self._set_bounds("", self._check(factor), create=True)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        expected = ("RandomContrast factor must be a number in [0, 1] or a pair (lower, upper) with "
                    "lower in [0, 1] and upper >= 0 (the contrast factor is drawn from "
                    "[1 - lower, 1 + upper])")
        if _is_number(factor):
            lower = upper = float(factor)
            if not 0.0 <= lower <= 1.0:
                raise ValueError(f"{expected}, got {factor!r}.")
        elif isinstance(factor, (tuple, list)) and len(factor) == 2 and all(_is_number(f) for f in factor):
            lower, upper = float(factor[0]), float(factor[1])
            if not (0.0 <= lower <= 1.0 and upper >= 0.0):
                raise ValueError(f"{expected}, got {factor!r}.")
        else:
            raise ValueError(f"{expected}, got {factor!r}.")
        return lower, upper

    @property
    def factor(self) -> tuple[float, float]:
        """The current ``(lower, upper)``: contrast factors are drawn from ``[1 - lower, 1 + upper]``."""
        return self._bounds("")

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check(value))

    def _augment(self, images, key):
        batch = images.shape[0]
        lower, upper = self._lower.get_value(), self._upper.get_value()
        contrast = jax.random.uniform(key, (batch,), jnp.float32, 1.0 - lower, 1.0 + upper)
        return self._adjust(images, jnp.reshape(contrast, (batch, 1, 1, 1)))

    def _adjust(self, images, contrast):
        mean = jnp.mean(images, axis=(1, 2), keepdims=True)
        out = (images - mean) * contrast.astype(images.dtype) + mean
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Applies Keras's ``{"contrast_factor": (batch, 1, 1, 1)}`` to channels_last ``images``."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        factor = jnp.asarray(transformation["contrast_factor"], jnp.float32)
        return self._adjust(images, jnp.reshape(factor, (images.shape[0], 1, 1, 1)))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
