"""CIFAR-10 (60,000 color images of 32x32 in 10 classes), Keras's ``load_data()``."""

from __future__ import annotations

import os

import numpy as np

from highlevel.datasets.cifar import find_batches
from highlevel.datasets.keras_files import RemoteFile

__all__ = ["load_data", "CLASS_NAMES"]

#: Label ``i`` is ``CLASS_NAMES[i]``.
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

SOURCE = RemoteFile(
    dataset="cifar10",
    title="CIFAR-10",
    origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    keras_name="cifar-10-batches-py-target_archive",   # Keras's get_file(fname=..., extract=True) keeps it so
    download_name="cifar-10-python.tar.gz",
    other_names=("cifar-10-python.tar.gz", "cifar-10-batches-py"),
)
FOLDER = "cifar-10-batches-py"
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
TEST = ["test_batch"]


def load_data(path: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``, uint8 labels ``(n, 1)``.

    As ``keras.datasets.cifar10.load_data()``, array for array: 50,000 training and
    10,000 test images of 10 classes (:data:`CLASS_NAMES`), channels last. The archive
    ``cifar-10-python.tar.gz`` (163 MB) is looked for in ``path``, ``$HIGHLEVEL_DATA/cifar10/``,
    highlevel's cache and Keras's cache (``~/.keras/datasets/cifar-10-batches-py-target_archive``,
    if its sha256 is Keras's), else downloaded from Keras's URL into highlevel's cache
    (:mod:`highlevel.datasets.keras_files`). The batches are read from the archive itself.

    Args:
        path: the archive, its extracted ``cifar-10-batches-py`` folder, or a folder holding
            either; highlevel's addition (Keras's ``load_data`` takes no argument).

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape, CLASS_NAMES[y_train[0, 0]]  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1), 'frog')
    """
    batches = find_batches(SOURCE, FOLDER, TRAIN + TEST, "labels", path)
    # Keras fills preallocated uint8 arrays (so the labels become uint8) and casts the test batch to match.
    n_train = sum(len(data) for data, _ in batches[:-1])
    x_train = np.empty((n_train, 3, 32, 32), dtype="uint8")
    y_train = np.empty((n_train,), dtype="uint8")
    start = 0
    for data, labels in batches[:-1]:
        x_train[start:start + len(data)], y_train[start:start + len(data)] = data, labels
        start += len(data)
    x_test, y_test = batches[-1]
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    x_train = x_train.transpose(0, 2, 3, 1)
    x_test = x_test.transpose(0, 2, 3, 1)
    x_test = x_test.astype(x_train.dtype)
    y_test = y_test.astype(y_train.dtype)
    return (x_train, y_train), (x_test, y_test)
