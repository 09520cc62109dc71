"""Region and mixing augmentation layers: RandomErasing, RandomGaussianBlur, RandomShear, MixUp, CutMix.

Keras 3's names, arguments and config keys, drawn per image from the step's key
inside the compiled step and the identity outside training.
``transform_images(images, transformation)`` applies a Keras transformation dict
(from Keras's ``get_random_transformation``) to channels_last images. ``MixUp``
and ``CutMix`` take images, or Keras's ``{"images": ..., "labels": ...}`` dict to
mix the labels with the same weights.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation import _AffineAugmentation, _ImageAugmentation
from highlevel.layers.augmentation_color import (_check_range_factor, _check_value_range, _ColorAugmentation,
                                                 _per_image)
from highlevel.layers.base import format_shape, next_rng_key, register_layer
from highlevel.layers.image_ops import _as_float, _is_number

__all__ = ["RandomErasing", "RandomGaussianBlur", "RandomShear", "MixUp", "CutMix"]


def _box_masks(key, batch: int, height: int, width: int, box_width, box_height):
    """Keras's random boxes: each starts at ``uniform * (size - box)``; pixels whose index lies in
    ``[start, start + box)`` on both axes. Returns (masks (batch, h, w, 1), box areas as fractions)."""
    key_x, key_y = jax.random.split(key)
    x0 = jax.random.uniform(key_x, (batch,)) * (width - box_width)
    y0 = jax.random.uniform(key_y, (batch,)) * (height - box_height)
    x0, y0 = _per_image(x0, batch), _per_image(y0, batch)
    x1, y1 = x0 + _per_image(box_width, batch), y0 + _per_image(box_height, batch)
    grid_y = jnp.reshape(jnp.arange(height, dtype=jnp.float32), (1, height, 1, 1))
    grid_x = jnp.reshape(jnp.arange(width, dtype=jnp.float32), (1, 1, width, 1))
    masks = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)
    return masks, (x1 - x0) * (y1 - y0) / (width * height)


@register_layer
class RandomErasing(_ColorAugmentation):
    """Erases a random box of each image, with a random probability, in training.

    Each image draws an erasing probability from ``uniform(lower, upper)`` of
    ``factor`` and is erased if a second draw falls below it. The box's width and
    height are ``sqrt(s) * width`` and ``sqrt(s') * height`` for two draws
    ``s, s'`` from ``scale``, placed uniformly inside the image.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the erasing probability. Settable between steps.
      scale: a number or a pair in [0, 1]: the range of the box's area fractions.
      fill_value: the value written in the box: None (default) for Gaussian noise
        times ``high``, a number, or one number per channel; clipped to ``value_range``.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomErasing((1.0, 1.0), scale=(1.0, 1.0), fill_value=7.0)  # the whole image
    >>> np.asarray(layer(np.ones((1, 2, 2, 1), "float32"), training=True)).ravel().tolist()
    [7.0, 7.0, 7.0, 7.0]
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float | Sequence[float] = (0.02, 0.33),
                 fill_value=None, value_range: Sequence[float] = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._init_factor(factor)
        self.scale = _check_range_factor("RandomErasing", "scale", scale, 0.0, 1.0)
        if not (fill_value is None or _is_number(fill_value) or (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3
                and all(_is_number(v) for v in fill_value))):
            raise ValueError(f"RandomErasing fill_value must be None (noise), a number or three numbers "
                             f"(one per channel), got {fill_value!r}.")
        self.fill_value = list(fill_value) if isinstance(fill_value, (tuple, list)) else fill_value
        self.value_range = _check_value_range("RandomErasing", value_range)

    def _augment(self, images, key):
        batch, height, width, channels = images.shape
        key_scale, key_box, key_p, key_u, key_fill = jax.random.split(key, 5)
        sizes = jnp.sqrt(jax.random.uniform(key_scale, (batch, 2), jnp.float32, *self.scale))
        masks, _ = _box_masks(key_box, batch, height, width, sizes[:, 0] * width, sizes[:, 1] * height)
        probability = self._uniform(key_p, batch, "")
        if self.fill_value is None:
            fill = jax.random.normal(key_fill, images.shape, images.dtype) * self.value_range[1]
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, images.dtype), images.shape)
        return self._apply(images, {"apply_erasing": jax.random.uniform(key_u, (batch,)) < probability,
                                    "batch_masks": masks, "fill_value": jnp.clip(fill, *self.value_range)})

    def _apply(self, images, transformation):
        apply = jnp.reshape(jnp.asarray(transformation["apply_erasing"]), (images.shape[0], 1, 1, 1))
        erase = apply & jnp.asarray(transformation["batch_masks"])
        return jnp.where(erase, jnp.asarray(transformation["fill_value"], images.dtype), images)

    def get_config(self):
        return {**super().get_config(), "scale": list(self.scale), "fill_value": self.fill_value}


def _check_kernel_size(kernel_size) -> tuple[int, int]:
    sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if (len(sizes) != 2 or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 and k % 2 == 1
                                   for k in sizes)):
        raise ValueError(f"RandomGaussianBlur kernel_size must be an odd positive integer or a pair of them "
                         f"(width, height), got {kernel_size!r}.")
    return int(sizes[0]), int(sizes[1])


def _blur_axis(images, sigma, size: int, axis: int):
    """Zero-padded 1-D Gaussian filter of ``size`` taps along ``axis`` (1 or 2), one sigma per image."""
    offsets = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2.0
    taps = jnp.exp(-0.5 * (jnp.reshape(offsets, (1, size)) / jnp.reshape(sigma, (-1, 1))) ** 2)
    taps = (taps / jnp.sum(taps, axis=1, keepdims=True)).astype(images.dtype)
    half, length = (size - 1) // 2, images.shape[axis]
    pads = [(0, 0)] * 4
    pads[axis] = (half, half)
    padded = jnp.pad(images, pads)
    out = jnp.zeros_like(images)
    for t in range(size):
        window = jax.lax.slice_in_dim(padded, t, t + length, axis=axis)
        out = out + _per_image(taps[:, t], images.shape[0]).astype(images.dtype) * window
    return out


@register_layer
class RandomGaussianBlur(_ColorAugmentation):
    """Blurs each image with a Gaussian filter, with a random probability and sigma, in training.

    Each image draws a blurring probability from ``uniform(lower, upper)`` of
    ``factor`` and is blurred if a second draw falls below it, with horizontal and
    vertical sigmas drawn from ``sigma`` (per image; Keras 3.15 draws one pair per
    batch). Zero padding at the edges, as Keras; the output is clipped to
    ``value_range``.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the blurring probability. Settable between steps.
      kernel_size: the filter's size, an odd integer, or a pair ``(width, height)`` of them.
      sigma: a number ``s`` in [0, 1], meaning ``(0, s)``, or a pair in [0, 1]:
        the range of the filter's standard deviations, in pixels.
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.RandomGaussianBlur((1.0, 1.0), kernel_size=3, sigma=(1.0, 1.0))
    >>> x = np.zeros((1, 3, 3, 1), "float32"); x[0, 1, 1, 0] = 100.0
    >>> y = np.asarray(layer(x, training=True))[0, :, :, 0]
    >>> bool(np.isclose(y.sum(), 100.0) and y[1, 1] > y[0, 1] > y[0, 0] > 0)
    True
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, kernel_size: int | Sequence[int] = 3,
                 sigma: float | Sequence[float] = 1.0, value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._init_factor(factor)
        self.kernel_size = _check_kernel_size(kernel_size)
        self.sigma = _check_range_factor("RandomGaussianBlur", "sigma", sigma, 0.0, 1.0)
        self.value_range = _check_value_range("RandomGaussianBlur", value_range)

    def _draw(self, key, batch):
        key_p, key_u, key_s = jax.random.split(key, 3)
        probability = self._uniform(key_p, batch, "")
        sigmas = jax.random.uniform(key_s, (batch, 2), jnp.float32, *self.sigma) + 1e-6
        return {"should_apply_blur": jax.random.uniform(key_u, (batch,)) < probability, "blur_factor": sigmas}

    def _apply(self, images, transformation):
        batch = images.shape[0]
        sigmas = jnp.broadcast_to(jnp.reshape(jnp.asarray(transformation["blur_factor"], jnp.float32),
                                              (-1, 2)), (batch, 2))
        blurred = _blur_axis(images, sigmas[:, 0], self.kernel_size[0], axis=2)
        blurred = _blur_axis(blurred, sigmas[:, 1], self.kernel_size[1], axis=1)
        apply = jnp.reshape(jnp.asarray(transformation["should_apply_blur"]), (batch, 1, 1, 1))
        return jnp.clip(jnp.where(apply, blurred, images), *self.value_range)

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size), "sigma": list(self.sigma)}


@register_layer
class RandomShear(_AffineAugmentation):
    """Shears each image by random horizontal and vertical factors in training.

    Each image draws ``sx`` from ``x_factor``'s range, ``sy`` from ``y_factor``'s
    and one random sign for both; output pixel ``(x, y)`` reads input
    ``(x + sx * y, sy * x + y)``, as Keras (about the top-left corner).

    Args:
      x_factor: a number ``f`` in [0, 1], meaning ``(-f, f)``, or a pair in [-1, 1].
        Settable between steps without recompiling.
      y_factor: the same for the vertical shear.
      interpolation: ``"bilinear"`` or ``"nearest"``.
      fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"``.
      fill_value: the value used by ``fill_mode="constant"``.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    >>> np.asarray(hl.layers.RandomShear()(x, training=True)).ravel().tolist()  # no shear: identity
    [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, x_factor: float | Sequence[float] = 0.0, y_factor: float | Sequence[float] = 0.0,
                 interpolation: str = "bilinear", fill_mode: str = "reflect", fill_value: float = 0.0,
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self._set_bounds("x_", self._check("x_factor", x_factor), create=True)
        self._set_bounds("y_", self._check("y_factor", y_factor), create=True)

    @staticmethod
    def _check(arg, factor) -> tuple[float, float]:
        # A pair may be negative (Keras's own config of a number f is (-f, f)).
        if _is_number(factor) and 0.0 <= factor <= 1.0:
            return -float(factor), float(factor)
        if (isinstance(factor, (tuple, list)) and len(factor) == 2 and all(_is_number(f) for f in factor)
                and all(-1.0 <= f <= 1.0 for f in factor)):
            return tuple(sorted(float(f) for f in factor))
        raise ValueError(f"RandomShear {arg} must be a number in [0, 1] or a pair of numbers in [-1, 1], "
                         f"got {factor!r}.")

    @property
    def x_factor(self) -> tuple[float, float]:
        return self._bounds("x_")

    @x_factor.setter
    def x_factor(self, value) -> None:
        self._set_bounds("x_", self._check("x_factor", value))

    @property
    def y_factor(self) -> tuple[float, float]:
        return self._bounds("y_")

    @y_factor.setter
    def y_factor(self, value) -> None:
        self._set_bounds("y_", self._check("y_factor", value))

    @staticmethod
    def _matrix(shear):
        ones, zeros = jnp.ones_like(shear[:, 0]), jnp.zeros_like(shear[:, 0])
        return jnp.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros], axis=1)

    def _transforms(self, key, batch, height, width):
        key_sign, key_y, key_x = jax.random.split(key, 3)
        sign = jnp.where(jax.random.uniform(key_sign, (batch, 1)) > 0.5, -1.0, 1.0)
        shear = jnp.stack([self._uniform(key_x, batch, "x_"), self._uniform(key_y, batch, "y_")], axis=1)
        return self._matrix(shear * sign)

    def _transforms_from(self, transformation, shape):
        return self._matrix(jnp.reshape(jnp.asarray(transformation["shear_factor"], jnp.float32), (-1, 2)))

    def get_config(self):
        return {**super().get_config(), "x_factor": list(self.x_factor), "y_factor": list(self.y_factor)}


class _MixAugmentation(_ImageAugmentation):
    """Abstract base of MixUp and CutMix: images, or a dict with "images" and "labels" mixed alike."""

    def _draw(self, key, shape) -> dict:
        raise NotImplementedError

    def transform_images(self, images, transformation: dict, training: bool = True):
        raise NotImplementedError

    def transform_labels(self, labels, transformation: dict, training: bool = True):
        """Mixes ``labels`` (batch, ...) by Keras's ``transformation``, as the images were."""
        labels = jnp.asarray(labels, jnp.float32)
        if not training or transformation is None:
            return labels
        weight = jnp.reshape(jnp.asarray(transformation["mix_weight"], jnp.float32),
                             (labels.shape[0],) + (1,) * (labels.ndim - 1))
        other = jnp.take(labels, jnp.asarray(transformation["permutation_order"]), axis=0)
        return weight * labels + (1.0 - weight) * other

    def call(self, inputs, training: bool = False):
        data = dict(inputs) if isinstance(inputs, dict) else {"images": inputs}
        images = jnp.asarray(data["images"]).astype(self.compute_dtype)
        if images.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects images of rank 3 or 4 "
                             f"(batch, height, width, channels), got shape {format_shape(images.shape)}.")
        if training and images.ndim == 4:   # one image has nothing to mix with
            if self.data_format == "channels_first":
                images = jnp.transpose(images, (0, 2, 3, 1))
            key = next_rng_key()
            if self.seed is not None:
                key = jax.random.fold_in(key, self.seed)
            transformation = self._draw(key, images.shape)
            images = self.transform_images(images, transformation)
            if self.data_format == "channels_first":
                images = jnp.transpose(images, (0, 3, 1, 2))
            if data.get("labels") is not None:
                data["labels"] = self.transform_labels(data["labels"], transformation)
        data["images"] = images
        return data if isinstance(inputs, dict) else images


@register_layer
class MixUp(_MixAugmentation):
    """MixUp in training: each image (and label) becomes ``w * own + (1 - w) * another's`` of the batch.

    The partners are a random permutation of the batch; each image draws its own
    ``w`` from ``Beta(alpha, alpha)``. Identity outside training and for one image.

    Args:
      alpha: the Beta distribution's parameter (> 0; default 0.2). Settable
        between steps without recompiling.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      seed: folded into the step's random key.

    Input images ``(batch, height, width, channels)``, or a dict ``{"images": ...,
    "labels": (batch, classes)}`` to mix the labels with the same weights; output the same.

    >>> import highlevel as hl, numpy as np
    >>> out = hl.layers.MixUp()({"images": np.ones((4, 2, 2, 1), "float32"), "labels": np.eye(4)},
    ...                         training=True)
    >>> np.asarray(out["images"]).tolist() == np.ones((4, 2, 2, 1)).tolist()
    True
    >>> np.allclose(np.asarray(out["labels"]).sum(axis=1), 1.0)
    True
    """

    def __init__(self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.add_hyperparameter("_alpha", self._check(alpha))

    @staticmethod
    def _check(alpha) -> float:
        if not _is_number(alpha) or not alpha > 0:
            raise ValueError(f"MixUp alpha must be a positive number (the Beta distribution's parameter), "
                             f"got {alpha!r}.")
        return float(alpha)

    @property
    def alpha(self) -> float:
        return _as_float(self._alpha.get_value())

    @alpha.setter
    def alpha(self, value) -> None:
        self._set_hyperparameter("_alpha", self._check(value))

    def _draw(self, key, shape):
        key_perm, key_beta = jax.random.split(key)
        alpha = self._alpha.get_value()
        return {"permutation_order": jax.random.permutation(key_perm, shape[0]),
                "mix_weight": jax.random.beta(key_beta, alpha, alpha, (shape[0],))}

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Mixes a channels_last batch by Keras's ``{"mix_weight", "permutation_order"}``."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        weight = _per_image(transformation["mix_weight"], images.shape[0]).astype(images.dtype)
        other = jnp.take(images, jnp.asarray(transformation["permutation_order"]), axis=0)
        return weight * images + (1.0 - weight) * other

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register_layer
class CutMix(_MixAugmentation):
    """CutMix in training: pastes a box of another image of the batch into each image; mixes labels by area.

    Each batch draws ``a`` from ``uniform(lower, upper)`` of ``factor``; each image
    draws ``w ~ Beta(a, a)`` and a box of ``sqrt(1 - w)`` times its width and
    height, placed uniformly, filled from its partner (a random permutation of the
    batch). Labels become ``l * own + (1 - l) * partner's`` with ``l`` one minus the
    box's area fraction, as Keras. Identity outside training and for one image.

    Args:
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the range of the Beta parameter. Settable between steps without recompiling.
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input images ``(batch, height, width, channels)``, or a dict ``{"images": ...,
    "labels": (batch, classes)}``; output the same.

    >>> import highlevel as hl, numpy as np
    >>> x = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))]).astype("float32")
    >>> out = hl.layers.CutMix()({"images": x, "labels": np.eye(2)}, training=True)
    >>> sorted(set(np.asarray(out["images"]).ravel().tolist())) in ([0.0], [1.0], [0.0, 1.0])
    True
    >>> bool(np.allclose(np.asarray(out["labels"]).sum(axis=1), 1.0))
    True
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._set_bounds("", self._check(factor), create=True)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        return _check_range_factor("CutMix", "factor", factor, 0.0, 1.0)

    @property
    def factor(self) -> tuple[float, float]:
        return self._bounds("")

    @factor.setter
    def factor(self, value) -> None:
        self._set_bounds("", self._check(value))

    def _draw(self, key, shape):
        batch, height, width = shape[0], shape[1], shape[2]
        key_alpha, key_beta, key_box, key_perm = jax.random.split(key, 4)
        alpha = jax.random.uniform(key_alpha, (), jnp.float32, self._lower.get_value(),
                                   self._upper.get_value()) + 1e-6
        ratio = jnp.sqrt(1.0 - jax.random.beta(key_beta, alpha, alpha, (batch,)))
        masks, area = _box_masks(key_box, batch, height, width, ratio * width, ratio * height)
        return {"permutation_order": jax.random.permutation(key_perm, batch), "batch_masks": masks,
                "mix_weight": 1.0 - area}

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Pastes by Keras's ``{"batch_masks", "permutation_order"}`` into a channels_last batch."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        other = jnp.take(images, jnp.asarray(transformation["permutation_order"]), axis=0)
        return jnp.where(jnp.asarray(transformation["batch_masks"]), other, images)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}
