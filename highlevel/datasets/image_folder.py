"""Images in one subfolder per class, as ``keras.utils.image_dataset_from_directory``.

``load_data`` decodes every image into memory; ``dataset`` gives a Grain ``MapDataset`` that
decodes each image when it is read, so a folder larger than memory trains through ``fit``
(decoded in Grain's threads or worker processes while the step runs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["load_data", "dataset", "ImageFolderSource", "IMAGE_FORMATS"]

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
    Image = _pillow()
    _check_options(image_size, color_mode, interpolation, validation_split)
    files, labels, class_names = _list_files(directory, class_names)
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


def dataset(
    directory: str | os.PathLike,
    image_size: tuple[int, int] = (256, 256),
    color_mode: str = "rgb",
    validation_split: float | None = None,
    subset: str | None = None,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    interpolation: str = "bilinear",
    dtype: str = "float32",
):
    """A Grain ``MapDataset`` of ``(image, label)`` records from a folder of class folders.

    The same folder layout, labels and options as ``load_data``, but nothing is decoded
    until a record is read: pass the dataset to ``fit`` with a ``batch_size`` and it is
    read in batches by Grain's threads (or worker processes, with
    ``hl.training.GrainData``) while the steps run, shuffled per epoch and split over
    processes. Memory holds the file names, not the images. Needs ``grain``
    (``pip install "highlevel[data]"``).

    Args:
        directory: the folder holding one subfolder per class.
        image_size: ``(height, width)`` every image is resized to (files already of that size
            are not resampled).
        color_mode: ``"rgb"`` (3 channels), ``"grayscale"`` (1) or ``"rgba"`` (4).
        validation_split: fraction in [0, 1) of the files kept for validation: as Keras, the
            files are shuffled by ``seed`` and the last ``int(validation_split * n)`` are
            validation. Needs ``subset``.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (a pair of datasets) with
            ``validation_split``; None without it.
        seed: the shuffle of the files before a split.
        class_names: the class folders to use, in label order; default: all, sorted.
        interpolation: Pillow's resampling filter when an image is resized.
        dtype: the images' dtype: ``"float32"`` (values in [0, 255]) or ``"uint8"``.

    Returns:
        A ``grain.MapDataset`` (or two, for ``subset="both"``) whose records are
        ``(image, label)``: an array ``(height, width, channels)`` and an int32 label. Its
        ``class_names`` attribute lists the classes.

    >>> import tempfile, os, numpy as np
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, name))
    ...     Image.new("RGB", (8, 8)).save(os.path.join(root, name, "0.png"))
    >>> ds = dataset(root, image_size=(8, 8))
    >>> len(ds), ds[1][0].shape, int(ds[1][1]), ds.class_names
    (2, (8, 8, 3), 1, ['cat', 'dog'])
    """
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("image_folder.dataset needs grain: pip install 'highlevel[data]' (or pip install "
                          "grain).") from err
    _pillow()
    _check_options(image_size, color_mode, interpolation, validation_split)
    if np.dtype(dtype) not in (np.dtype("float32"), np.dtype("uint8")):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}.")
    if validation_split and subset not in ("training", "validation", "both"):
        raise ValueError(f"validation_split={validation_split} needs subset='training', 'validation' or 'both', "
                         f"got subset={subset!r}.")
    if not validation_split and subset is not None:
        raise ValueError(f"subset={subset!r} needs a validation_split in (0, 1); pass one, or leave subset=None.")
    files, labels, class_names = _list_files(directory, class_names)
    order = np.arange(len(files))
    if validation_split:
        order = np.random.default_rng(seed).permutation(len(files))
    n_train = len(files) - (int(validation_split * len(files)) if validation_split else 0)

    def make(rows):
        source = ImageFolderSource([files[i] for i in rows], [labels[i] for i in rows], image_size=image_size,
                                   color_mode=color_mode, interpolation=interpolation, dtype=dtype)
        ds = grain.MapDataset.source(source)
        ds.class_names = list(class_names)
        return ds

    if subset == "both":
        return make(order[:n_train]), make(order[n_train:])
    return make(order[n_train:] if subset == "validation" else order[:n_train])


class ImageFolderSource:
    """Images decoded when read: a Grain data source (``len``, ``[i]``) of ``(image, label)``.

    ``dataset`` wraps one in a ``grain.MapDataset``; it holds file names and labels only,
    and is picklable, so Grain's worker processes can read it.

    Args:
        files: the image files.
        labels: one integer label per file.
        image_size: ``(height, width)`` of the images read.
        color_mode: ``"rgb"``, ``"grayscale"`` or ``"rgba"``.
        interpolation: Pillow's resampling filter when an image is resized.
        dtype: ``"float32"`` or ``"uint8"``.

    >>> import tempfile, os
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.new("L", (4, 2), color=7).save(path)
    >>> image, label = ImageFolderSource([path], [3], image_size=(2, 4), color_mode="grayscale")[0]
    >>> image.shape, float(image.max()), int(label)
    ((2, 4, 1), 7.0, 3)
    """

    def __init__(self, files: Sequence[str | os.PathLike], labels: Sequence[int], image_size=(256, 256),
                 color_mode: str = "rgb", interpolation: str = "bilinear", dtype: str = "float32"):
        _check_options(image_size, color_mode, interpolation, None)
        if len(files) != len(labels):
            raise ValueError(f"ImageFolderSource got {len(files)} files but {len(labels)} labels; pass one label "
                             "per file.")
        self.files = [os.fspath(f) for f in files]
        self.labels = np.asarray(labels, np.int32)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        Image = _pillow()
        mode, channels = _CHANNELS[self.color_mode]
        height, width = self.image_size
        resample = getattr(Image.Resampling, self.interpolation.upper())
        image = _read_image(Image, Path(self.files[index]), mode, (width, height), resample, self.dtype)
        return image.reshape(height, width, channels), self.labels[index]

    def __repr__(self) -> str:
        return f"ImageFolderSource({len(self.files)} files, image_size={self.image_size}, {self.color_mode})"


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Reading an image folder needs Pillow: pip install Pillow.") from err
    return Image


def _check_options(image_size, color_mode: str, interpolation: str, validation_split) -> None:
    if color_mode not in _CHANNELS:
        raise ValueError(f"color_mode must be one of {sorted(_CHANNELS)}, got {color_mode!r}.")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {list(_INTERPOLATIONS)}, got {interpolation!r}.")
    if len(image_size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in image_size):
        raise ValueError(f"image_size must be (height, width) of positive ints, got {image_size!r}.")
    if validation_split is not None and not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")


def _list_files(directory, class_names) -> tuple[list[Path], list[int], list[str]]:
    """The image files under the class folders (sorted), their labels and the class names."""
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
    return files, labels, class_names


def _read_image(Image, path: Path, mode: str, size: tuple[int, int], resample, dtype=np.float32) -> np.ndarray:
    try:
        with Image.open(path) as image:
            if image.mode != mode:
                image = image.convert(mode)
            if image.size != size:
                image = image.resize(size, resample)
            return np.asarray(image, dtype)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"Cannot read the image {path} ({err}); remove or replace the file.") from None
