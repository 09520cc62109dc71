"""Boston housing prices (506 districts, 13 features), Keras's ``load_data()``."""

from __future__ import annotations

import os

import numpy as np

from highlevel.datasets.keras_files import RemoteFile, check_fraction, locate

__all__ = ["load_data"]

SOURCE = RemoteFile("boston_housing", "Boston housing",
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz",
                    "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5", "boston_housing.npz")


def load_data(path: str | os.PathLike = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``: float64 features ``(n, 13)``, median prices in k$ ``(n,)``.

    As ``keras.datasets.boston_housing.load_data()``, array for array: the rows are
    shuffled with ``np.random.RandomState(seed)`` and the last ``test_split`` of them are the
    test set (102 of 506 by default). Keras warns against this dataset: one of its
    features encodes racial segregation; prefer :mod:`highlevel.datasets.california_housing`.
    ``boston_housing.npz`` is looked for as :mod:`highlevel.datasets.keras_files` says
    (``path``, ``$HIGHLEVEL_DATA/boston_housing/``, highlevel's cache, then Keras's), else downloaded.

    Args:
        path: the file, a folder holding ``boston_housing.npz``, or (as in Keras) the file's name in the caches.
        test_split: the fraction of rows for the test set, in [0, 1).
        seed: the seed of the shuffle.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape  # doctest: +SKIP
    ((404, 13), (102, 13))
    """
    check_fraction("boston_housing.load_data", test_split)
    return split_rows(locate(SOURCE, path), None, test_split, seed)


def split_rows(file, limit: int | None, test_split: float, seed: int):
    """Keras's housing split: ``x``, ``y`` of ``file`` (first ``limit`` rows) shuffled, the last part for testing."""
    try:
        with np.load(file, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except KeyError as err:
        raise ValueError(f"{file} has no array {err}; the housing files hold 'x' and 'y'.") from None
    except (OSError, ValueError) as err:
        raise ValueError(f"{file} is not a readable .npz file of numbers ({err}); download it again.") from None
    if limit is not None:
        x, y = x[:limit], y[:limit]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x))
    rng.shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (np.array(x[:n_train]), np.array(y[:n_train])), (np.array(x[n_train:]), np.array(y[n_train:]))
