"""Keras's ``image_dataset_from_directory``, ``text_dataset_from_directory`` and
``timeseries_dataset_from_array``, as batched Grain ``MapDataset``s.

Keras returns a ``tf.data.Dataset`` (or, with ``format="grain"``, a ``grain.IterDataset``);
these return a batched ``grain.MapDataset``: it has a length (the progress bar knows the
number of steps), ``fit``/``evaluate``/``predict`` take it as ``x`` as it is, and iterating it
gives the batches Keras's gives. Nothing is read until a batch is: images and texts are
opened when their batch is read, so a folder larger than memory trains. Which file is
where (the file order, the labels, the training/validation split for a seed) is
Keras's ``index_directory`` and ``get_training_or_validation_split``; ``hl.utils`` holds the
three functions under Keras's names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "index_directory", "IMAGE_FORMATS", "INTERPOLATIONS"]

#: File endings read as images (Keras's ``ALLOWLIST_FORMATS``), compared case-insensitively.
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: The ``interpolation`` values (Keras's on the JAX backend: ``jax.image.resize``'s methods).
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _grain():
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("The *_dataset_from_* functions need grain: pip install 'highlevel[data]' "
                          "(or pip install grain).") from err
    return grain


def index_directory(directory, labels="inferred", formats=IMAGE_FORMATS, class_names=None, shuffle=True,
                    seed=None, follow_links=False):
    """``(file_paths, labels, class_names)`` of the files under ``directory``, in Keras's order.

    Args:
        directory: the folder.
        labels: ``"inferred"``, None, or one label per file.
        formats: the file endings indexed.
        class_names: the subfolders, in label order (``labels="inferred"`` only).
        shuffle: permute the files.
        seed: the permutation's seed.
        follow_links: walk into symlinked folders.

    With ``labels="inferred"``, the subfolders (sorted, or ``class_names``'s order) are the
    classes and their files, walked recursively in sorted order, get the class's index;
    ``labels=None`` or a list indexes every file under ``directory``. ``shuffle`` permutes the
    files (and labels) with ``np.random.RandomState(seed)``, as Keras does.

    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> for name in ("b", "a"):
    ...     os.makedirs(os.path.join(root, name))
    ...     open(os.path.join(root, name, "x.png"), "w").close()
    >>> paths, labels, names = index_directory(root, shuffle=False)
    >>> [os.path.relpath(p, root) for p in paths], labels.tolist(), names
    (['a/x.png', 'b/x.png'], [0, 1], ['a', 'b'])
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"No folder at {directory}; pass the folder that holds the data.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"class_names {list(class_names)} are not all subfolders of {directory}; its "
                                 f"subfolders are {subdirs}: pass some of these, or class_names=None.")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("class_names needs labels='inferred' (with labels=None or a list of labels the "
                             "classes are not folders); drop class_names.")
        subdirs = [""]
    filenames, found = [], []
    for index, subdir in enumerate(subdirs):
        root = os.path.join(directory, subdir)
        for folder, _, names in sorted(os.walk(root, followlinks=follow_links), key=lambda w: w[0]):
            for fname in sorted(names):
                if fname.lower().endswith(tuple(formats)):
                    filenames.append(os.path.join(subdir, os.path.relpath(os.path.join(folder, fname), root))
                                     if subdir else os.path.relpath(os.path.join(folder, fname), root))
                    found.append(index)
    if labels == "inferred":
        labels = np.asarray(found, np.int32)
        class_names = list(subdirs)
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"Got {len(labels)} labels for the {len(filenames)} files in {directory}; pass one "
                             "label per file, in the sorted order of their paths.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _check_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}.")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(f"validation_split={validation_split} and subset={subset!r} go together: pass both "
                         "(subset 'training', 'validation' or 'both') or neither.")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"subset must be 'training', 'validation' or 'both', got {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError("A validation_split with shuffle=True needs a seed, so that the training and validation "
                         "subsets do not overlap; pass seed=<int>.")


def _split(paths, labels, validation_split, subset):
    """Keras's ``get_training_or_validation_split``: the last ``int(split * n)`` are validation."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    cut = slice(None, -n_val) if subset == "training" else slice(-n_val, None)
    if n_val == 0:  # Keras's [:-0] is empty too
        cut = slice(0, 0)
    return paths[cut], None if labels is None else labels[cut]


class _Labels:
    """Keras's label modes: 'int' int32, 'binary' float32 ``(1,)``, 'categorical' one-hot float32."""

    def __init__(self, mode: str, num_classes: int):
        self.mode, self.num_classes = mode, num_classes

    def __call__(self, label):
        if self.mode == "binary":
            return np.asarray([label], np.float32)
        if self.mode == "categorical":
            return np.eye(self.num_classes, dtype=np.float32)[int(label)]
        return np.asarray(label, np.int32)


class _Read:
    """Reads the file of a record ``(path, label)`` or ``path``: picklable, for Grain's workers."""

    def __init__(self, load, label_mode, num_classes):
        self.load = load
        self.labels = _Labels(label_mode, num_classes) if label_mode else None

    def __call__(self, record):
        if self.labels is None:
            return self.load(record)
        path, label = record
        return self.load(path), self.labels(label)


class _Image:
    def __init__(self, image_size, channels, interpolation, crop, pad, data_format):
        self.image_size, self.channels, self.interpolation = image_size, channels, interpolation
        self.crop, self.pad, self.data_format = crop, pad, data_format

    def __call__(self, path):
        image = _resize(_decode(path, self.channels), self.image_size, self.interpolation, self.crop, self.pad)
        return np.transpose(image, (2, 0, 1)) if self.data_format == "channels_first" else image


class _Text:
    def __init__(self, max_length):
        self.max_length = max_length

    def __call__(self, path):
        with open(path) as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]


def _decode(path, channels: int) -> np.ndarray:
    """The image as float32 ``(height, width, channels)``, converted to Keras's modes."""
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Reading images needs Pillow: pip install Pillow.") from err
    try:
        with Image.open(path) as image:
            wanted = {1: ("L", "I;16", "I"), 3: ("RGB",), 4: ("RGBA",)}[channels]
            if image.mode not in wanted:
                image = image.convert(wanted[0])
            array = np.array(image, np.float32)
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"Cannot read the image {path} ({err}); remove or replace the file.") from None
    return array[..., None] if array.ndim == 2 else array


def _resize(image: np.ndarray, size, interpolation: str, crop: bool, pad: bool) -> np.ndarray:
    """Keras's ``ops.image.resize`` on JAX: centre crop or zero pad to the aspect ratio, then resize."""
    import jax

    height, width, channels = image.shape
    target_h, target_w = size
    if crop:
        crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
        crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
        top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
        image = image[top:top + crop_h, left:left + crop_w]
    elif pad:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        if top > 0:  # Keras pads the same on both sides, so an odd difference stays a row short
            image = np.pad(image, ((top, top), (0, 0), (0, 0)))
        elif left > 0:
            image = np.pad(image, ((0, 0), (left, left), (0, 0)))
    if image.shape[:2] == (target_h, target_w):
        return np.asarray(image, np.float32)
    with jax.default_device(jax.devices("cpu")[0]):
        out = jax.image.resize(image, (target_h, target_w, channels), method=interpolation, antialias=False)
    return np.asarray(out, np.float32)


def _stack(values):
    first = values[0]
    if isinstance(first, tuple):
        return tuple(_stack([v[i] for v in values]) for i in range(len(first)))
    return np.stack([np.asarray(v) for v in values])


def _datasets(paths, labels, label_mode, num_classes, load, shuffle, seed, batch_size, validation_split,
              subset, class_names, what):
    grain = _grain()

    def make(rows_paths, rows_labels, shuffled):
        if not rows_paths:
            raise ValueError(f"No {what} in the {subset or 'whole'} subset; add files, or lower validation_split.")
        records = list(rows_paths) if not label_mode else list(zip(rows_paths, rows_labels.tolist()))
        ds = grain.MapDataset.source(records)
        if shuffled:
            ds = ds.shuffle(seed=seed)
        ds = ds.map(_Read(load, label_mode, num_classes))
        if batch_size is not None:
            ds = ds.batch(batch_size, batch_fn=_stack)
        ds.class_names = class_names
        ds.file_paths = list(rows_paths)
        return ds

    if subset == "both":
        train = make(*_split(paths, labels, validation_split, "training"), shuffle)
        return train, make(*_split(paths, labels, validation_split, "validation"), False)
    return make(*_split(paths, labels, validation_split, subset), shuffle)


def _check_labels(labels, label_mode, class_names):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"labels must be 'inferred', None or a list/tuple of integer labels, got {labels!r}.")
    if class_names is not None and labels != "inferred":
        raise ValueError(f"class_names needs labels='inferred', got labels={labels!r}; drop class_names.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"label_mode must be 'int', 'categorical', 'binary' or None, got {label_mode!r}.")


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode: str = "rgb", batch_size: int | None = 32, image_size=(256, 256),
                                 shuffle: bool = True, seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False, data_format: str | None = None,
                                 verbose: bool = True):
    """Batches of ``(images, labels)`` from ``directory/<class>/**/<image>``, as Keras's.

    Args:
        directory: the folder; with ``labels="inferred"`` one subfolder per class.
        labels: ``"inferred"`` (the subfolders), None (images only), or one integer label per
            file in the sorted order of the paths.
        label_mode: ``"int"`` (int32), ``"categorical"`` (one-hot float32), ``"binary"``
            (float32 ``(batch, 1)``, two classes) or None (images only).
        class_names: the subfolders to read, in label order (``labels="inferred"`` only).
        color_mode: ``"rgb"``, ``"grayscale"`` or ``"rgba"``.
        batch_size: images per batch; None gives single images.
        image_size: ``(height, width)`` (or one int) every image is resized to.
        shuffle: shuffle the files (by ``seed``); False keeps the sorted order.
        seed: the shuffle's seed (needed with a ``validation_split`` and ``shuffle``).
        validation_split: the fraction of files kept for validation (the last ones).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (a pair), with ``validation_split``.
        interpolation: one of ``INTERPOLATIONS`` (``jax.image.resize``'s, as Keras on JAX).
        follow_links: walk into symlinked folders.
        crop_to_aspect_ratio: crop the centre to the target aspect ratio before resizing.
        pad_to_aspect_ratio: pad with zeros to the target aspect ratio before resizing.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        verbose: print how many files and classes were found.

    Returns:
        A batched ``grain.MapDataset`` (two for ``subset="both"``) of float32 images
        ``(batch, height, width, channels)`` and labels, with ``class_names`` and ``file_paths``.

    >>> import tempfile, os
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, name))
    ...     Image.new("RGB", (8, 6)).save(os.path.join(root, name, "0.png"))
    >>> ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=2, shuffle=False, verbose=False)
    >>> images, labels = ds[0]
    >>> images.shape, images.dtype, labels.tolist(), ds.class_names
    ((2, 4, 4, 3), dtype('float32'), [0, 1], ['cat', 'dog'])
    """
    _check_labels(labels, label_mode, class_names)
    if color_mode not in _CHANNELS:
        raise ValueError(f"color_mode must be 'rgb', 'rgba' or 'grayscale', got {color_mode!r}.")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"image_size must be (height, width), got {image_size!r}.")
    interpolation = str(interpolation).lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS} (jax.image.resize's methods), got "
                         f"{interpolation!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True; drop one.")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}.")
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = np.random.randint(1e6) if seed is None else seed
    paths, labels, class_names = index_directory(directory, labels, IMAGE_FORMATS, class_names, shuffle, seed,
                                                 follow_links)
    if verbose:
        print(f"Found {len(paths)} files" + ("." if labels is None else f" belonging to {len(class_names)} classes."))
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes, got {class_names}; use 'categorical' or "
                         "'int'.")
    load = _Image(tuple(int(s) for s in image_size), _CHANNELS[color_mode], interpolation, crop_to_aspect_ratio,
                  pad_to_aspect_ratio, data_format)
    return _datasets(paths, labels, label_mode, len(class_names or ()), load, shuffle, seed, batch_size,
                     validation_split, subset, class_names, "images")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size: int | None = 32, max_length: int | None = None, shuffle: bool = True,
                                seed: int | None = None, validation_split: float | None = None,
                                subset: str | None = None, follow_links: bool = False, verbose: bool = True):
    """Batches of ``(texts, labels)`` from ``directory/<class>/**/<name>.txt``, as Keras's.

    Texts are NumPy arrays of ``str``; the file order, labels and split are Keras's.

    Args:
        directory: the folder; with ``labels="inferred"`` one subfolder per class.
        labels: ``"inferred"``, None (texts only), or one integer label per file in path order.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or None.
        class_names: the subfolders to read, in label order (``labels="inferred"`` only).
        batch_size: texts per batch; None gives single texts.
        max_length: the number of characters a text is cut to (None: whole).
        shuffle: shuffle the files (by ``seed``).
        seed: the shuffle's seed (needed with a ``validation_split`` and ``shuffle``).
        validation_split: the fraction of files kept for validation (the last ones).
        subset: ``"training"``, ``"validation"`` or ``"both"``, with ``validation_split``.
        follow_links: walk into symlinked folders.
        verbose: print how many files and classes were found.

    Returns:
        A batched ``grain.MapDataset`` (two for ``subset="both"``) with ``class_names``.

    >>> import tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> for name in ("neg", "pos"):
    ...     os.makedirs(os.path.join(root, name))
    ...     _ = open(os.path.join(root, name, "0.txt"), "w").write(name * 2)
    >>> texts, labels = text_dataset_from_directory(root, shuffle=False, max_length=4, verbose=False)[0]
    >>> texts.tolist(), labels.tolist()
    (['negn', 'posp'], [0, 1])
    """
    _check_labels(labels, label_mode, class_names)
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = np.random.randint(1e6) if seed is None else seed
    paths, labels, class_names = index_directory(directory, labels, (".txt",), class_names, shuffle, seed,
                                                 follow_links)
    if verbose:
        print(f"Found {len(paths)} files" + ("." if labels is None else f" belonging to {len(class_names)} classes."))
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes, got {class_names}; use 'categorical' or "
                         "'int'.")
    return _datasets(paths, labels, label_mode, len(class_names or ()), _Text(max_length), shuffle, seed,
                     batch_size, validation_split, subset, class_names, "text files")


class _Window:
    def __init__(self, data, targets, start_index, sequence_length, sampling_rate, starts):
        self.data, self.targets, self.start_index = data, targets, start_index
        self.sequence_length, self.sampling_rate, self.starts = sequence_length, sampling_rate, starts

    def __call__(self, i):
        pos = int(self.starts[i])
        first = self.start_index + pos
        window = np.asarray(self.data[first:first + self.sequence_length * self.sampling_rate:self.sampling_rate])
        if self.targets is None:
            return window
        return window, np.asarray(self.targets[first])


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None):
    """Batches of sliding windows over ``data`` (and their targets), as Keras's.

    Window ``i`` holds ``data[s, s + r, ..., s + (sequence_length - 1) * r]`` with
    ``s = start_index + p_i`` and ``r = sampling_rate``, and its target is ``targets[s]``;
    ``p_i = i * sequence_stride`` for the windows that end before ``end_index``. With
    ``shuffle``, the ``p_i`` are permuted by ``np.random.RandomState(seed)``. Windows are cut
    when their batch is read.

    Args:
        data: an array ``(T, ...)`` of the time steps.
        targets: one target per step (``targets[s]`` goes with the window starting at ``s``), or None.
        sequence_length: steps per window.
        sequence_stride: steps between the starts of two windows.
        sampling_rate: step between two rows of a window.
        batch_size: windows per batch (None: single windows).
        shuffle: shuffle the windows.
        seed: the shuffle's seed.
        start_index: the first step windows are cut from.
        end_index: the steps ``[start_index, end_index)`` windows are cut from.

    >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 10, sequence_length=3, batch_size=4)
    >>> x, y = ds[0]
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [0, 10, 20, 30])
    """
    grain = _grain()
    n = len(data)
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if start_index is not None and not 0 <= start_index < n:
        raise ValueError(f"start_index must be in [0, {n}) for data of length {n}, got {start_index}.")
    if end_index is not None and not (start_index or 0) < end_index <= n:
        raise ValueError(f"end_index must be in ({start_index or 0}, {n}] for data of length {n}, got {end_index}.")
    if targets is not None and len(targets) != n:
        raise ValueError(f"targets has {len(targets)} rows but data has {n}; pass one target per time step "
                         "(or targets=None).")
    start_index = start_index or 0
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if num_seqs <= 0:
        raise ValueError(f"No window of sequence_length={sequence_length} and sampling_rate={sampling_rate} fits in "
                         f"the {end_index - start_index} steps [{start_index}, {end_index}); shorten the window.")
    starts = np.arange(0, num_seqs, sequence_stride)
    if shuffle:
        np.random.RandomState(np.random.randint(1e6) if seed is None else seed).shuffle(starts)
    ds = grain.MapDataset.range(len(starts)).map(_Window(data, targets, start_index, sequence_length,
                                                         sampling_rate, starts))
    if batch_size is not None:
        ds = ds.batch(batch_size, batch_fn=_stack)
    return ds
