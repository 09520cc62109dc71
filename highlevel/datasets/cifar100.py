"""CIFAR-100 (60,000 color images of 32x32 in 100 classes, 20 superclasses), Keras's ``load_data()``."""

from __future__ import annotations

import os

import numpy as np

from highlevel.datasets.cifar import find_batches
from highlevel.datasets.keras_files import RemoteFile, check_choice

__all__ = ["load_data"]

SOURCE = RemoteFile(
    dataset="cifar100",
    title="CIFAR-100",
    origin="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    file_hash="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    keras_name="cifar-100-python-target_archive",   # Keras's get_file(fname=..., extract=True) keeps it so
    download_name="cifar-100-python.tar.gz",
    other_names=("cifar-100-python.tar.gz", "cifar-100-python"),
)
FOLDER = "cifar-100-python"


def load_data(label_mode: str = "fine", path: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``, int64 labels ``(n, 1)``.

    As ``keras.datasets.cifar100.load_data()``, array for array: 50,000 training and
    10,000 test images, channels last, labelled with one of 100 fine classes or one of
    20 coarse superclasses. The archive ``cifar-100-python.tar.gz`` (161 MB) is looked for
    in ``path``, ``$HIGHLEVEL_DATA/cifar100/``, highlevel's cache and Keras's cache
    (``~/.keras/datasets/cifar-100-python-target_archive``, if its sha256 is Keras's), else
    downloaded from Keras's URL into highlevel's cache (:mod:`highlevel.datasets.keras_files`).

    Args:
        label_mode: ``"fine"`` (labels 0-99) or ``"coarse"`` (superclasses 0-19).
        path: the archive, its extracted ``cifar-100-python`` folder, or a folder holding
            either; highlevel's addition.

    >>> (x_train, y_train), _ = load_data(label_mode="coarse")  # doctest: +SKIP
    >>> x_train.shape, y_train.shape, int(y_train.max())  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1), 19)
    """
    check_choice("cifar100.load_data", "label_mode", label_mode, ("fine", "coarse"))
    (x_train, y_train), (x_test, y_test) = find_batches(SOURCE, FOLDER, ["train", "test"], f"{label_mode}_labels",
                                                        path)
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    x_train = x_train.transpose(0, 2, 3, 1)
    x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
