"""RandAugment: ``num_ops`` augmentations chosen at random from Keras's eleven, applied in turn.

Keras 3's arguments and config keys. Each image draws its own operations (Keras
3.15 draws one set per batch), inside the compiled step: every candidate is
computed and each image keeps the one it drew, as Keras's ``where`` does.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation import RandomContrast, RandomRotation, RandomTranslation, _ImageAugmentation
from highlevel.layers.augmentation_color import RandomColorDegeneration, RandomSharpness, _check_range_factor
from highlevel.layers.augmentation_mix import RandomShear
from highlevel.layers.augmentation_tone import AutoContrast, Equalization, RandomPosterization, Solarization
from highlevel.layers.base import register_layer
from highlevel.layers.image_ops import _INTERPOLATIONS, _check_choice
from highlevel.layers.image_preprocessing import RandomBrightness

__all__ = ["RandAugment"]


def posterization_bits(upper: float) -> int:
    """The bits ``RandomPosterization`` keeps at strength ``upper`` (Keras: ``int(8 * upper)``, at least 1)."""
    return max(1, int(8 * upper))


def set_operations_factor(layer, pair: tuple[float, float]) -> None:
    """Gives every operation of ``layer`` (RandAugment's or AugMix's) the strength bounds ``pair``:
    values in the train state, so the compiled step is kept."""
    layer.random_shear.x_factor = layer.random_shear.y_factor = pair
    layer.random_translation.height_factor = layer.random_translation.width_factor = pair
    for name in ("random_rotation", "random_brightness", "random_color_degeneration", "random_contrast",
                 "random_sharpness"):
        getattr(layer, name).factor = pair
    layer.random_posterization.factor = posterization_bits(pair[1])
    layer.solarization.addition_factor = layer.solarization.threshold_factor = pair


@register_layer
class RandAugment(_ImageAugmentation):
    """Applies ``num_ops`` randomly chosen augmentations to each image in training.

    The candidates, as Keras's: shear, translation, rotation, brightness, color
    degeneration, contrast, sharpness, posterization, solarization, auto contrast
    and equalization, each with strength ``factor`` (posterization keeps
    ``max(1, int(8 * upper))`` bits at most). Identity outside training.

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      num_ops: how many operations each image goes through (default 2).
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the strength range of every operation (default 0.5). Settable between
        steps without recompiling.
      interpolation: ``"bilinear"`` (default) or ``"nearest"``, for the geometric operations.
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    >>> y = hl.layers.RandAugment(num_ops=2)(x, training=True)
    >>> y.shape, bool(np.asarray(y).min() >= 0 and np.asarray(y).max() <= 255)
    ((2, 8, 8, 3), True)
    """

    _OPS = ("random_shear", "random_translation", "random_rotation", "random_brightness",
            "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
            "solarization", "auto_contrast", "equalization")

    def __init__(self, value_range: Sequence[float] = (0, 255), num_ops: int = 2,
                 factor: float | Sequence[float] = 0.5, interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(num_ops, int) or isinstance(num_ops, bool) or num_ops < 0:
            raise ValueError(f"RandAugment num_ops must be a non-negative integer, got {num_ops!r}.")
        self.num_ops = num_ops
        self.interpolation = _check_choice("RandAugment", "interpolation", interpolation, _INTERPOLATIONS)
        lower, upper = self._check(factor)
        kw = {"dtype": kwargs.get("dtype")}
        self.random_brightness = RandomBrightness((lower, upper), value_range=value_range, **kw)
        self.value_range = self.random_brightness.value_range
        vr = {"value_range": self.value_range, **kw}
        self.random_shear = RandomShear((lower, upper), (lower, upper), interpolation=interpolation, **kw)
        self.random_translation = RandomTranslation((lower, upper), (lower, upper), interpolation=interpolation,
                                                    **kw)
        self.random_rotation = RandomRotation((lower, upper), interpolation=interpolation, **kw)
        self.random_color_degeneration = RandomColorDegeneration((lower, upper), **vr)
        self.random_contrast = RandomContrast((lower, upper), **vr)
        self.random_sharpness = RandomSharpness((lower, upper), **vr)
        self.random_posterization = RandomPosterization(posterization_bits(upper), **vr)
        self.solarization = Solarization((lower, upper), (lower, upper), **vr)
        self.auto_contrast = AutoContrast(**vr)
        self.equalization = Equalization(**vr)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        return _check_range_factor("RandAugment", "factor", factor, 0.0, 1.0)

    @property
    def factor(self) -> tuple[float, float]:
        """The ``(lower, upper)`` strength of every operation."""
        return self.random_rotation.factor   # every operation holds the same bounds

    @factor.setter
    def factor(self, value) -> None:
        set_operations_factor(self, self._check(value))

    def _augment(self, images, key):
        batch = images.shape[0]
        for slot_key in jax.random.split(key, self.num_ops):
            key_choice, *op_keys = jax.random.split(slot_key, len(self._OPS) + 1)
            choice = jnp.reshape(jax.random.randint(key_choice, (batch,), 0, len(self._OPS)), (batch, 1, 1, 1))
            out = images
            for index, (name, op_key) in enumerate(zip(self._OPS, op_keys)):
                out = jnp.where(choice == index, getattr(self, name)._augment(images, op_key), out)
            images = out
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "num_ops": self.num_ops,
                "factor": list(self.factor), "interpolation": self.interpolation}
