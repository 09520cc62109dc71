"""California housing prices (20,640 census block groups, 8 features), Keras's ``load_data()``."""

from __future__ import annotations

import os

from highlevel.datasets.boston_housing import split_rows
from highlevel.datasets.keras_files import RemoteFile, check_choice, check_fraction, locate

__all__ = ["load_data"]

SOURCE = RemoteFile("california_housing", "California housing",
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz",
                    "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f", "california_housing.npz")


def load_data(version: str = "large", path: str | os.PathLike = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``: features ``(n, 8)``, median house values in dollars ``(n,)``.

    As ``keras.datasets.california_housing.load_data()``, array for array: the rows
    (the first 600 for ``version="small"``) are shuffled with ``np.random.RandomState(seed)``
    and the last ``test_split`` of them are the test set. The features are MedInc,
    HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.
    ``california_housing.npz`` is looked for as :mod:`highlevel.datasets.keras_files` says
    (``path``, ``$HIGHLEVEL_DATA/california_housing/``, highlevel's cache, then Keras's), else downloaded.

    Args:
        version: ``"large"`` (20,640 rows) or ``"small"`` (600, a stand-in for Boston housing).
        path: the file, a folder holding ``california_housing.npz``, or the file's name in the caches.
        test_split: the fraction of rows for the test set, in [0, 1).
        seed: the seed of the shuffle.

    >>> (x_train, y_train), (x_test, y_test) = load_data(version="small")  # doctest: +SKIP
    >>> x_train.shape, x_test.shape  # doctest: +SKIP
    ((480, 8), (120, 8))
    """
    check_choice("california_housing.load_data", "version", version, ("small", "large"))
    check_fraction("california_housing.load_data", test_split)
    return split_rows(locate(SOURCE, path), 600 if version == "small" else None, test_split, seed)
