"""Arrays from a NumPy ``.npz`` file, in Keras's ``load_data()`` convention.

``mmap=True`` maps the arrays of an uncompressed file (``np.savez``) into memory instead of
reading them: rows are read from disk when used, so a file larger than memory trains
through ``fit`` (directly, or as a Grain dataset from ``dataset``).
"""

from __future__ import annotations

import mmap
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["load_data", "dataset", "ArrayRecords", "split_arrays"]


def load_data(
    path: str | os.PathLike,
    x_key: str = "x",
    y_key: str = "y",
    test_split: float | None = None,
    seed: int = 0,
    mmap: bool = False,
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
    ``allow_pickle=False``, so it can never run code. With ``mmap=True`` the
    arrays are read-only ``np.memmap``\ s into the file (which must be written by
    ``np.savez``, not ``np.savez_compressed``): nothing is read until it is used.

    Args:
        path: the ``.npz`` file.
        x_key: name (or prefix) of the inputs.
        y_key: name (or prefix) of the targets.
        test_split: fraction in [0, 1) for the test set; layout 2 only.
        seed: the shuffle before a split.
        mmap: map the arrays instead of reading them (layout 1, or layout 2 without
            ``test_split``, whose shuffle would read everything).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(p, x=np.arange(10.0).reshape(5, 2), y=np.arange(5))
    >>> (x_train, y_train), (x_test, y_test) = load_data(p, test_split=0.4)
    >>> x_train.shape, x_test.shape
    ((3, 2), (2, 2))
    >>> (x_all, _), _ = load_data(p, mmap=True)
    >>> type(x_all).__name__, x_all[4].tolist()
    ('memmap', [8.0, 9.0])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No .npz file at {path}.")
    if mmap:
        return _load_mapped(path, x_key, y_key, test_split)
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


def _load_mapped(path: Path, x_key: str, y_key: str, test_split):
    arrays = _map_members(path)
    split_keys = [f"{x_key}_train", f"{y_key}_train", f"{x_key}_test", f"{y_key}_test"]
    if all(k in arrays for k in split_keys):
        if test_split is not None:
            raise ValueError(f"{path} already holds a train/test split ({', '.join(split_keys)}); "
                             f"leave test_split=None (got {test_split}).")
        x_train, y_train, x_test, y_test = (arrays[k] for k in split_keys)
        _check_lengths(path, x_train, y_train, split_keys[0], split_keys[1])
        _check_lengths(path, x_test, y_test, split_keys[2], split_keys[3])
        return (x_train, y_train), (x_test, y_test)
    if x_key in arrays and y_key in arrays:
        if test_split:
            raise ValueError(f"load_data(mmap=True) cannot split {path} at random without reading all of it; "
                             "leave test_split=None, or save the split as x_train/y_train/x_test/y_test.")
        x, y = arrays[x_key], arrays[y_key]
        _check_lengths(path, x, y, x_key, y_key)
        return (x, y), (x[:0], y[:0])
    raise ValueError(
        f"{path} has the arrays {sorted(arrays)}; expected either {x_key!r} and {y_key!r}, or "
        f"{', '.join(repr(k) for k in split_keys)}. Pass x_key=... and y_key=... to name yours."
    )


def _map_members(path: Path) -> dict[str, np.memmap]:
    """Every array of an uncompressed ``.npz`` as a read-only memmap at its offset in the file."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a readable .npz file ({err}).") from None
    arrays = {}
    with archive, open(path, "rb") as f:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path} is compressed (np.savez_compressed), so its array {name!r} cannot be "
                                 "memory-mapped; save it with np.savez, or pass mmap=False to read it into memory.")
            # The local header's name and extra field may differ in length from the central directory's.
            f.seek(info.header_offset)
            header = f.read(30)
            if header[:4] != b"PK\x03\x04":
                raise ValueError(f"{path} has a damaged zip entry for {name!r}; write the file again.")
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            try:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
            except ValueError as err:
                raise ValueError(f"{path}: {name!r} is not a .npy array ({err}).") from None
            if dtype.hasobject:
                raise ValueError(f"{path}: array {name!r} holds Python objects and cannot be read without pickle; "
                                 "save it with a numeric or string dtype.")
            arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=f.tell(), shape=shape,
                                     order="F" if fortran else "C")
    return arrays


def dataset(path: str | os.PathLike, x_key: str = "x", y_key: str = "y", subset: str | None = None):
    """A Grain ``MapDataset`` of ``(x, y)`` rows of an ``.npz`` file, memory-mapped.

    Rows are read from the file when a batch needs them, in Grain's reader threads, so a
    file larger than memory trains through ``fit(dataset(...), batch_size=...)``. The file
    must be uncompressed (``np.savez``). Needs ``grain`` (``pip install "highlevel[data]"``).

    Args:
        path: the ``.npz`` file.
        x_key: name (or prefix) of the inputs.
        y_key: name (or prefix) of the targets.
        subset: ``"train"`` or ``"test"`` for a file with ``<x_key>_train``... arrays; None for
            one with ``<x_key>`` and ``<y_key>``.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(p, x_train=np.arange(10.0).reshape(5, 2), y_train=np.arange(5), x_test=np.zeros((1, 2)),
    ...          y_test=np.zeros(1))
    >>> ds = dataset(p, subset="train")
    >>> len(ds), ds[4][0].tolist(), int(ds[4][1])
    (5, [8.0, 9.0], 4)
    """
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("npz.dataset needs grain: pip install 'highlevel[data]' (or pip install grain).") from err
    if subset not in (None, "train", "test"):
        raise ValueError(f"subset must be None, 'train' or 'test', got {subset!r}.")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No .npz file at {path}.")
    arrays = _map_members(path)
    names = (x_key, y_key) if subset is None else (f"{x_key}_{subset}", f"{y_key}_{subset}")
    missing = [n for n in names if n not in arrays]
    if missing:
        hint = "pass subset='train' or 'test'" if subset is None else "pass subset=None"
        raise ValueError(f"{path} has no arrays {missing} (it has {sorted(arrays)}); {hint}, or name yours with "
                         "x_key=... and y_key=....")
    x, y = (arrays[n] for n in names)
    _check_lengths(path, x, y, *names)
    return grain.MapDataset.source(ArrayRecords(x, y))


class ArrayRecords:
    """Rows of arrays as records: a Grain data source (``len``, ``[i]``) of ``(x[i], y[i])``.

    Memory-mapped arrays stay mapped (each record reads its rows only), and the source
    pickles by file name and offset, so Grain's worker processes can read it.

    Args:
        x: the inputs, ``n`` rows (an array, or a list/dict of arrays for several inputs).
        y: the targets, ``n`` rows (or None: records are ``x[i]`` alone).

    >>> import numpy as np
    >>> records = ArrayRecords(np.arange(6).reshape(3, 2), np.arange(3))
    >>> x, y = records[2]
    >>> len(records), x.tolist(), int(y)
    (3, [4, 5], 2)
    """

    def __init__(self, x, y=None):
        self.x, self.y = x, y
        lengths = {len(a) for a in _leaves(x) + _leaves(y)}
        if len(lengths) != 1:
            raise ValueError(f"ArrayRecords needs x and y with the same number of rows, got lengths "
                             f"{sorted(lengths)}.")
        self._length = lengths.pop()

    def __getstate__(self):
        # A memmap pickles as its whole contents; send where it lies in the file instead.
        return {"x": _tree_map(_describe_map, self.x), "y": _tree_map(_describe_map, self.y),
                "length": self._length}

    def __setstate__(self, state):
        self.x, self.y = _tree_map(_open_map, state["x"]), _tree_map(_open_map, state["y"])
        self._length = state["length"]

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int):
        x = _take(self.x, index)
        return x if self.y is None else (x, _take(self.y, index))


def _leaves(tree) -> list:
    if tree is None:
        return []
    if isinstance(tree, dict):
        return list(tree.values())
    if isinstance(tree, (list, tuple)):
        return list(tree)
    return [tree]


def _tree_map(fn, tree):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: fn(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [fn(v) for v in tree]
    return fn(tree)


class _MapRef:
    """Where a memmap lies in its file (what ``ArrayRecords`` pickles instead of the data)."""

    def __init__(self, a: np.memmap):
        self.filename, self.offset, self.dtype, self.shape = a.filename, a.offset, a.dtype.str, a.shape
        self.order = "C" if a.flags.c_contiguous else "F"

    def open(self) -> np.memmap:
        return np.memmap(self.filename, dtype=np.dtype(self.dtype), mode="r", offset=self.offset,
                         shape=self.shape, order=self.order)


def _describe_map(a):
    # Only a whole mapping (its base the mmap itself): a slice keeps its parent's offset.
    if isinstance(a, np.memmap) and isinstance(a.base, mmap.mmap) and a.filename and a.flags.forc:
        return _MapRef(a)
    return a


def _open_map(a):
    return a.open() if isinstance(a, _MapRef) else a


def _take(tree, index: int):
    if isinstance(tree, dict):
        return {k: np.asarray(v[index]) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [np.asarray(v[index]) for v in tree]
    return np.asarray(tree[index])


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
