"""Color augmentation layers: RandomGrayscale, RandomHue, RandomSaturation, RandomColorDegeneration,
RandomSharpness and RandomColorJitter.

Keras 3's names, arguments and config keys. As the other augmentation layers,
they draw one set of parameters per image from the step's key inside the
compiled step, are the identity outside training, and keep their strength
factors in ``Hyperparameter`` arrays (``layer.factor = 0.2`` between steps
recompiles nothing). ``transform_images(images, transformation)`` applies a
Keras transformation dict (from Keras's ``get_random_transformation``), which is
how the tests compare the numbers with Keras's own layers.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation import RandomContrast, _ImageAugmentation
from highlevel.layers.base import register_layer
from highlevel.layers.image_ops import _is_number
from highlevel.layers.image_preprocessing import RandomBrightness

__all__ = ["RandomGrayscale", "RandomHue", "RandomSaturation", "RandomColorDegeneration", "RandomSharpness",
           "RandomColorJitter"]

_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)   # tf.image.rgb_to_grayscale's, as Keras


def _check_value_range(owner: str, value_range) -> tuple[float, float]:
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(_is_number(v) for v in value_range) or value_range[0] == value_range[1]):
        raise ValueError(f"{owner} value_range must be a pair of two different numbers (low, high), "
                         f"got {value_range!r}.")
    return tuple(sorted(float(v) for v in value_range))


def _check_range_factor(owner: str, arg: str, factor, low: float, high: float) -> tuple[float, float]:
    """A number ``f`` means ``(low, f)``; a pair is sorted; every value must lie in ``[low, high]``."""
    expected = f"{owner} {arg} must be a number or a pair of numbers in [{low:g}, {high:g}]"
    if _is_number(factor):
        values = [low, float(factor)]
        checked = [float(factor)]
    elif isinstance(factor, (tuple, list)) and len(factor) == 2 and all(_is_number(f) for f in factor):
        values = checked = sorted(float(f) for f in factor)
    else:
        raise ValueError(f"{expected}, got {factor!r}.")
    if not all(low <= v <= high for v in checked):
        raise ValueError(f"{expected}, got {factor!r}.")
    return values[0], values[1]


def _per_image(values, batch: int):
    return jnp.reshape(jnp.asarray(values, jnp.float32), (batch, 1, 1, 1))


def _to_unit(images, value_range):
    low, high = value_range
    return (images - low) / (high - low)


def _from_unit(images, value_range):
    low, high = value_range
    return images * (high - low) + low


def rgb_to_grayscale(images):
    """Keras's ``ops.image.rgb_to_grayscale`` on channels_last images: one channel (1-channel input as is)."""
    if images.shape[-1] == 1:
        return images
    weights = jnp.reshape(jnp.asarray(_GRAY_WEIGHTS, images.dtype), (1,) * (images.ndim - 1) + (3,))
    return jnp.sum(images * weights, axis=-1, keepdims=True)


def rgb_to_hsv(images):
    """Keras's (dm_pix's) RGB to HSV on channels_last images, hue in [0, 1)."""
    eps = jnp.finfo(images.dtype).eps
    images = jnp.where(jnp.abs(images) < eps, 0.0, images)
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = jnp.maximum(jnp.maximum(r, g), b)
    spread = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(spread > 0, spread, 1.0))
    hue = jnp.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = jnp.where(value == r, norm * (g - b), hue)
    hue = jnp.where(spread > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return jnp.stack([hue, saturation, value], axis=-1)


def hsv_to_rgb(images):
    """Keras's (dm_pix's) HSV to RGB on channels_last images."""
    hue, saturation, value = images[..., 0], images[..., 1], images[..., 2]
    dh = jnp.mod(hue, 1.0) * 6.0
    dr = jnp.clip(jnp.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = jnp.clip(2.0 - jnp.abs(dh - 2.0), 0.0, 1.0)
    db = jnp.clip(2.0 - jnp.abs(dh - 4.0), 0.0, 1.0)
    rest = 1.0 - saturation
    return jnp.stack([value * (rest + saturation * d) for d in (dr, dg, db)], axis=-1)


class _ColorAugmentation(_ImageAugmentation):
    """Abstract base: ``_draw(key, batch)`` gives Keras's transformation dict, ``_apply`` uses it.

    Layers with a ``factor`` keep its ``(lower, upper)`` in hyperparameters.
    """

    _FACTOR_BOUNDS = (0.0, 1.0)
    _needs_rgb = False

    def _init_factor(self, factor) -> None:
        self._set_bounds("", self._check_factor(factor), create=True)

    def _check_factor(self, factor) -> tuple[float, float]:
        return _check_range_factor(type(self).__name__, "factor", factor, *self._FACTOR_BOUNDS)

    @property
    def factor(self) -> tuple[float, float]:
        """The current ``(lower, upper)`` range each image's factor is drawn from."""
        return self._bounds("")

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check_factor(value))

    def _draw(self, key, batch: int) -> dict:
        raise NotImplementedError

    def _apply(self, images, transformation: dict):
        raise NotImplementedError

    def _check_channels(self, images) -> None:
        if self._needs_rgb and images.shape[-1] != 3:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects RGB images (3 channels), "
                             f"got {images.shape[-1]} channels.")

    def _augment(self, images, key):
        self._check_channels(images)
        return self._apply(images, self._draw(key, images.shape[0]))

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Applies Keras's ``transformation`` (from its ``get_random_transformation``) to a
        channels_last batch: the same parameters give the same images as Keras's layer."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        self._check_channels(images)
        return self._apply(images, transformation)

    def get_config(self):
        config = super().get_config()
        if hasattr(self, "_lower"):
            config["factor"] = list(self.factor)
        if hasattr(self, "value_range"):
            config["value_range"] = list(self.value_range)
        return config


@register_layer
class RandomGrayscale(_ColorAugmentation):
    """Turns each image to grayscale with probability ``factor`` in training (identity otherwise).

    The gray value ``0.2989 r + 0.587 g + 0.114 b`` is written to every channel,
    so the shape is kept.

    Args:
      factor: the probability in [0, 1] that an image is turned gray (default 0.5).
        Settable between steps without recompiling.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, 3)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.RandomGrayscale(1.0)(np.array([[[10.0, 20.0, 30.0]]], "float32"), training=True)
    >>> np.allclose(np.asarray(y), [[[18.149, 18.149, 18.149]]])  # 0.2989*10 + 0.587*20 + 0.114*30
    True
    """

    _needs_rgb = True

    def __init__(self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.add_hyperparameter("_probability", self._check_factor(factor))

    def _check_factor(self, factor) -> float:
        if not _is_number(factor) or not 0.0 <= factor <= 1.0:
            raise ValueError(f"RandomGrayscale factor must be a probability in [0, 1], got {factor!r}.")
        return float(factor)

    @property
    def factor(self) -> float:
        """The probability that an image is turned gray."""
        return float(self._probability.get_value())

    @factor.setter
    def factor(self, value) -> None:
        self._set_hyperparameter("_probability", self._check_factor(value))

    def _draw(self, key, batch):
        return jnp.reshape(jax.random.uniform(key, (batch,)) < self._probability.get_value(), (batch, 1, 1, 1))

    def _apply(self, images, transformation):
        apply = jnp.reshape(jnp.asarray(transformation), (images.shape[0], 1, 1, 1))
        return jnp.where(apply, rgb_to_grayscale(images), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_layer
class RandomHue(_ColorAugmentation):
    """Shifts each image's hue by a random amount in training (identity otherwise).

    Each image draws ``f`` from ``uniform(lower, upper)`` and a random sign, and
    its hue (in turns, [0, 1)) moves by ``sign * f / 2``, wrapping around; so
    ``factor=1`` may turn hues by up to half the color wheel either way.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair
        ``(lower, upper)`` in [0, 1]. Settable between steps without recompiling.
      value_range: ``(low, high)``, the range of the images' values (default
        ``(0, 255)``); the output is clipped to it.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, 3)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomHue((1.0, 1.0), value_range=(0, 1))  # half a turn: the complement
    >>> np.round(np.asarray(layer(np.array([[[1.0, 0.0, 0.0]]], "float32"), training=True)), 3).tolist()
    [[[0.0, 1.0, 1.0]]]
    """

    _needs_rgb = True

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomHue", value_range)
        self._init_factor(factor)

    def _draw(self, key, batch):
        key_sign, key_factor = jax.random.split(key)
        sign = jnp.where(jax.random.uniform(key_sign, (batch,)) > 0.5, -1.0, 1.0)
        return {"factor": sign * self._uniform(key_factor, batch, "") * 0.5}

    def _apply(self, images, transformation):
        shift = jnp.reshape(jnp.asarray(transformation["factor"], images.dtype), (images.shape[0], 1, 1))
        hsv = rgb_to_hsv(_to_unit(images, self.value_range))
        hue = hsv[..., 0] + shift
        hue = jnp.where(hue > 1.0, hue - 1.0, hue)
        hue = jnp.where(hue < 0.0, hue + 1.0, hue)
        rgb = hsv_to_rgb(jnp.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
        return _from_unit(jnp.clip(rgb, 0.0, 1.0), self.value_range).astype(images.dtype)


@register_layer
class RandomSaturation(_ColorAugmentation):
    """Scales each image's saturation by a random amount in training (identity otherwise).

    Each image draws ``f`` from ``uniform(lower, upper)`` and its HSV saturation
    is multiplied by ``f / (1 - f)`` and clipped to [0, 1]: ``f = 0`` gives gray,
    ``f = 0.5`` leaves the image as it is, ``f = 1`` fully saturates. (Keras 3.15
    clips the saturation to ``value_range`` instead and draws ``f`` alone from
    ``(-f, f)``, although it documents ``(0, f)``; the two agree for
    ``value_range=(0, 1)`` and a pair factor in [0, 1].)

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair
        ``(lower, upper)`` in [0, 1]. Settable between steps without recompiling.
      value_range: ``(low, high)``, the range of the images' values (default
        ``(0, 255)``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, 3)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomSaturation((0.0, 0.0))  # fully desaturated
    >>> np.round(np.asarray(layer(np.array([[[200.0, 100.0, 50.0]]], "float32"), training=True)), 3).tolist()
    [[[200.0, 200.0, 200.0]]]
    """

    _needs_rgb = True

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomSaturation", value_range)
        self._init_factor(factor)

    def _draw(self, key, batch):
        factor = self._uniform(key, batch, "")
        return {"factor": factor / (1.0 - factor + 1e-7)}   # Keras's epsilon()

    def _apply(self, images, transformation):
        scale = jnp.reshape(jnp.asarray(transformation["factor"], images.dtype), (images.shape[0], 1, 1))
        hsv = rgb_to_hsv(images)
        saturation = jnp.clip(hsv[..., 1] * scale, 0.0, 1.0)
        return hsv_to_rgb(jnp.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1))


@register_layer
class RandomColorDegeneration(_ColorAugmentation):
    """Blends each image toward its grayscale version by a random amount in training.

    Each image draws ``f`` from ``uniform(lower, upper)`` and becomes
    ``clip(x + f * (gray - x), low, high)``: ``f = 0`` keeps it, ``f = 1`` is gray.
    (Keras 3.15 draws a number ``f`` from ``(-f, f)`` although it documents
    ``(0, f)``; pairs agree.)

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair
        ``(lower, upper)`` in [0, 1]. Settable between steps without recompiling.
      value_range: ``(low, high)``, the range of the images' values and of the output.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, 3)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomColorDegeneration((1.0, 1.0))
    >>> y = layer(np.array([[[10.0, 20.0, 30.0]]], "float32"), training=True)
    >>> np.allclose(np.asarray(y), [[[18.149, 18.149, 18.149]]])
    True
    """

    _needs_rgb = True

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomColorDegeneration", value_range)
        self._init_factor(factor)

    def _draw(self, key, batch):
        return {"factor": _per_image(self._uniform(key, batch, ""), batch)}

    def _apply(self, images, transformation):
        factor = _per_image(transformation["factor"], images.shape[0]).astype(images.dtype)
        out = images + factor * (rgb_to_grayscale(images) - images)
        return jnp.clip(out, *self.value_range)


@register_layer
class RandomSharpness(_ColorAugmentation):
    """Sharpens or blurs each image by a random amount in training (identity otherwise).

    Each image draws ``f`` from ``uniform(lower, upper)`` and becomes
    ``clip(x + (1 - 2f) * (smooth - x), low, high)``, where ``smooth`` is the image
    filtered per channel by Keras's 3x3 kernel (1/13 around 5/13, zero padded):
    ``f = 0.5`` keeps it, lower blurs, higher sharpens.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair
        ``(lower, upper)`` in [0, 1]. Settable between steps without recompiling.
      value_range: ``(low, high)``, the range of the images' values and of the output.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.full((1, 3, 3, 1), 13.0, "float32")
    >>> y = hl.layers.RandomSharpness((0.0, 0.0))(x, training=True)  # full 3x3 smoothing
    >>> float(np.asarray(y)[0, 1, 1, 0])
    13.0
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomSharpness", value_range)
        self._init_factor(factor)

    def _draw(self, key, batch):
        return {"factor": self._uniform(key, batch, "")}

    def _apply(self, images, transformation):
        sharpness = _per_image(transformation["factor"], images.shape[0]).astype(images.dtype) * 2.0
        height, width = images.shape[1], images.shape[2]
        padded = jnp.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
        neighbours = sum(padded[:, i:i + height, j:j + width] for i in range(3) for j in range(3))
        smooth = (neighbours - images) / 13.0 + images * (5.0 / 13.0)
        return jnp.clip(images + (1.0 - sharpness) * (smooth - images), *self.value_range)


def _config_value(value):
    return list(value) if isinstance(value, tuple) else value


@register_layer
class RandomColorJitter(_ImageAugmentation):
    """Random brightness, contrast, saturation and hue changes, in that order, in training.

    Each factor given builds the matching layer (``RandomBrightness``,
    ``RandomContrast``, ``RandomSaturation``, ``RandomHue``) with this
    ``value_range``; None leaves that property alone. Each draws its own
    parameters per image.

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      brightness_factor, contrast_factor, saturation_factor, hue_factor: the
        ``factor`` of each layer, or None (default) to skip it.
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, 3)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomColorJitter(value_range=(0, 1), brightness_factor=(0.5, 0.5))
    >>> np.asarray(layer(np.array([[[0.25, 0.5, 0.75]]], "float32"), training=True)).tolist()
    [[[0.75, 1.0, 1.0]]]
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomColorJitter", value_range)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        dtype = kwargs.get("dtype")
        layers = []
        for cls, factor in ((RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                            (RandomSaturation, saturation_factor), (RandomHue, hue_factor)):
            if factor is not None:
                layers.append(cls(factor, value_range=self.value_range, dtype=dtype))
        self.random_layers = layers

    def _augment(self, images, key):
        for layer, sub_key in zip(self.random_layers, jax.random.split(key, 4)):
            images = layer._augment(images, sub_key)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range),
                "brightness_factor": _config_value(self.brightness_factor),
                "contrast_factor": _config_value(self.contrast_factor),
                "saturation_factor": _config_value(self.saturation_factor),
                "hue_factor": _config_value(self.hue_factor)}
