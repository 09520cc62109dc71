"""Arrays from a NumPy ``.npz`` file, in Keras's ``load_data()`` convention."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["load_data", "split_arrays"]


def load_data(
    path: str | os.PathLike,
    x_key: str = "x",
    y_key: str = "y",
    test_split: float | None = None,
    seed: int = 0,
):
    """``(x_train, y_train), (x_test, y_test)`` from an ``.npz`` file.

    Two layouts are read:

    1. ``<x_key>_train``, ``<y_key>_train``, ``<x_key>_test``, ``<y_key>_test``
       (``x_train``... by default; ``keras.datasets.mnist``'s own file is one):
       the file's split is returned as it is.
    2. ``<x_key>`` and ``<y_key>``: with ``test_split`` the rows are shuffled by
       ``seed`` and the last ``test_split`` fraction becomes the test set; with
       ``test_split=None`` everything is training data and the test arrays have
       0 rows.

    Arrays keep their stored dtype. The file is read with
    ``allow_pickle=False``, so it can never run code.

    Args:
        path: the ``.npz`` file.
        x_key: name (or prefix) of the inputs.
        y_key: name (or prefix) of the targets.
        test_split: fraction in [0, 1) for the test set; layout 2 only.
        seed: the shuffle before a split.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(p, x=np.arange(10.0).reshape(5, 2), y=np.arange(5))
    >>> (x_train, y_train), (x_test, y_test) = load_data(p, test_split=0.4)
    >>> x_train.shape, x_test.shape
    ((3, 2), (2, 2))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No .npz file at {path}.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a readable .npz file ({err}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array (.npy); save x and y together with np.savez(path, x=..., y=...).")
    with archive:
        keys = set(archive.files)
        split_keys = [f"{x_key}_train", f"{y_key}_train", f"{x_key}_test", f"{y_key}_test"]
        if all(k in keys for k in split_keys):
            if test_split is not None:
                raise ValueError(
                    f"{path} already holds a train/test split ({', '.join(split_keys)}); "
                    f"leave test_split=None (got {test_split})."
                )
            x_train, y_train, x_test, y_test = (_get(archive, path, k) for k in split_keys)
            _check_lengths(path, x_train, y_train, split_keys[0], split_keys[1])
            _check_lengths(path, x_test, y_test, split_keys[2], split_keys[3])
            return (x_train, y_train), (x_test, y_test)
        if x_key in keys and y_key in keys:
            x, y = _get(archive, path, x_key), _get(archive, path, y_key)
            _check_lengths(path, x, y, x_key, y_key)
            return split_arrays(x, y, test_split, seed)
    raise ValueError(
        f"{path} has the arrays {sorted(keys)}; expected either {x_key!r} and {y_key!r}, or "
        f"{', '.join(repr(k) for k in split_keys)}. Pass x_key=... and y_key=... to name yours."
    )


def split_arrays(x: np.ndarray, y: np.ndarray, test_split: float | None, seed: int = 0):
    """Shuffles rows by ``seed`` and keeps the last ``test_split`` fraction for testing.

    ``test_split=None`` (or 0) returns all rows, unshuffled, as training data and
    0-row test arrays.

    Args:
        x: Inputs, ``n`` rows.
        y: Targets, ``n`` rows.
        test_split: The fraction of rows for testing, in [0, 1), or None.
        seed: The seed of the shuffle.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.

    >>> import numpy as np
    >>> (x_train, y_train), (x_test, y_test) = split_arrays(np.arange(10), np.arange(10), 0.2)
    >>> len(x_train), len(x_test), sorted(x_train.tolist() + x_test.tolist()) == list(range(10))
    (8, 2, True)
    """
    if test_split is None or test_split == 0:
        return (x, y), (x[:0], y[:0])
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}.")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_split))
    train, test = order[: len(x) - n_test], order[len(x) - n_test :]
    return (x[train], y[train]), (x[test], y[test])


def _get(archive, path: Path, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as err:  # object arrays need pickle, which is refused
        raise ValueError(
            f"{path}: array {key!r} cannot be read without pickle ({err}); save it with a numeric or string dtype."
        ) from None


def _check_lengths(path: Path, x: np.ndarray, y: np.ndarray, x_name: str, y_name: str) -> None:
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"{path}: {x_name!r} has shape {x.shape} and {y_name!r} has shape {y.shape}; "
            "they need the same number of rows (first dimension)."
        )
