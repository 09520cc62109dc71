"""``ops.image``'s resampling operations: affine, perspective and elastic transforms.

One resampler, :func:`resample_image`, reads an image at float coordinates with the
interpolation ("nearest", "bilinear") and fill modes of
``jax.scipy.ndimage.map_coordinates`` (what Keras's JAX backend uses), gathering all
channels of a pixel at once. The augmentation layers (``highlevel.layers.image_ops``)
resample through it too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


__all__ = ["affine_transform", "perspective_transform", "elastic_transform"]

_INTERPOLATIONS = ("nearest", "bilinear")
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def fix_index(index, size: int, fill_mode: str):
    """Maps integer indices outside ``[0, size)`` back inside, as ``map_coordinates`` does."""
    if fill_mode == "nearest":
        return jnp.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return jnp.mod(index, size)
    if fill_mode == "mirror":
        # (c d c b | a b c d | c b a b): a triangular wave of period 2 * (size - 1).
        return jnp.abs(jnp.mod(index + size - 1, max(2 * (size - 1), 1)) - (size - 1))
    if fill_mode == "reflect":
        # (d c b a | a b c d | d c b a): a triangular wave of period 2 * size, at half samples.
        period = 2 * size
        folded = jnp.abs(jnp.mod(2 * index + 1 + period, 2 * period) - period)
        return jnp.floor_divide(folded - 1, 2)
    return index  # constant: out-of-range taps are masked instead


def _taps(coordinate, interpolation: str):
    """(integer index, weight) pairs for one axis."""
    if interpolation == "nearest":
        # lax.round rounds half away from zero, as map_coordinates does.
        return [(lax.round(coordinate).astype(jnp.int32), None)]
    lower = jnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(jnp.int32)
    return [(index, 1.0 - upper_weight), (index + 1, upper_weight)]


def resample_image(image, y, x, interpolation: str, fill_mode: str, fill_value):
    """``image`` (h, w, c) read at float coordinates ``y``, ``x`` (each (h', w')), as ``map_coordinates``.

    Args:
        image: One image, channels last.
        y: The row read for each output pixel.
        x: The column read for each output pixel.
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: The value outside the image, for "constant".
    """
    height, width = image.shape[0], image.shape[1]
    out = None
    for iy, wy in _taps(y, interpolation):
        for ix, wx in _taps(x, interpolation):
            value = image[fix_index(iy, height, fill_mode), fix_index(ix, width, fill_mode)]
            if fill_mode == "constant":
                inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
                value = jnp.where(inside[..., None], value, jnp.asarray(fill_value, image.dtype))
            if wy is not None:
                value = (wy * wx).astype(image.dtype)[..., None] * value
            out = value if out is None else out + value
    return out


def _check(name: str, arg: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: {arg} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}.")


def _data_format(name: str, data_format) -> str:
    data_format = data_format or "channels_last"   # as the other ops.image functions
    _check(name, "data_format", data_format, ("channels_last", "channels_first"))
    return data_format


def _batched(name: str, images, data_format):
    """(images as a float batch, channels last; how to give the result back)."""
    images = jnp.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"{name}: images must be rank 3 (one image) or 4 (a batch), got shape {images.shape}.")
    first = _data_format(name, data_format) == "channels_first"
    single, dtype = images.ndim == 3, images.dtype
    batch = images[None] if single else images
    if first:
        batch = jnp.moveaxis(batch, 1, -1)
    if not jnp.issubdtype(dtype, jnp.floating):
        batch = batch.astype(jnp.float32)

    def back(out):
        if not jnp.issubdtype(dtype, jnp.floating):
            # map_coordinates rounds integer images half away from zero.
            out = jnp.where(out < 0, -jnp.round(-out), jnp.round(out)) if dtype != jnp.bool_ else out
            out = out.astype(dtype)
        out = jnp.moveaxis(out, -1, 1) if first else out
        return out[0] if single else out

    return batch, back


def _resample(batch, y, x, interpolation, fill_mode, fill_value):
    return jax.vmap(lambda image, yy, xx: resample_image(image, yy, xx, interpolation, fill_mode, fill_value))(
        batch, y, x)


def _grid(height: int, width: int):
    ys = jnp.reshape(jnp.arange(height, dtype=jnp.float32), (1, height, 1))
    xs = jnp.reshape(jnp.arange(width, dtype=jnp.float32), (1, 1, width))
    return ys, xs


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Resamples image(s) through projective transform(s) ``[a0, a1, a2, b0, b1, b2, c0, c1]``.

    Output pixel ``(x, y)`` (column, row) reads the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``, as
    Keras's docs say (Keras's JAX backend misuses ``c0``/``c1``; with them zero the two agree).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        transform: 8 numbers, or ``(batch, 8)``; a single transform applies to every image.
        interpolation: "nearest" or "bilinear".
        fill_mode: How points outside are read: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: The value outside the image for ``fill_mode="constant"``.
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> image = np.arange(9.0).reshape(3, 3, 1)
    >>> ops.image.affine_transform(image, [1, 0, 1, 0, 1, 0, 0, 0])[..., 0]   # shifted left by one column
    Array([[1., 2., 0.],
           [4., 5., 0.],
           [7., 8., 0.]], dtype=float32)
    """
    name = "affine_transform"
    _check(name, "interpolation", interpolation, _INTERPOLATIONS)
    _check(name, "fill_mode", fill_mode, _FILL_MODES)
    transform = jnp.asarray(transform, jnp.float32)
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"{name}: transform must be 8 numbers or (batch, 8), got shape {transform.shape}.")
    batch, back = _batched(name, images, data_format)
    n, height, width = batch.shape[:3]
    t = jnp.broadcast_to(jnp.reshape(transform, (-1, 8)), (n, 8))
    a0, a1, a2, b0, b1, b2, c0, c1 = (jnp.reshape(t[:, i], (n, 1, 1)) for i in range(8))
    ys, xs = _grid(height, width)
    k = c0 * xs + c1 * ys + 1.0
    return back(_resample(batch, (b0 * xs + b1 * ys + b2) / k, (a0 * xs + a1 * ys + a2) / k,
                          interpolation, fill_mode, fill_value))


def homography(start_points, end_points):
    """Keras's ``compute_homography_matrix``: the 8 projective terms mapping output (end) points to input
    (start) points, solved as Keras solves them (also ``RandomPerspective``'s)."""
    sx, sy, ex, ey = start_points[..., 0], start_points[..., 1], end_points[..., 0], end_points[..., 1]
    zeros, ones = jnp.zeros_like(ex), jnp.ones_like(ex)
    x_rows = jnp.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    y_rows = jnp.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    matrix = jnp.concatenate([x_rows, y_rows], axis=1)
    target = jnp.concatenate([sx, sy], axis=-1)[..., None]
    return jnp.linalg.solve(matrix, target)[..., 0]


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warps image(s) so that the 4 ``start_points`` land on the 4 ``end_points`` (``(x, y)`` pairs).

    Points outside the image read ``fill_value``.

    Args:
        images: One image (rank 3) or a batch (rank 4).
        start_points: ``(4, 2)`` or ``(batch, 4, 2)``: the corners in the input.
        end_points: The same shape: where they go in the output.
        interpolation: "nearest" or "bilinear".
        fill_value: The value of points read outside the image.
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> corners = np.array([[0, 0], [2, 0], [0, 2], [2, 2]], "float32")
    >>> image = np.arange(9.0).reshape(3, 3, 1)
    >>> np.asarray(ops.image.perspective_transform(image, corners, corners + [1, 0])[..., 0]).round(3)
    array([[0., 0., 1.],
           [0., 3., 4.],
           [0., 6., 7.]], dtype=float32)
    """
    name = "perspective_transform"
    _check(name, "interpolation", interpolation, _INTERPOLATIONS)
    start_points, end_points = jnp.asarray(start_points, jnp.float32), jnp.asarray(end_points, jnp.float32)
    for arg, points in (("start_points", start_points), ("end_points", end_points)):
        if points.ndim not in (2, 3) or points.shape[-2:] != (4, 2):
            raise ValueError(f"{name}: {arg} must be (4, 2) for one image or (batch, 4, 2), got shape "
                             f"{points.shape}.")
    if start_points.shape != end_points.shape:
        raise ValueError(f"{name}: start_points and end_points must have the same shape, got "
                         f"{start_points.shape} and {end_points.shape}.")
    batch, back = _batched(name, images, data_format)
    n, height, width = batch.shape[:3]
    t = jnp.broadcast_to(homography(jnp.reshape(start_points, (-1, 4, 2)), jnp.reshape(end_points, (-1, 4, 2))),
                         (n, 8))
    a0, a1, a2, b0, b1, b2, c0, c1 = (jnp.reshape(t[:, i], (n, 1, 1)) for i in range(8))
    ys, xs = _grid(height, width)
    k = c0 * xs + c1 * ys + 1.0
    return back(_resample(batch, (b0 * xs + b1 * ys + b2) / k, (a0 * xs + a1 * ys + a2) / k,
                          interpolation, "constant", fill_value))


# How a seed becomes a key: ``hl.random`` (which knows the global generator and the train step's
# key, and sits beside ops) registers its resolver on import; without it only int seeds work.
_SEEDS: dict = {"resolve": None}


def set_seed_resolver(resolve) -> None:
    """Sets how ``elastic_transform`` turns its ``seed`` (an int, a generator, None) into a JAX key.

    Args:
        resolve: ``resolve(seed) -> key``; ``hl.random`` registers its own.
    """
    _SEEDS["resolve"] = resolve


def _seed_key(seed):
    if _SEEDS["resolve"] is not None:
        return _SEEDS["resolve"](seed)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jax.random.wrap_key_data(np.array([int(seed) & 0xFFFFFFFF, 0], np.uint32))
    raise ValueError(f"elastic_transform: seed must be an int here (import highlevel.random for generators and "
                     f"None), got {seed!r}.")


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Resamples image(s) through a random displacement field smoothed by a Gaussian filter.

    As Keras 3.15: standard normal noise of the images' height and width (one field per
    image) times ``sigma``, blurred by a zero-padded Gaussian of ``int(6 * sigma) | 1`` taps
    and standard deviation ``sigma``, times ``alpha``, moves each pixel's reading point.
    Keras draws both axes' noise from the same key, so the shift is the same along rows
    and columns; this does the same, so that a seed gives Keras's result.

    Args:
        images: One image (rank 3) or a batch (rank 4).
        alpha: The displacement's scale, in pixels.
        sigma: The Gaussian filter's standard deviation (a Python number: it sets the filter's size).
        interpolation: "nearest" or "bilinear".
        fill_mode: How points outside are read: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: The value outside the image for ``fill_mode="constant"``.
        seed: An int, a ``hl.random.SeedGenerator``, or None (the global generator, or the train step's key).
        data_format: "channels_last" or "channels_first" (None: "channels_last").

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.image.elastic_transform(np.ones((2, 8, 8, 3)), alpha=2.0, sigma=1.0, seed=1).shape
    (2, 8, 8, 3)
    """
    from highlevel.ops.image_filters import gaussian_blur   # the two modules share the namespace

    name = "elastic_transform"
    _check(name, "interpolation", interpolation, _INTERPOLATIONS)
    _check(name, "fill_mode", fill_mode, _FILL_MODES)
    try:
        size = int(6 * float(sigma)) | 1
    except (TypeError, jax.errors.ConcretizationTypeError) as error:
        raise ValueError(f"{name}: sigma must be a Python number (it sets the filter's size), got {sigma!r}.") \
            from error
    dtype = jnp.asarray(images).dtype
    batch, back = _batched(name, images, data_format)
    n, height, width = batch.shape[:3]
    noise_dtype = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32
    noise = jax.random.normal(_seed_key(seed), (n, height, width), noise_dtype) * jnp.asarray(sigma, noise_dtype)
    field = gaussian_blur(noise[..., None], (size, size), (sigma, sigma), data_format="channels_last")[..., 0]
    shift = (jnp.asarray(alpha, jnp.float32) * field).astype(jnp.float32)
    ys, xs = _grid(height, width)
    return back(_resample(batch, ys + shift, xs + shift, interpolation, fill_mode, fill_value))
