"""Image preprocessing layers: Resizing, CenterCrop, RandomCrop, RandomBrightness.

Keras's names, arguments and numbers. Resizing goes through ``jax.image.resize``
(what Keras's JAX backend calls), after Keras's center crop or padding to the
target aspect ratio. The random layers draw one crop or brightness shift per
image from the step's key, inside the compiled train step.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from highlevel.layers.augmentation import _ImageAugmentation
from highlevel.layers.base import Layer, format_shape, next_rng_key, register_layer
from highlevel.layers.image_ops import _check_choice, _check_data_format, _check_seed, _is_number, _symmetric_factor

__all__ = ["Resizing", "CenterCrop", "RandomCrop", "RandomBrightness"]

_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _check_size(owner: str, height, width) -> tuple[int, int]:
    for arg, value in (("height", height), ("width", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{owner} {arg} must be a positive integer, got {value!r}.")
    return int(height), int(width)


def _aspect_crop_box(height: int, width: int, target_height: int, target_width: int):
    """Keras's largest centered window of the target aspect ratio: (top, left, rows, columns)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return (int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width)


def resize_images(images, height: int, width: int, interpolation: str = "bilinear",
                  crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                  fill_value: float = 0.0, antialias: bool = False):
    """Keras's ``ops.image.resize`` on channels_last ``images`` (batch, h, w, c), in their float dtype."""
    in_height, in_width = images.shape[1], images.shape[2]
    if crop_to_aspect_ratio:
        top, left, rows, columns = _aspect_crop_box(in_height, in_width, height, width)
        images = images[:, top:top + rows, left:left + columns, :]
    elif pad_to_aspect_ratio:
        # Keras pads both sides by the same amount, and only one axis (the height first).
        pad_height = max(in_height, int(float(in_width * height) / width))
        pad_width = max(in_width, int(float(in_height * width) / height))
        top, left = int(float(pad_height - in_height) / 2), int(float(pad_width - in_width) / 2)
        pads = [(0, 0), (top, top), (0, 0), (0, 0)] if top > 0 else [(0, 0), (0, 0), (left, left), (0, 0)]
        images = jnp.pad(images, pads, constant_values=jnp.asarray(fill_value, images.dtype))
    shape = (images.shape[0], height, width, images.shape[3])
    return jax.image.resize(images, shape, method=interpolation, antialias=antialias).astype(images.dtype)


class _ImageLayer(Layer):
    """Abstract base: channels_last/first and unbatched images around ``_images(batch, training)``."""

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.height, self.width = _check_size(owner, height, width)
        self.data_format = _check_data_format(owner, data_format)

    def _images(self, images, training: bool):
        raise NotImplementedError

    def _input_dtype(self, images):
        return self.compute_dtype

    def call(self, inputs, training: bool = False):
        images = jnp.asarray(inputs)
        if images.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects images of rank 3 "
                             f"(height, width, channels) or 4 (batch, height, width, channels), got "
                             f"shape {format_shape(images.shape)}.")
        dtype = images.dtype
        images = images.astype(self._input_dtype(images))
        unbatched = images.ndim == 3
        if unbatched:
            images = images[None]
        if self.data_format == "channels_first":
            images = jnp.transpose(images, (0, 2, 3, 1))
        out = self._images(images, training)
        if self._keeps_integers and jnp.issubdtype(dtype, jnp.integer):
            info = jnp.iinfo(dtype)
            out = jnp.clip(jnp.round(out), info.min, info.max).astype(dtype)
        if self.data_format == "channels_first":
            out = jnp.transpose(out, (0, 3, 1, 2))
        return out[0] if unbatched else out

    _keeps_integers = False

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}


@register_layer
class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)``, optionally cropping or padding to that aspect ratio first.

    As Keras, integer images come out in their own dtype (rounded and clipped to
    its range), float images in the layer's compute dtype.

    Args:
      height: the output height.
      width: the output width.
      interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
        ``"lanczos3"`` or ``"lanczos5"``.
      crop_to_aspect_ratio: first crop the largest centered window of the target
        aspect ratio, so nothing is stretched.
      pad_to_aspect_ratio: first pad the short side evenly with ``fill_value`` to
        the target aspect ratio, so nothing is stretched or lost.
      fill_mode: how padding is filled; only ``"constant"``, as in Keras.
      fill_value: the padding value.
      antialias: filter when downsampling (``jax.image.resize``'s ``antialias``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image ``(height, width,
    channels)``; output ``(batch, height, width, channels)`` with the new size
    (channels_first: channels before height and width).

    >>> import highlevel as hl, numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32").reshape(1, 2, 2, 1)
    >>> hl.layers.Resizing(1, 1)(x).ravel().tolist()
    [2.5]
    """

    _keeps_integers = True

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0, antialias: bool = False,
                 data_format: str | None = None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        self.interpolation = _check_choice("Resizing", "interpolation", interpolation, _RESIZE_INTERPOLATIONS)
        self.fill_mode = _check_choice("Resizing", "fill_mode", fill_mode, ("constant",))
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing takes crop_to_aspect_ratio or pad_to_aspect_ratio, not both: "
                             "set one of them to False.")
        if not _is_number(fill_value):
            raise ValueError(f"Resizing fill_value must be a number, got {fill_value!r}.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    def _input_dtype(self, images):
        return "float32" if jnp.issubdtype(images.dtype, jnp.integer) else self.compute_dtype

    def _images(self, images, training):
        return resize_images(images, self.height, self.width, self.interpolation, self.crop_to_aspect_ratio,
                             self.pad_to_aspect_ratio, self.fill_value, self.antialias)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


def _center_or_resize(images, height: int, width: int):
    """Keras's CenterCrop: the centered window when the image is large enough on both axes, else
    the largest centered window of the target aspect ratio resized (bilinear) to the target."""
    in_height, in_width = images.shape[1], images.shape[2]
    if in_height >= height and in_width >= width:
        top, left = (in_height - height) // 2, (in_width - width) // 2
        return images[:, top:top + height, left:left + width, :]
    return resize_images(images, height, width, crop_to_aspect_ratio=True)


@register_layer
class CenterCrop(_ImageLayer):
    """Crops the central ``(height, width)`` window of each image.

    An image smaller than the target on either axis is instead cropped to the
    target aspect ratio and resized up to it (bilinear), as Keras does.

    Args:
      height: the output height.
      width: the output width.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output with the new
    height and width, as floats of the layer's dtype.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    >>> hl.layers.CenterCrop(1, 1)(x).ravel().tolist()
    [4.0]
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)

    def _images(self, images, training):
        return _center_or_resize(images, self.height, self.width)


@register_layer
class RandomCrop(_ImageLayer):
    """Crops a random ``(height, width)`` window of each image in training; center-crops at inference.

    In training each image draws its own window (Keras 3 draws one for the whole
    batch). At inference, and in training for an image smaller than the target on
    either axis, the largest centered window of the target aspect ratio is
    resized (bilinear) to ``(height, width)``, as tf.keras did and Keras's
    ``smart_resize`` does (Keras 3.15 returns the input uncropped at inference,
    which contradicts its own output shape).

    Args:
      height: the output height.
      width: the output width.
      seed: folded into the step's random key (two layers with different seeds
        draw differently); the draws still follow ``hl.utils.set_random_seed``.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output with the new
    height and width, as floats of the layer's dtype.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> y = np.asarray(hl.layers.RandomCrop(2, 2)(x, training=True)).ravel().tolist()
    >>> y in [[r * 4 + c, r * 4 + c + 1, r * 4 + c + 4, r * 4 + c + 5] for r in range(3) for c in range(3)]
    True
    >>> hl.layers.RandomCrop(2, 2)(x).ravel().tolist()  # inference: the center, resized
    [2.5, 4.5, 10.5, 12.5]
    """

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        self.seed = _check_seed("RandomCrop", seed)

    def _images(self, images, training):
        batch, in_height, in_width, channels = images.shape
        if not training or in_height < self.height or in_width < self.width:
            return resize_images(images, self.height, self.width, crop_to_aspect_ratio=True)
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        key_h, key_w = jax.random.split(key)
        tops = jax.random.randint(key_h, (batch,), 0, in_height - self.height + 1)
        lefts = jax.random.randint(key_w, (batch,), 0, in_width - self.width + 1)

        def crop(image, top, left):
            return lax.dynamic_slice(image, (top, left, 0), (self.height, self.width, channels))

        return jax.vmap(crop)(images, tops, lefts)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register_layer
class RandomBrightness(_ImageAugmentation):
    """Adds a random brightness shift to each image in training, clipped to ``value_range``.

    Each image draws ``delta = uniform(lower, upper) * (high - low)`` and every
    pixel and channel becomes ``clip(x + delta, low, high)``; the identity outside
    training.

    Args:
      factor: a fraction of the value range, or a pair ``(lower, upper)``, in
        [-1, 1]; ``f`` alone means ``(-|f|, |f|)``. Settable between steps without
        recompiling (``layer.factor = 0.1``).
      value_range: ``(low, high)``, the range the images' values are in (and are
        clipped to).
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same
    shape, as floats of the layer's dtype.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))
    >>> np.asarray(layer(np.array([[[[0.2], [0.7]]]], "float32"), training=True)).ravel().tolist()
    [0.699999988079071, 1.0]
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
                or not all(_is_number(v) for v in value_range) or value_range[0] == value_range[1]):
            raise ValueError(f"RandomBrightness value_range must be a pair of two different numbers "
                             f"(low, high), got {value_range!r}.")
        self.value_range = tuple(sorted(float(v) for v in value_range))
        self._set_bounds("", self._check(factor), create=True)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        return _symmetric_factor("RandomBrightness", "factor", factor, -1.0, 1.0,
                                 meaning=" (fractions of the value range)")[0]

    @property
    def factor(self) -> tuple[float, float]:
        """The current ``(lower, upper)`` bounds, in fractions of the value range."""
        return self._bounds("")

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check(value))

    def _augment(self, images, key):
        batch = images.shape[0]
        delta = self._uniform(key, batch, "") * (self.value_range[1] - self.value_range[0])
        return self._shift(images, jnp.reshape(delta, (batch, 1, 1, 1)))

    def _shift(self, images, delta):
        return jnp.clip(images + delta.astype(images.dtype), self.value_range[0], self.value_range[1])

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Applies Keras's ``{"rgb_delta": (batch, 1, 1, 1)}`` to channels_last ``images``."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        delta = jnp.asarray(transformation["rgb_delta"], jnp.float32)
        return self._shift(images, jnp.reshape(delta, (images.shape[0], 1, 1, 1)))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
