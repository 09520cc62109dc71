"""Images in one subfolder per class, as ``keras.utils.image_dataset_from_directory``, as arrays."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["load_data", "IMAGE_FORMATS"]

#: File endings read as images (Keras's list), compared case-insensitively.
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos", "box", "hamming")


def load_data(
    directory: str | os.PathLike,
    image_size: tuple[int, int] = (256, 256),
    color_mode: str = "rgb",
    validation_split: float | None = None,
    seed: int = 0,
    shuffle: bool = True,
    class_names: Sequence[str] | None = None,
    interpolation: str = "bilinear",
):
    """``(x_train, y_train), (x_val, y_val), class_names`` from a folder of class folders.

    ``directory/<class>/**/<image>``: the class folders, sorted by name, give
    the labels 0, 1, ... (as Keras's ``labels="inferred"``); images are found
    recursively inside each and decoded with Pillow. Everything is loaded into
    memory, so this suits data sets that fit in RAM.

    Args:
        directory: the folder holding one subfolder per class.
        image_size: ``(height, width)`` every image is resized to.
        color_mode: ``"rgb"`` (3 channels), ``"grayscale"`` (1) or ``"rgba"`` (4).
        validation_split: fraction in [0, 1) of the images kept for validation:
            as Keras, the files are shuffled by ``seed`` and the last
            ``int(validation_split * n)`` are validation; ``None`` returns 0-row
            validation arrays.
        seed: the shuffle of the file order.
        shuffle: ``False`` keeps the sorted order (class by class).
        class_names: the class folders to use, in label order; default: all, sorted.
        interpolation: Pillow's resampling filter, ``"bilinear"`` by default
            (Pillow filters over the whole footprint when shrinking, so values
            differ a little from TensorFlow's bilinear resize).

    Returns:
        ``x``: float32 ``(n, height, width, channels)`` with values in [0, 255];
        ``y``: int32 labels ``(n,)``; ``class_names``: list of str.

    >>> (x, y), (x_val, y_val), names = load_data("flowers", image_size=(160, 160),
    ...                                            validation_split=0.2)  # doctest: +SKIP
    """
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Reading an image folder needs Pillow: pip install Pillow.") from err
    if color_mode not in _CHANNELS:
        raise ValueError(f"color_mode must be one of {sorted(_CHANNELS)}, got {color_mode!r}.")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {list(_INTERPOLATIONS)}, got {interpolation!r}.")
    if len(image_size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in image_size):
        raise ValueError(f"image_size must be (height, width) of positive ints, got {image_size!r}.")
    if validation_split is not None and not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No folder at {directory}.")
    present = sorted(p.name for p in directory.iterdir() if p.is_dir())
    if class_names is None:
        class_names = present
    else:
        class_names = list(class_names)
        missing = [c for c in class_names if c not in present]
        if missing:
            raise ValueError(f"class_names {missing} are not subfolders of {directory}; its subfolders are {present}.")
    if not class_names:
        raise ValueError(f"{directory} has no subfolders; put the images of each class in a subfolder named after it.")

    files, labels = [], []
    for label, name in enumerate(class_names):
        for root, dirs, names in os.walk(directory / name, followlinks=True):
            dirs.sort()
            for fname in sorted(names):
                if fname.lower().endswith(IMAGE_FORMATS):
                    files.append(Path(root) / fname)
                    labels.append(label)
    if not files:
        raise ValueError(
            f"{directory} has no images ({', '.join(IMAGE_FORMATS)}) in its class folders {class_names}."
        )
    order = np.random.default_rng(seed).permutation(len(files)) if shuffle else np.arange(len(files))
    mode, channels = _CHANNELS[color_mode]
    height, width = int(image_size[0]), int(image_size[1])
    resample = getattr(Image.Resampling, interpolation.upper())
    x = np.empty((len(files), height, width, channels), np.float32)
    for row, i in enumerate(order):
        x[row] = _read_image(Image, files[i], mode, (width, height), resample).reshape(height, width, channels)
    y = np.asarray(labels, np.int32)[order]
    n_val = int(validation_split * len(files)) if validation_split else 0
    n_train = len(files) - n_val
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), class_names


def _read_image(Image, path: Path, mode: str, size: tuple[int, int], resample) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image = image.convert(mode)
            if image.size != size:
                image = image.resize(size, resample)
            return np.asarray(image, np.float32)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"Cannot read the image {path} ({err}); remove or replace the file.") from None
