"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE): histogram equalization per tile, interpolated.

Keras 3's arguments and config keys, and Keras 3.15's numbers: values mapped from
``value_range`` to [0, 255], one clipped histogram per tile, channel and image, and
each pixel's value read from the four nearest tiles' lookup tables and blended
bilinearly. Deterministic, so applied whatever ``training`` is, as Keras does.
The histograms are counted with a scatter-add rather than Keras's one-hot sum, so
memory grows with the number of pixels, not 256 times that.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp

from highlevel.layers.augmentation import _ImageAugmentation
from highlevel.layers.augmentation_color import _check_value_range
from highlevel.layers.base import format_shape, register_layer
from highlevel.layers.image_ops import _is_number

__all__ = ["ContrastLimitedAdaptiveHistogramEqualization"]


def _rescale(images, source, target):
    """Keras's ``_transform_value_range``, operation for operation (the values are truncated next)."""
    if tuple(source) == tuple(target):
        return images
    images = (images - jnp.float32(source[0])) / (jnp.float32(source[1]) - jnp.float32(source[0]))
    return images * (jnp.float32(target[1]) - jnp.float32(target[0])) + jnp.float32(target[0])


# Jitted so that an eager call (outside a train step) is one compiled program; inside the step it inlines.
@functools.partial(jax.jit, static_argnames=("clip_limit", "tile_grid_size"))
def clahe(images, clip_limit: float = 4.0, tile_grid_size: Sequence[int] = (8, 8)):
    """Keras 3.15's CLAHE on a channels_last batch ``images`` (batch, h, w, c) of values in [0, 255].

    The image is padded (symmetrically, at the bottom and right) to whole tiles; each
    tile's 256-bin histogram of the truncated values is clipped at
    ``clip_limit * tile_pixels / 256`` with the excess spread evenly over the bins
    (once, not iterated); the cumulative histogram maps values to [0, 255]; and each
    pixel blends the maps of the four tiles around it (the edge tiles repeated).
    """
    batch, height, width, channels = images.shape
    grid_h, grid_w = tile_grid_size
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
    images = images.astype(jnp.float32)
    if pad_h or pad_w:
        images = jnp.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    pixels = jnp.clip(images.astype(jnp.int32), 0, 255)   # truncated, then clipped, as Keras

    # One histogram per (image, tile row, tile column, channel).
    tiles = jnp.reshape(pixels, (batch, grid_h, tile_h, grid_w, tile_w, channels))
    tiles = jnp.reshape(jnp.transpose(tiles, (0, 1, 3, 5, 2, 4)), (-1, tile_h * tile_w))
    rows = jnp.broadcast_to(jnp.arange(tiles.shape[0])[:, None], tiles.shape)
    hists = jnp.zeros((tiles.shape[0], 256), jnp.float32).at[rows, tiles].add(1.0)
    hists = jnp.reshape(hists, (batch, grid_h, grid_w, channels, 256))
    count = tile_h * tile_w
    if clip_limit > 0:
        limit = jnp.float32(clip_limit * count / 256.0)
        clipped = jnp.clip(hists, 0, limit)
        hists = clipped + jnp.sum(hists - clipped, axis=-1, keepdims=True) / 256.0
    cdf = jnp.cumsum(hists, axis=-1)
    cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
    denominator = jnp.float32(count) - cdf_min
    denominator = jnp.where(denominator == 0, 1.0, denominator)
    maps = jnp.clip((cdf - cdf_min) * 255.0 / denominator, 0, 255)
    # The edge tiles repeated once on every side, so every pixel has four neighbours.
    maps = jnp.pad(maps, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

    def grid(size, tile, tiles_across):
        position = (jnp.arange(size, dtype=jnp.float32) - tile / 2.0) / tile + 1.0
        low = jnp.floor(position)
        weight = position - low
        low_index = jnp.clip(low, 0, tiles_across + 1).astype(jnp.int32)
        high_index = jnp.clip(low + 1.0, 0, tiles_across + 1).astype(jnp.int32)
        return low_index, high_index, weight

    y0, y1, wy = grid(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = grid(tile_w * grid_w, tile_w, grid_w)
    b = jnp.arange(batch)[:, None, None, None]
    c = jnp.arange(channels)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
    top = maps[b, y0, x0, c, pixels] * (1.0 - wx) + maps[b, y0, x1, c, pixels] * wx
    bottom = maps[b, y1, x0, c, pixels] * (1.0 - wx) + maps[b, y1, x1, c, pixels] * wx
    out = top * (1.0 - wy) + bottom * wy
    return out[:, :height, :width, :]


@register_layer
class ContrastLimitedAdaptiveHistogramEqualization(_ImageAugmentation):
    """Equalizes the histogram of each tile of each image, limiting the contrast gain, always.

    Each image is cut into a ``tile_grid_size`` grid of tiles; each tile's channel
    histogram is clipped at ``clip_limit`` times the flat histogram's height, the
    excess spread over all bins, and turned into a lookup table; each pixel's new
    value blends the tables of the four nearest tiles bilinearly, so no tile
    borders show. Values are mapped from ``value_range`` to [0, 255] and back.
    Deterministic, so applied in training and inference, as Keras does.

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      clip_limit: the histogram's clip height, in multiples of a flat histogram's
        (default 4.0); zero or less disables clipping.
      tile_grid_size: ``(rows, columns)`` of tiles (default ``(8, 8)``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.tile(np.array([100.0, 110.0, 120.0, 130.0], "float32"), (1, 4, 1))[..., None]
    >>> layer = hl.layers.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=0, tile_grid_size=(1, 1))
    >>> # one tile, four values a quarter of the pixels each: the cumulative counts times 255/16
    >>> np.asarray(layer(x))[0, 0, :, 0].tolist()
    [63.75, 127.5, 191.25, 255.0]
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), clip_limit: float = 4.0,
                 tile_grid_size: Sequence[int] = (8, 8), data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        owner = "ContrastLimitedAdaptiveHistogramEqualization"
        self.value_range = _check_value_range(owner, value_range)
        if not _is_number(clip_limit):
            raise ValueError(f"{owner} clip_limit must be a number, got {clip_limit!r}.")
        self.clip_limit = float(clip_limit)
        if (not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2
                or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in tile_grid_size)):
            raise ValueError(f"{owner} tile_grid_size must be a pair of positive integers (rows, columns), "
                             f"got {tile_grid_size!r}.")
        self.tile_grid_size = (int(tile_grid_size[0]), int(tile_grid_size[1]))

    def call(self, inputs, training: bool = False):
        images = jnp.asarray(inputs).astype(self.compute_dtype)
        if images.ndim not in (3, 4):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization layer '{self.name}' expects images "
                             f"of rank 3 (height, width, channels) or 4 (batch, height, width, channels), got "
                             f"shape {format_shape(images.shape)}.")
        batched = images[None] if images.ndim == 3 else images
        if self.data_format == "channels_first":
            batched = jnp.transpose(batched, (0, 2, 3, 1))
        out = self._augment(batched, None)
        if self.data_format == "channels_first":
            out = jnp.transpose(out, (0, 3, 1, 2))
        return out[0] if images.ndim == 3 else out

    def _augment(self, images, key):
        values = clahe(_rescale(images.astype(jnp.float32), self.value_range, (0.0, 255.0)),
                       clip_limit=self.clip_limit, tile_grid_size=self.tile_grid_size)
        return _rescale(values, (0.0, 255.0), self.value_range).astype(images.dtype)

    def transform_images(self, images, transformation=None, training: bool = True):
        """Applies CLAHE to a channels_last batch (``transformation`` is unused, as Keras's)."""
        return self._augment(jnp.asarray(images).astype(self.compute_dtype), None)

    def get_config(self):
        config = {**super().get_config(), "value_range": list(self.value_range), "clip_limit": self.clip_limit,
                  "tile_grid_size": list(self.tile_grid_size)}
        config.pop("seed")
        return config
