"""Tone augmentation layers: RandomInvert, RandomPosterization, Solarization, AutoContrast, Equalization.

Keras 3's names, arguments and config keys, drawn per image from the step's key
inside the compiled step (see ``augmentation_color``). Values are mapped from
``value_range`` to [0, 255] and back, as Keras does. ``AutoContrast`` is
deterministic and, as Keras's, applies in inference too; ``Equalization`` is
deterministic and, as Keras's, applies in training only.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation_color import (_check_range_factor, _check_value_range, _ColorAugmentation,
                                                 _per_image)
from highlevel.layers.base import format_shape, register_layer
from highlevel.layers.image_ops import _is_number

__all__ = ["RandomInvert", "RandomPosterization", "Solarization", "AutoContrast", "Equalization"]


def _to_255(images, value_range):
    low, high = value_range
    return (images - low) * (255.0 / (high - low))


def _from_255(images, value_range):
    low, high = value_range
    return images * ((high - low) / 255.0) + low


@register_layer
class RandomInvert(_ColorAugmentation):
    """Inverts each image (``low + high - x``) with a random probability in training.

    Each image draws a probability ``p`` from ``uniform(lower, upper)`` and is
    inverted if a second draw falls below it; so ``factor=1.0``, meaning
    ``(0, 1)``, inverts half the images, and ``factor=(1, 1)`` all of them.
    (Keras 3.15 writes ``high - x``, the same for ``low = 0``.)

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1].
        Settable between steps without recompiling.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomInvert((1.0, 1.0))
    >>> np.asarray(layer(np.array([[[0.0, 55.0, 255.0]]], "float32"), training=True)).tolist()
    [[[255.0, 200.0, 0.0]]]
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomInvert", value_range)
        self._init_factor(factor)

    def _draw(self, key, batch):
        key_p, key_u = jax.random.split(key)
        probability = self._uniform(key_p, batch, "")
        return {"apply_inversion": jax.random.uniform(key_u, (batch,)) < probability}

    def _apply(self, images, transformation):
        apply = jnp.reshape(jnp.asarray(transformation["apply_inversion"]), (images.shape[0], 1, 1, 1))
        return jnp.where(apply, self.value_range[0] + self.value_range[1] - images, images)


@register_layer
class RandomPosterization(_ColorAugmentation):
    """Keeps only the top bits of each 8-bit channel value, a random number of bits per image, in training.

    Values are mapped to [0, 255], truncated to integers, their low ``8 - bits``
    bits zeroed, and mapped back. Each image draws ``bits`` uniformly from the
    integers ``lower..upper`` (both included; Keras 3.15 leaves ``upper`` out
    unless ``lower == upper``).

    Args:
      factor: an integer ``f`` in [1, 8], meaning ``(1, f)``, or a pair of
        integers in [1, 8]: the number of bits kept. Settable between steps.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomPosterization((2, 2))  # keep 2 bits: multiples of 64
    >>> np.asarray(layer(np.array([[[10.0, 100.0, 255.0]]], "float32"), training=True)).tolist()
    [[[0.0, 64.0, 192.0]]]
    """

    _FACTOR_BOUNDS = (1.0, 8.0)

    def __init__(self, factor: int | Sequence[int], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = _check_value_range("RandomPosterization", value_range)
        self._init_factor(factor)

    def _check_factor(self, factor) -> tuple[float, float]:
        values = factor if isinstance(factor, (tuple, list)) else [factor]
        if not all(_is_number(v) and float(v) == int(v) for v in values):
            raise ValueError(f"RandomPosterization factor must be an integer or a pair of integers in "
                             f"[1, 8], got {factor!r}.")
        return _check_range_factor("RandomPosterization", "factor", factor, 1.0, 8.0)

    @property
    def factor(self) -> tuple[int, int]:
        """The current ``(lower, upper)`` numbers of bits kept."""
        lower, upper = self._bounds("")
        return int(lower), int(upper)

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check_factor(value))

    def _draw(self, key, batch):
        lower = self._lower.get_value().astype(jnp.int32)
        upper = self._upper.get_value().astype(jnp.int32)
        bits = jax.random.randint(key, (batch,), lower, upper + 1)
        return {"shift_factor": 8 - bits}

    def _apply(self, images, transformation):
        step = jnp.exp2(_per_image(transformation["shift_factor"], images.shape[0])).astype(images.dtype)
        values = jnp.floor(jnp.clip(_to_255(images, self.value_range), 0.0, 255.0))
        return _from_255(jnp.floor(values / step) * step, self.value_range)


@register_layer
class Solarization(_ColorAugmentation):
    """Inverts the pixels above a random threshold, after adding a random amount, in training.

    On the [0, 255] scale each image draws an addition ``a`` and a threshold
    ``t`` (``uniform(lower, upper) * 255`` from each factor); each value becomes
    ``v = clip(x + a, 0, 255)`` if ``v < t``, else ``255 - v``. With the default
    factors (``a = t = 0``) every image is inverted. (Keras 3.15 draws from
    ``uniform(lower, upper * 255)``, leaving ``lower`` unscaled.)

    Args:
      addition_factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair
        in [0, 1]: fractions of the value range added before thresholding.
      threshold_factor: the same for the threshold.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      seed: folded into the step's random key.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.Solarization(threshold_factor=(0.5, 0.5), value_range=(0, 1))
    >>> np.asarray(layer(np.array([[[0.25, 0.75]]], "float32"), training=True)).tolist()
    [[[0.25, 0.25]]]
    """

    def __init__(self, addition_factor: float | Sequence[float] = 0.0,
                 threshold_factor: float | Sequence[float] = 0.0, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self._set_bounds("addition_", self._check("addition_factor", addition_factor), create=True)
        self._set_bounds("threshold_", self._check("threshold_factor", threshold_factor), create=True)
        self.value_range = _check_value_range("Solarization", value_range)

    @staticmethod
    def _check(arg, factor):
        return _check_range_factor("Solarization", arg, factor, 0.0, 1.0)

    @property
    def addition_factor(self) -> tuple[float, float]:
        return self._bounds("addition_")

    @addition_factor.setter
    def addition_factor(self, value) -> None:
        self._set_bounds("addition_", self._check("addition_factor", value))

    @property
    def threshold_factor(self) -> tuple[float, float]:
        return self._bounds("threshold_")

    @threshold_factor.setter
    def threshold_factor(self, value) -> None:
        self._set_bounds("threshold_", self._check("threshold_factor", value))

    def _draw(self, key, batch):
        key_a, key_t = jax.random.split(key)
        return {"additions": _per_image(self._uniform(key_a, batch, "addition_") * 255.0, batch),
                "thresholds": _per_image(self._uniform(key_t, batch, "threshold_") * 255.0, batch)}

    def _apply(self, images, transformation):
        batch = images.shape[0]
        additions = _per_image(transformation["additions"], batch).astype(images.dtype)
        thresholds = _per_image(transformation["thresholds"], batch).astype(images.dtype)
        values = jnp.clip(_to_255(images, self.value_range) + additions, 0.0, 255.0)
        return _from_255(jnp.where(values < thresholds, values, 255.0 - values), self.value_range)

    def get_config(self):
        return {**super().get_config(), "addition_factor": list(self.addition_factor),
                "threshold_factor": list(self.threshold_factor)}


@register_layer
class AutoContrast(_ColorAugmentation):
    """Stretches each channel of each image to the full ``value_range``, in training and inference.

    Each channel's lowest value maps to ``low`` and its highest to ``high``,
    linearly; a constant channel is left as it is. Deterministic, so applied
    whatever ``training`` is, as Keras does.

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> np.asarray(hl.layers.AutoContrast((0, 1))(np.array([[[0.25], [0.5], [0.75]]], "float32"))).ravel().tolist()
    [0.0, 0.5, 1.0]
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = _check_value_range("AutoContrast", value_range)

    def call(self, inputs, training: bool = False):
        images = jnp.asarray(inputs).astype(self.compute_dtype)
        if images.ndim not in (3, 4):
            raise ValueError(f"AutoContrast layer '{self.name}' expects images of rank 3 (height, width, "
                             f"channels) or 4 (batch, height, width, channels), got shape "
                             f"{format_shape(images.shape)}.")
        batched = images[None] if images.ndim == 3 else images
        if self.data_format == "channels_first":
            batched = jnp.transpose(batched, (0, 2, 3, 1))
        out = self._apply(batched, None)
        if self.data_format == "channels_first":
            out = jnp.transpose(out, (0, 3, 1, 2))
        return out[0] if images.ndim == 3 else out

    def _draw(self, key, batch):
        return None   # deterministic

    def transform_images(self, images, transformation=None, training: bool = True):
        """Applies the stretch to a channels_last batch (``transformation`` is unused, as Keras's)."""
        return self._apply(jnp.asarray(images).astype(self.compute_dtype), None)

    def _apply(self, images, transformation):
        values = _to_255(images, self.value_range)
        low = jnp.min(values, axis=(1, 2), keepdims=True)
        high = jnp.max(values, axis=(1, 2), keepdims=True)
        spread = high - low
        scale = 255.0 / jnp.where(spread > 0, spread, 1.0)
        out = _from_255(jnp.clip(values * scale + (-low * scale), 0.0, 255.0), self.value_range)
        return jnp.where(spread > 0, out, images)

    def get_config(self):
        config = super().get_config()
        config.pop("seed")
        return config


@register_layer
class Equalization(_ColorAugmentation):
    """Equalizes the histogram of each channel of each image, in training (identity otherwise).

    On the [0, 255] scale, each channel's values are counted into ``bins`` bins and
    mapped through the rounded cumulative histogram, so that the values spread
    over the whole range; a channel with values in one bin only is left as it is.
    Each image is equalized on its own (Keras 3.15 pools the histogram over the
    batch; the two agree on one image).

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      bins: the number of histogram bins, 1 to 256 (default 256).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.array([[[10.0], [10.0], [20.0], [30.0]]], "float32")
    >>> np.asarray(hl.layers.Equalization()(x, training=True)).ravel().tolist()
    [0.0, 0.0, 128.0, 255.0]
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), bins: int = 256, data_format: str | None = None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = _check_value_range("Equalization", value_range)
        if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 256:
            raise ValueError(f"Equalization bins must be an integer in [1, 256], got {bins!r}.")
        self.bins = bins

    def _augment(self, images, key):
        return self._apply(images, None)

    def _apply(self, images, transformation):
        batch, height, width, channels = images.shape
        values = _to_255(images, self.value_range)
        # One row per (image, channel).
        rows = jnp.reshape(jnp.transpose(values, (0, 3, 1, 2)), (batch * channels, height * width))
        bins = self.bins
        counted = jnp.clip((rows * (bins - 1) / 255.0).astype(jnp.int32), 0, bins - 1)
        hist = jax.vmap(lambda r: jnp.bincount(r, length=bins))(counted)
        cdf = jnp.cumsum(hist, axis=1)
        cdf_min = jnp.take_along_axis(cdf, jnp.argmax(cdf > 0, axis=1)[:, None], axis=1)
        spread = cdf[:, -1:] - cdf_min
        lookup = jnp.clip(jnp.round((cdf - cdf_min) * 255 / jnp.where(spread == 0, 1, spread)), 0, 255)
        looked_up = jnp.clip((rows / 255.0) * (bins - 1), 0, bins - 1).astype(jnp.int32)
        equalized = jnp.take_along_axis(lookup, looked_up, axis=1).astype(images.dtype)
        keep = jnp.count_nonzero(hist, axis=1, keepdims=True) <= 1
        out = jnp.where(keep, rows, equalized)
        out = jnp.transpose(jnp.reshape(out, (batch, channels, height, width)), (0, 2, 3, 1))
        return _from_255(out, self.value_range)

    def get_config(self):
        config = {**super().get_config(), "bins": self.bins}
        config.pop("seed")
        return config
