"""RandomPerspective: a random projective warp of each image's corners, as Keras 3.

Drawn per image from the step's key inside the compiled step, the identity
outside training; ``transform_images(images, transformation)`` applies Keras's
transformation dict (start and end corner points) to channels_last images.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation_color import _ColorAugmentation
from highlevel.layers.base import register_layer
from highlevel.layers.image_ops import _INTERPOLATIONS, _as_float, _check_choice, _is_number, _resample_one
from highlevel.ops.image_transform import homography

__all__ = ["RandomPerspective"]


@register_layer
class RandomPerspective(_ColorAugmentation):
    """Warps each image by a random perspective transform, with a random probability, in training.

    Each image draws a probability from ``uniform(lower, upper)`` of ``factor`` and
    is warped if a second draw falls below it: its corners ``(0, 0)``, ``(w-1, 0)``,
    ``(0, h-1)``, ``(w-1, h-1)`` move to ``corner * (1 + d)`` with each ``d`` drawn
    from ``uniform(-scale/2, scale/2)`` (so the top-left corner stays), and the
    pixels follow the homography; outside pixels take ``fill_value``.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the warping probability. Settable between steps.
      scale: the strength of the warp, in [0, 1] (default 1.0). Settable between steps.
      interpolation: ``"bilinear"`` (default) or ``"nearest"``.
      fill_value: the value of pixels from outside the image.
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(6, dtype="float32").reshape(1, 2, 3, 1)
    >>> y = hl.layers.RandomPerspective(scale=0.0)(x, training=True)   # corners stay: identity
    >>> np.round(np.asarray(y), 3).ravel().tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._init_factor(factor)
        self.add_hyperparameter("_scale", self._check_scale(scale))
        self.interpolation = _check_choice("RandomPerspective", "interpolation", interpolation, _INTERPOLATIONS)
        if not _is_number(fill_value):
            raise ValueError(f"RandomPerspective fill_value must be a number, got {fill_value!r}.")
        self.fill_value = float(fill_value)

    @staticmethod
    def _check_scale(scale) -> float:
        if not _is_number(scale) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective scale must be a number in [0, 1], got {scale!r}.")
        return float(scale)

    @property
    def scale(self) -> float:
        return _as_float(self._scale.get_value())

    @scale.setter
    def scale(self, value) -> None:
        self._set_hyperparameter("_scale", self._check_scale(value))

    def _augment(self, images, key):
        batch, height, width = images.shape[0], images.shape[1], images.shape[2]
        key_p, key_u, key_d = jax.random.split(key, 3)
        probability = self._uniform(key_p, batch, "")
        half = 0.5 * self._scale.get_value()
        offsets = jax.random.uniform(key_d, (batch, 4, 2), jnp.float32, -half, half)
        corners = jnp.asarray([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]],
                              jnp.float32)
        start = jnp.broadcast_to(corners, (batch, 4, 2))
        return self._apply(images, {"apply_perspective": jax.random.uniform(key_u, (batch,)) < probability,
                                    "start_points": start, "end_points": start + start * offsets})

    def _apply(self, images, transformation):
        batch, height, width = images.shape[0], images.shape[1], images.shape[2]
        t = homography(jnp.asarray(transformation["start_points"], jnp.float32),
                       jnp.asarray(transformation["end_points"], jnp.float32))
        coefficient = [jnp.reshape(t[:, i], (batch, 1, 1)) for i in range(8)]
        ys = jnp.reshape(jnp.arange(height, dtype=jnp.float32), (1, height, 1))
        xs = jnp.reshape(jnp.arange(width, dtype=jnp.float32), (1, 1, width))
        denominator = coefficient[6] * xs + coefficient[7] * ys + 1.0
        x_in = (coefficient[0] * xs + coefficient[1] * ys + coefficient[2]) / denominator
        y_in = (coefficient[3] * xs + coefficient[4] * ys + coefficient[5]) / denominator

        def one(image, y, x):
            return _resample_one(image, y, x, self.interpolation, "constant", self.fill_value)

        warped = jax.vmap(one)(images, y_in, x_in)
        apply = jnp.reshape(jnp.asarray(transformation["apply_perspective"]), (batch, 1, 1, 1))
        return jnp.where(apply, warped, images)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "interpolation": self.interpolation,
                "fill_value": self.fill_value}
