"""Keras's Pillow image helpers: ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``.

Same arguments and results as ``keras.utils``'s. ``data_format=None`` means
``"channels_last"`` and ``dtype=None`` means float32 (``utils`` sits below ``backend`` in
DESIGN.md's table, so it does not read ``hl.backend.image_data_format()``).
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings

import numpy as np

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img"]

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The image helpers need Pillow: pip install Pillow.") from err
    return Image


def _data_format(data_format):
    data_format = "channels_last" if data_format is None else str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    return data_format


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Loads an image file into a PIL image, as Keras's ``load_img``.

    Args:
        path: a path or an ``io.BytesIO``.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        target_size: ``(height, width)`` to resize to, or None to keep the size.
        interpolation: Pillow's filter: ``"nearest"``, ``"bilinear"``, ``"bicubic"``,
            ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.

    Returns:
        A ``PIL.Image.Image``.

    >>> import tempfile, os
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.new("RGB", (6, 4)).save(path)
    >>> load_img(path, target_size=(2, 3)).size
    (3, 2)
    """
    Image = _pillow()
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img's path must be a path or an io.BytesIO, got {type(path).__name__}.")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode in ("rgb", "rgba"):
        if img.mode != color_mode.upper():
            img = img.convert(color_mode.upper())
    else:
        raise ValueError(f"color_mode must be 'grayscale', 'rgb' or 'rgba', got {color_mode!r}.")
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))
    if img.size == size:
        return img
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}.")
    resample = getattr(Image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])


def img_to_array(img, data_format: str | None = None, dtype=None) -> np.ndarray:
    """A PIL image (or array) as a 3D NumPy array, as Keras's ``img_to_array``.

    Args:
        img: a PIL image or an array ``(height, width)`` or ``(height, width, channels)``.
        data_format: ``"channels_last"`` (None) or ``"channels_first"``.
        dtype: the array's dtype (None: float32).

    >>> from PIL import Image
    >>> img_to_array(Image.new("L", (3, 2), color=5)).shape
    (2, 3, 1)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype="float32" if dtype is None else dtype)
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array needs an image of rank 2 or 3, got shape {x.shape}.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format: str | None = None, scale: bool = True, dtype=None):
    """A 3D array as a PIL image, as Keras's ``array_to_img``.

    Args:
        x: an array ``(height, width, channels)`` with 1, 3 or 4 channels.
        data_format: ``"channels_last"`` (None) or ``"channels_first"``.
        scale: rescale the values to [0, 255] (minimum to 0, maximum to 255).
        dtype: the dtype the array is read as (None: float32).

    >>> import numpy as np
    >>> array_to_img(np.zeros((2, 3, 3))).size
    (3, 2)
    """
    Image = _pillow()
    data_format = _data_format(data_format)
    x = np.array(x, dtype="float32" if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError(f"array_to_img needs one image of rank 3, got shape {x.shape}; index a batch first.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x /= np.max(x)
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img needs 1, 3 or 4 channels, got {channels} (shape {x.shape}).")


def save_img(path, x, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs) -> None:
    """Saves an array as an image file, as Keras's ``save_img``.

    Args:
        path: the file (or a file object).
        x: an array ``(height, width, channels)``.
        data_format: ``"channels_last"`` (None) or ``"channels_first"``.
        file_format: Pillow's format; None takes it from the path's ending.
        scale: rescale the values to [0, 255].
        **kwargs: passed to ``PIL.Image.Image.save``.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> save_img(path, np.ones((2, 2, 3)))
    >>> os.path.exists(path)
    True
    """
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("JPEG has no alpha channel: save_img converts the RGBA image to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
