"""Keras's ``keras.ops.image`` over ``jax.image`` and ``jax.lax``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.ops.image_filters import extract_patches_3d, gaussian_blur, sobel_edges, ssim
from highlevel.ops.image_transform import affine_transform, elastic_transform, perspective_transform
from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["resize", "rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "crop_images", "pad_images", "map_coordinates",
           "scale_and_translate", "extract_patches", "extract_patches_3d", "affine_transform",
           "perspective_transform", "elastic_transform", "gaussian_blur", "sobel_edges", "ssim"]


def _channels_last(images, data_format):
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    images = jnp.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"Images must be (height, width, channels) or (batch, height, width, channels), got shape "
                         f"{images.shape}.")
    if data_format == "channels_first":
        images = jnp.moveaxis(images, -3, -1)
    return images, data_format == "channels_first"


def _back(images, first):
    return jnp.moveaxis(images, -1, -3) if first else images


_METHODS = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic", "lanczos3": "lanczos3",
            "lanczos5": "lanczos5", "linear": "linear", "cubic": "cubic"}


def resize(images, size, interpolation='bilinear', antialias=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode='constant', fill_value=0.0, data_format=None):
    """Resizes images to ``size`` (``jax.image.resize``: Keras's "bilinear", "nearest", "bicubic", "lanczos3/5").

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        size: The output ``(height, width)``.
        interpolation: The interpolation method ("bilinear", "nearest", "bicubic", ...).
        antialias: Whether to low-pass filter when downsampling.
        crop_to_aspect_ratio: Accepted for Keras compatibility; only False.
        pad_to_aspect_ratio: Accepted for Keras compatibility; only False.
        fill_mode: Accepted for Keras compatibility (used only with padding).
        fill_value: Accepted for Keras compatibility (used only with padding).
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.resize(np.ones((1, 2, 2, 1)), (4, 4)).shape
    (1, 4, 4, 1)
    >>> ops.image.resize(np.array([[[[0], [255]]]], "uint8"), (1, 3), interpolation="bicubic")[0, 0, :, 0]
    Array([  0, 128, 255], dtype=uint8)
    """
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise ValueError("resize(crop_to_aspect_ratio/pad_to_aspect_ratio=True) is not supported here; crop or pad "
                         "first (ops.image.crop_images / pad_images).")
    if interpolation not in _METHODS:
        raise ValueError(f"resize: interpolation must be one of {sorted(_METHODS)}, got {interpolation!r}.")
    images, first = _channels_last(images, data_format)
    height, width = size
    shape = images.shape[:-3] + (int(height), int(width), images.shape[-1])
    out = jax.image.resize(images, shape, method=_METHODS[interpolation], antialias=antialias)
    if jnp.issubdtype(images.dtype, jnp.integer) and out.dtype != images.dtype:
        # As Keras: integer images stay in their dtype, rounded and clipped to its range (the cubic and
        # Lanczos kernels overshoot).
        info = jnp.iinfo(images.dtype)
        out = jnp.clip(jnp.round(out), info.min, info.max)
    return _back(out.astype(images.dtype) if out.dtype != images.dtype and images.dtype != jnp.bool_ else out, first)


def rgb_to_grayscale(images, data_format=None):
    """The luminance of RGB images (ITU-R 601 weights), keeping a channel axis of 1.

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.image.rgb_to_grayscale(np.ones((2, 2, 3)))[..., 0]).round(4)
    array([[0.9999, 0.9999],
           [0.9999, 0.9999]], dtype=float32)
    """
    images, first = _channels_last(images, data_format)
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], images.dtype)
    return _back(jnp.tensordot(images, weights, axes=([-1], [0]))[..., None].astype(images.dtype), first)


def rgb_to_hsv(images, data_format=None):
    """HSV images (each in [0, 1]) from RGB images in [0, 1].

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.image.rgb_to_hsv(np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]))).round(4)
    array([[[0.    , 1.    , 1.    ],
            [0.6667, 1.    , 1.    ]]], dtype=float32)
    """
    images, first = _channels_last(images, data_format)
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = jnp.max(images, axis=-1)
    spread = value - jnp.min(images, axis=-1)
    safe = jnp.where(spread > 0, spread, 1.0)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    hue = jnp.where(value == r, (g - b) / safe, jnp.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = jnp.where(spread > 0, jnp.mod(hue / 6.0, 1.0), 0.0)
    return _back(jnp.stack([hue, saturation, value], axis=-1), first)


def hsv_to_rgb(images, data_format=None):
    """RGB images in [0, 1] from HSV images.

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.hsv_to_rgb(np.array([[[0.0, 1.0, 1.0], [2 / 3, 1.0, 1.0]]]))
    Array([[[1., 0., 0.],
            [0., 0., 1.]]], dtype=float32)
    """
    images, first = _channels_last(images, data_format)
    h, s, v = images[..., 0], images[..., 1], images[..., 2]
    k = lambda n: jnp.mod(n + h * 6.0, 6.0)
    f = lambda n: v - v * s * jnp.clip(jnp.minimum(k(n), 4.0 - k(n)), 0.0, 1.0)
    return _back(jnp.stack([f(5.0), f(3.0), f(1.0)], axis=-1), first)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crops images by offsets and/or to a target size.

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        top_cropping: Rows removed at the top.
        left_cropping: Columns removed on the left.
        bottom_cropping: Rows removed at the bottom.
        right_cropping: Columns removed on the right.
        target_height: The height kept.
        target_width: The width kept.
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.crop_images(np.ones((4, 4, 1)), 1, 1, target_height=2, target_width=2).shape
    (2, 2, 1)
    """
    images, first = _channels_last(images, data_format)
    height, width = images.shape[-3], images.shape[-2]
    top = top_cropping or 0
    left = left_cropping or 0
    if target_height is None:
        target_height = height - top - (bottom_cropping or 0)
    if target_width is None:
        target_width = width - left - (right_cropping or 0)
    if top + target_height > height or left + target_width > width or target_height <= 0 or target_width <= 0:
        raise ValueError(f"crop_images: the crop ({top}, {left}, {target_height}, {target_width}) does not fit images "
                         f"of {height}x{width}.")
    return _back(images[..., top:top + target_height, left:left + target_width, :], first)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None, target_height=None, target_width=None, data_format=None):
    """Pads images with zeros by offsets and/or to a target size.

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        top_padding: Rows added at the top.
        left_padding: Columns added on the left.
        bottom_padding: Rows added at the bottom.
        right_padding: Columns added on the right.
        target_height: The height to reach.
        target_width: The width to reach.
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.pad_images(np.ones((2, 2, 1)), 1, 1, 1, 1).shape
    (4, 4, 1)
    """
    images, first = _channels_last(images, data_format)
    height, width = images.shape[-3], images.shape[-2]
    top, left = top_padding or 0, left_padding or 0
    bottom = bottom_padding if bottom_padding is not None else (target_height - height - top if target_height else 0)
    right = right_padding if right_padding is not None else (target_width - width - left if target_width else 0)
    if min(top, left, bottom, right) < 0:
        raise ValueError(f"pad_images: the padding ({top}, {bottom}, {left}, {right}) is negative for images of "
                         f"{height}x{width}.")
    pad = [(0, 0)] * (images.ndim - 3) + [(top, bottom), (left, right), (0, 0)]
    return _back(jnp.pad(images, pad), first)


def map_coordinates(inputs, coordinates, order, fill_mode='constant', fill_value=0):
    """Samples ``inputs`` at ``coordinates`` by interpolation of ``order`` 0 or 1 (``jax.scipy.ndimage``).

    Args:
        inputs: The array sampled.
        coordinates: One array of coordinates per axis of ``inputs``.
        order: 0 (nearest) or 1 (linear).
        fill_mode: How points outside are filled ("constant", "nearest", ...).
        fill_value: The value outside, for "constant".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.map_coordinates(np.arange(4.0), np.array([[0.5, 2.0]]), 1)
    Array([0.5, 2. ], dtype=float32)
    """
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order must be 0 or 1, got {order!r}.")
    return jax.scipy.ndimage.map_coordinates(inputs, list(coordinates), order, mode=fill_mode, cval=fill_value)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resamples images with a scale and a translation (``jax.image.scale_and_translate``).

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        output_shape: The output shape.
        scale: The scale of each spatial axis.
        translation: The translation of each spatial axis.
        spatial_dims: The spatial axes.
        method: The resampling method.
        antialias: Whether to antialias when downsampling.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.scale_and_translate(np.ones((2, 2)), (4, 4), np.array([2.0, 2.0]), np.array([0.0, 0.0]), (0, 1), 'linear').shape
    (4, 4)
    """
    return jax.image.scale_and_translate(images, output_shape, spatial_dims, scale, translation, method,
                                         antialias=antialias)


def extract_patches(images, size, strides=None, dilation_rate=1, padding='valid', data_format=None):
    """Patches of ``size`` from images, flattened into the channel axis (row, column, channel order).

    Args:
        images: Images, ``(batch, height, width, channels)`` (or one image without the batch axis).
        size: The patch size, an int or ``(height, width)``.
        strides: The step between patches (None: ``size``).
        dilation_rate: The dilation inside a patch.
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.extract_patches(np.arange(16.0).reshape(1, 4, 4, 1), 2)[0, 0, 0]
    Array([0., 1., 4., 5.], dtype=float32)
    """
    images, first = _channels_last(images, data_format)
    single = images.ndim == 3
    if single:
        images = images[None]
    size = (size, size) if isinstance(size, int) else tuple(size)
    strides = size if strides is None else ((strides, strides) if isinstance(strides, int) else tuple(strides))
    rate = (dilation_rate, dilation_rate) if isinstance(dilation_rate, int) else tuple(dilation_rate)
    channels = images.shape[-1]
    patches = jax.lax.conv_general_dilated_patches(images, size, strides, padding.upper(), rhs_dilation=rate,
                                                   dimension_numbers=("NHWC", "OIHW", "NHWC"))
    # lax orders each patch channel-major; Keras's (and TensorFlow's) is row, column, channel.
    n, h, w, _ = patches.shape
    patches = patches.reshape(n, h, w, channels, size[0] * size[1]).swapaxes(-1, -2).reshape(n, h, w, -1)
    patches = _back(patches, first)
    return patches[0] if single else patches

dispatch_namespace("image", globals(), __all__)   # calls on symbolic tensors become graph nodes
