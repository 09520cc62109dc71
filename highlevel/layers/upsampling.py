"""Upsampling layers: UpSampling1D, UpSampling2D and UpSampling3D, Keras 3's arguments and numbers.

"nearest" repeats each step (row, column) ``size`` times, as Keras does with
``ops.repeat``; the other interpolations are ``jax.image.resize`` without
antialiasing, the function Keras's JAX backend calls, so the numbers are the same.
UpSampling2D/3D take either data_format ("channels_first" between two transposes). No weights.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np

from highlevel.ops import image as _image
from highlevel.layers.base import Layer, register_layer
from highlevel.layers.convolutional import (INPUT_LAYOUTS, check_data_format, check_rank, from_channels_last,
                                            input_layout, normalize_tuple, to_channels_last)

__all__ = ["UpSampling1D", "UpSampling2D", "UpSampling3D"]

#: The ``interpolation`` values UpSampling2D accepts (those of Keras's JAX backend).
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _check_size_1d(size, layer: str) -> int:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise ValueError(f"{layer} `size` must be a positive integer (how many times each step is repeated), "
                         f"got {size!r}. Pass an int such as size=2.")
    if size < 1:
        raise ValueError(f"{layer} `size` must be a positive integer (how many times each step is repeated), "
                         f"got {size!r}. Pass size >= 1.")
    return int(size)


def _check_interpolation(value, layer: str) -> str:
    name = value.lower() if isinstance(value, str) else value
    if name not in INTERPOLATIONS:
        raise ValueError(f"{layer} `interpolation` must be one of {', '.join(repr(i) for i in INTERPOLATIONS)}, "
                         f"got {value!r}. Use 'nearest' to repeat rows and columns, or 'bilinear' to "
                         "interpolate between them.")
    return name


def _repeat(x, factors: Sequence[int]):
    """Each spatial position of ``(batch, *spatial, channels)`` repeated ``factors`` times per axis."""
    for axis, factor in enumerate(factors, start=1):
        if factor != 1:
            x = jnp.repeat(x, factor, axis=axis)
    return x


@register_layer
class UpSampling1D(Layer):
    """Repeats each time step ``size`` times along the steps axis.

    Args:
      size: the upsampling factor, a positive integer.

    Input shape ``(batch, steps, features)``; output ``(batch, steps * size, features)``.
    No weights.

    >>> import highlevel as hl, numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2)
    >>> hl.layers.UpSampling1D(2)(x)[0].tolist()
    [[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0]]
    """

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = _check_size_1d(size, "UpSampling1D")

    def build(self, input_shape):
        check_rank(self, input_shape, 1, INPUT_LAYOUTS[1])

    def call(self, inputs):
        check_rank(self, inputs.shape, 1, INPUT_LAYOUTS[1])
        return _repeat(inputs, (self.size,))

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@register_layer
class UpSampling2D(Layer):
    """Upsamples images by ``size`` (rows, columns), repeating or interpolating pixels.

    Args:
      size: the upsampling factors for rows and columns, an int or a pair of ints.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).
      interpolation: ``"nearest"`` (repeat each row and column, the default),
        ``"bilinear"``, ``"bicubic"``, ``"lanczos3"`` or ``"lanczos5"``; the last four
        are ``jax.image.resize`` with half-pixel centres, as in Keras and TensorFlow's
        ``resize(..., antialias=False)``.

    Input shape ``(batch, height, width, channels)``; output
    ``(batch, height * size[0], width * size[1], channels)``. No weights. Integer inputs
    keep their dtype, as in Keras: interpolated values are rounded and clipped to its range.

    >>> import highlevel as hl, numpy as np
    >>> x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    >>> hl.layers.UpSampling2D((1, 2))(x)[0, 0, :, 0].tolist()
    [0.0, 0.0, 1.0, 1.0]
    >>> hl.layers.UpSampling2D((1, 2), interpolation="bilinear")(x)[0, 0, :, 0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """

    def __init__(self, size: int | Sequence[int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = check_data_format(data_format, "UpSampling2D")
        self.interpolation = _check_interpolation(interpolation, "UpSampling2D")

    def build(self, input_shape):
        check_rank(self, input_shape, 2, input_layout(2, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, 2, input_layout(2, self.data_format))
        x = to_channels_last(inputs, self.data_format)
        if self.interpolation == "nearest":
            return from_channels_last(_repeat(x, self.size), self.data_format)
        # ops.image.resize, as Keras's layer: integer images come back in their dtype, rounded and
        # clipped to its range.
        height, width = x.shape[1:3]
        y = _image.resize(x, (height * self.size[0], width * self.size[1]), interpolation=self.interpolation)
        return from_channels_last(y, self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


@register_layer
class UpSampling3D(Layer):
    """Repeats each voxel ``size`` times along depth, height and width.

    Args:
      size: the factors ``(depth, height, width)``, or one int for all three.
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1).

    Input shape ``(batch, depth, height, width, channels)``; output
    ``(batch, depth * sd, height * sh, width * sw, channels)``. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.UpSampling3D(2)(np.ones((2, 1, 2, 3, 4), "float32")).shape
    (2, 2, 4, 6, 4)
    """

    def __init__(self, size: int | Sequence[int] = (2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 3, "size", "UpSampling3D")
        self.data_format = check_data_format(data_format, "UpSampling3D")

    def build(self, input_shape):
        check_rank(self, input_shape, 3, input_layout(3, self.data_format))

    def call(self, inputs):
        check_rank(self, inputs.shape, 3, input_layout(3, self.data_format))
        return from_channels_last(_repeat(to_channels_last(inputs, self.data_format), self.size), self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
