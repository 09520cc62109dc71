"""``ops.image``'s filters: Gaussian blur, Sobel edges, SSIM, and 3-D patches."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.ops.image_transform import _batched, _check, _data_format

__all__ = ["gaussian_blur", "sobel_edges", "ssim", "extract_patches_3d"]


def _pair(name: str, arg: str, value, kind) -> tuple:
    values = (value, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name}: {arg} must be a number or a pair (height, width), got {value!r}.")
    return values


def _gaussian_1d(size: int, sigma, dtype):
    # Keras's kernel: exp(-x^2 / 2 sigma^2) at offsets from the centre, normalized to sum to one.
    x = jnp.arange(size, dtype=dtype) - jnp.asarray((size - 1) / 2, dtype)
    taps = jnp.exp(-0.5 * (x / jnp.asarray(sigma, dtype)) ** 2)
    return taps / jnp.sum(taps)


def _depthwise(images, kernel, padding: str):
    """``images`` (n, h, w, c) correlated with one ``kernel`` (kh, kw) per channel."""
    channels = images.shape[-1]
    weights = jnp.tile(kernel[:, :, None, None], (1, 1, 1, channels)).astype(images.dtype)
    return jax.lax.conv_general_dilated(images, weights, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                        feature_group_count=channels, precision=jax.lax.Precision.HIGHEST)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blurs image(s) with a Gaussian filter, zero padded to keep the size ("same").

    Args:
        images: One image (rank 3) or a batch (rank 4).
        kernel_size: The filter's ``(height, width)`` in pixels (an int: both).
        sigma: Its standard deviations ``(along height, along width)`` (a number: both).
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> image = np.zeros((3, 3, 1), "float32")
    >>> image[1, 1] = 1.0
    >>> np.asarray(ops.image.gaussian_blur(image, (3, 1), (1.0, 1.0))[..., 0]).round(3)
    array([[0.   , 0.274, 0.   ],
           [0.   , 0.452, 0.   ],
           [0.   , 0.274, 0.   ]], dtype=float32)
    """
    name = "gaussian_blur"
    height, width = _pair(name, "kernel_size", kernel_size, int)
    if height < 1 or width < 1:
        raise ValueError(f"{name}: kernel_size must be positive, got {kernel_size!r}.")
    sigma_h, sigma_w = _pair(name, "sigma", sigma, (int, float))
    batch, back = _batched(name, images, data_format)
    kernel = jnp.outer(_gaussian_1d(height, sigma_h, batch.dtype), _gaussian_1d(width, sigma_w, batch.dtype))
    return back(_depthwise(batch, kernel, "SAME"))


def sobel_edges(images, data_format=None):
    """The Sobel gradients of a batch of images: ``(..., 2)`` holding ``[dy, dx]`` per pixel and channel.

    Zero padded; the output is ``(batch, height, width, channels, 2)`` (channels_first:
    ``(batch, channels, height, width, 2)``).

    Args:
        images: A batch of images (rank 4).
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> image = np.zeros((1, 3, 4, 1), "float32")
    >>> image[..., 2:, :] = 1.0
    >>> ops.image.sobel_edges(image)[0, 1, :, 0, 1]   # dx along the middle row (zeros past the right edge)
    Array([ 0.,  4.,  4., -4.], dtype=float32)
    """
    images = jnp.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"sobel_edges: images must be a batch (rank 4), got shape {images.shape}.")
    batch, back = _batched("sobel_edges", images, data_format)
    dx = jnp.asarray([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], batch.dtype)
    edges = [back(_depthwise(batch, kernel, "SAME")) for kernel in (dx.T, dx)]
    return jnp.stack(edges, axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """The structural similarity of two images (or of two batches, pair by pair), in [-1, 1].

    Local means, variances and covariance under a ``filter_size`` Gaussian window (valid
    positions only), combined as in Wang et al. (2004) and averaged over positions and
    channels.

    Args:
        image1: One image (rank 3) or a batch (rank 4).
        image2: The same shape.
        max_val: The images' dynamic range (1.0 for [0, 1], 255.0 for [0, 255]).
        filter_size: The Gaussian window's size, an odd integer >= 1.
        filter_sigma: Its standard deviation.
        k1: The luminance term's constant.
        k2: The contrast term's constant.
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    Returns:
        One value per pair (shape ``(batch,)``), or a scalar for rank-3 images.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((16, 16, 3)).astype("float32")
    >>> bool(ops.image.ssim(image, image) > 0.999)
    True
    """
    name = "ssim"
    if isinstance(filter_size, bool) or not isinstance(filter_size, int) or filter_size < 1 or filter_size % 2 == 0:
        raise ValueError(f"{name}: filter_size must be an odd integer >= 1, got {filter_size!r}.")
    first, second = jnp.asarray(image1), jnp.asarray(image2)
    for arg, image in (("image1", first), ("image2", second)):
        if image.ndim not in (3, 4):
            raise ValueError(f"{name}: {arg} must be rank 3 (one image) or 4 (a batch), got shape {image.shape}.")
    if first.shape != second.shape:
        raise ValueError(f"{name}: image1 and image2 must have the same shape, got {first.shape} and "
                         f"{second.shape}.")
    dtype = first.dtype
    compute = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32
    x, _ = _batched(name, first.astype(compute), data_format)
    y, _ = _batched(name, second.astype(compute), data_format)
    taps = _gaussian_1d(filter_size, filter_sigma, compute)
    kernel = jnp.outer(taps, taps)
    mean = lambda v: _depthwise(v, kernel, "VALID")
    mu_x, mu_y = mean(x), mean(y)
    var_x, var_y, cov = mean(x * x) - mu_x ** 2, mean(y * y) - mu_y ** 2, mean(x * y) - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    values = ((2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    result = jnp.mean(values, axis=(1, 2, 3)).astype(dtype)
    return result[0] if first.ndim == 3 else result


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of ``size`` from volumes, flattened into the channel axis (depth, row, column, channel order).

    Args:
        volumes: One volume ``(depth, height, width, channels)`` or a batch of them (rank 5).
        size: The patch size, an int or ``(depth, height, width)``.
        strides: The step between patches (None: ``size``).
        dilation_rate: The spacing of a patch's samples, an int or a triple.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.extract_patches_3d(np.zeros((2, 4, 4, 4, 3)), 2).shape
    (2, 2, 2, 2, 24)
    """
    name = "extract_patches_3d"
    triple = lambda v: (v, v, v) if isinstance(v, int) and not isinstance(v, bool) else tuple(v)
    size = triple(size)
    strides = size if strides is None else triple(strides)
    rate = triple(dilation_rate)
    for arg, value in (("size", size), ("strides", strides), ("dilation_rate", rate)):
        if len(value) != 3 or not all(isinstance(v, int) and v >= 1 for v in value):
            raise ValueError(f"{name}: {arg} must be a positive int or three of them, got {value!r}.")
    _check(name, "padding", padding, ("valid", "same"))
    volumes = jnp.asarray(volumes)
    if volumes.ndim not in (4, 5):
        raise ValueError(f"{name}: volumes must be rank 4 (one volume) or 5 (a batch), got shape {volumes.shape}.")
    first = _data_format(name, data_format) == "channels_first"
    single = volumes.ndim == 4
    batch = volumes[None] if single else volumes
    if first:
        batch = jnp.moveaxis(batch, 1, -1)
    channels = batch.shape[-1]
    patches = jax.lax.conv_general_dilated_patches(batch, size, strides, padding.upper(), rhs_dilation=rate,
                                                   dimension_numbers=("NDHWC", "OIDHW", "NDHWC"),
                                                   precision=jax.lax.Precision.HIGHEST)
    # lax orders each patch channel-major; Keras's (an identity-kernel convolution) is depth, row, column, channel.
    n, d, h, w, _ = patches.shape
    patches = patches.reshape(n, d, h, w, channels, -1).swapaxes(-1, -2).reshape(n, d, h, w, -1)
    patches = jnp.moveaxis(patches, -1, 1) if first else patches
    return patches[0] if single else patches
