"""Finding the files of Keras's ``keras.datasets`` loaders: the user's, highlevel's cache, Keras's cache.

Shared by :mod:`~highlevel.datasets.cifar10`, :mod:`~highlevel.datasets.cifar100`,
:mod:`~highlevel.datasets.imdb`, :mod:`~highlevel.datasets.reuters`,
:mod:`~highlevel.datasets.boston_housing` and :mod:`~highlevel.datasets.california_housing`.
A file is looked for, in order:

1. where the user's ``path`` points (a file, or a folder holding it);
2. ``$HIGHLEVEL_DATA/<dataset>/``, then ``$HIGHLEVEL_DATA/``;
3. highlevel's cache, ``$HIGHLEVEL_HOME/datasets/`` (``~/.cache/highlevel/datasets/``),
   where ``hl.utils.get_file`` keeps downloads;
4. Keras's cache, ``$KERAS_HOME/datasets/`` (``~/.keras/datasets/``), so that a user who
   ran Keras's loader before downloads nothing.

Files the user names (1, 2) are used as they are, so a subset or a re-packed copy works;
files in either cache must have Keras's hash (sha256, or md5 for the word indexes), as
Keras's ``get_file`` checks its cache. Keras's cache is only read, never written. If
nothing is found the file is downloaded from Keras's URL into highlevel's cache,
checked against the hash, and written atomically.

The ``.npz`` files of IMDB and Reuters hold ragged object arrays, which NumPy stores as
pickles: they are read as Keras reads them, with an unpickler that rebuilds NumPy arrays
and nothing else, so that a tampered file cannot run code.

(This package may import only NumPy and itself, so the download goes through
``highlevel.datasets.idx.download`` rather than ``hl.utils.get_file``; both keep a file
at the same place in the same cache.)
"""

from __future__ import annotations

import http.client
import io
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from highlevel.datasets.idx import download

__all__ = ["RemoteFile", "locate", "cache_dir", "keras_cache_dir", "file_matches", "load_npz", "RestrictedUnpickler",
           "check_choice", "check_fraction"]

#: The file of Keras's loaders, where NumPy object arrays come from (numpy < 2 and >= 2 spellings).
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
})


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Keras dataset: where Keras downloads it from and how it is checked.

    Args:
        dataset: the folder name under ``$HIGHLEVEL_DATA``, e.g. ``"imdb"``.
        title: the name shown in messages, e.g. ``"IMDB"``.
        origin: Keras's URL of the file.
        file_hash: Keras's hash of the file: sha256 (64 hex digits) or md5 (32).
        keras_name: the file's name in Keras's cache (and in highlevel's).
        other_names: other names the file (or its extracted folder) has in a user's folder.
        download_name: the name a download is kept under in highlevel's cache (default ``keras_name``).

    >>> f = RemoteFile("tiny", "Tiny", "https://example.invalid/tiny.npz", "0" * 64, "tiny.npz")
    >>> f.algorithm
    'sha256'
    """

    dataset: str
    title: str
    origin: str
    file_hash: str
    keras_name: str
    other_names: tuple = ()
    download_name: str | None = None

    @property
    def algorithm(self) -> str:
        return "sha256" if len(self.file_hash) == 64 else "md5"


def cache_dir() -> Path:
    """highlevel's download cache for datasets: ``$HIGHLEVEL_HOME/datasets`` or ``~/.cache/highlevel/datasets``.

    >>> cache_dir().name
    'datasets'
    """
    root = os.environ.get("HIGHLEVEL_HOME")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "highlevel") / "datasets"


def keras_cache_dir() -> Path:
    """Keras's download cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``.

    >>> keras_cache_dir().name
    'datasets'
    """
    root = os.environ.get("KERAS_HOME")
    return (Path(root).expanduser() if root else Path.home() / ".keras") / "datasets"


def file_matches(path: str | os.PathLike, file_hash: str) -> bool:
    """Whether the file's sha256 (64-digit ``file_hash``) or md5 (32 digits) is ``file_hash``, as Keras checks.

    Args:
        path: the file.
        file_hash: the expected hex digest.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(p, "w").close()
    >>> file_matches(p, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    True
    """
    import hashlib

    hasher = hashlib.sha256() if len(file_hash) == 64 else hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == file_hash.lower()


def locate(source: RemoteFile, path: str | os.PathLike | None = None) -> Path:
    """The path of ``source``'s file: the user's, a cached one with the right hash, or a fresh download.

    Args:
        source: the file's :class:`RemoteFile`.
        path: a file, a folder holding the file, or a bare file name (Keras's ``path``
            argument: the name looked for, and kept under, in the caches).

    Returns:
        The file (or, for a user's folder, the extracted folder named in ``other_names``).

    Raises:
        FileNotFoundError: naming the folders searched, the URL and where to put the file.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "tiny.npz"), "wb").close()
    >>> f = RemoteFile("tiny", "Tiny", "https://example.invalid/tiny.npz", "0" * 64, "tiny.npz")
    >>> locate(f, folder).name
    'tiny.npz'
    """
    names = [source.keras_name, *source.other_names]
    target_name = source.download_name or source.keras_name
    user_dirs: list[Path] = []
    if path is not None:
        given = Path(path).expanduser()
        if given.is_dir():
            user_dirs.append(given)
        elif given.is_absolute() or len(given.parts) > 1:
            if given.is_file():
                return given
            raise FileNotFoundError(
                f"{source.title}: there is no file at {given}. Pass the path of the file (or of its folder), "
                f"or a bare file name such as {source.keras_name!r} to find it in the caches or download it.")
        else:
            names, target_name = [given.name], given.name
    root = os.environ.get("HIGHLEVEL_DATA")
    if root:
        user_dirs += [Path(root).expanduser() / source.dataset, Path(root).expanduser()]
    for folder in user_dirs:
        for name in names:
            if (folder / name).exists():
                return folder / name
    notes = []
    cache, keras_cache = cache_dir(), keras_cache_dir()
    for folder in (cache, keras_cache):
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                if file_matches(candidate, source.file_hash):
                    return candidate
                notes.append(f"{candidate} does not have Keras's {source.algorithm} {source.file_hash}")
    target = cache / target_name
    print(f"Downloading data from {source.origin}")
    try:
        return download(source.origin, target, f"{source.algorithm}:{source.file_hash}")
    except (OSError, http.client.HTTPException) as err:
        searched = "; ".join(str(f) for f in dict.fromkeys([*user_dirs, cache, keras_cache]))
        found = f" ({'; '.join(notes)}, so it was not used)" if notes else ""
        reason = getattr(err, "reason", None) or err
        raise FileNotFoundError(
            f"{source.title} file {target_name} not found in {searched}{found}, and downloading {source.origin} "
            f"failed ({reason}). Download {source.origin} by hand and put it at {target} (or in "
            f"$HIGHLEVEL_DATA/{source.dataset}/), or pass path=<the file, or the folder holding it>."
        ) from None


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain Python values, and refuses anything else.

    It takes ``pickle.Unpickler``'s arguments: the binary file, and options such as
    ``encoding="bytes"`` for CIFAR's Python 2 pickles.

    >>> import pickle, io
    >>> RestrictedUnpickler(io.BytesIO(pickle.dumps(np.arange(3), protocol=3))).load()
    array([0, 1, 2])
    """

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to rebuild {module}.{name} while loading a dataset: only NumPy "
                                     "arrays may be unpickled. The file is damaged or was tampered with.")


def _read_member(raw: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(raw, allow_pickle=False)
    except ValueError:
        raw.seek(0)
        version = np.lib.format.read_magic(raw)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(raw)
        elif version[0] in (2, 3):   # 3.0 differs from 2.0 only in the header's text encoding
            np.lib.format.read_array_header_2_0(raw)
        else:
            raise ValueError(f"Unsupported .npy format version {version}.") from None
        return RestrictedUnpickler(raw).load()


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, object arrays included, without running any pickled code.

    Args:
        path: the ``.npz`` file.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "ragged.npz")
    >>> ragged = np.empty(2, dtype=object); ragged[:] = [[1, 2], [3]]
    >>> np.savez(p, x=ragged, y=np.array([0, 1]))
    >>> arrays = load_npz(p)
    >>> arrays["x"].tolist(), arrays["y"].tolist()
    ([[1, 2], [3]], [0, 1])
    """
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    with archive.open(member) as raw:
                        arrays[member[: -len(".npy")]] = _read_member(io.BytesIO(raw.read()))
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path} is not a readable .npz file ({err}); download it again.") from None
    return arrays


def require(arrays: dict, keys, path) -> None:
    """Raises a ValueError naming the file if one of ``keys`` is missing from its arrays."""
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"{path} has the arrays {sorted(arrays)}, not {missing}: it is not the file this "
                         "loader reads.")


def check_choice(function: str, name: str, value, allowed) -> None:
    """Raises a ValueError naming the argument, its value and the allowed values.

    Args:
        function: the function, e.g. ``"cifar100.load_data"``.
        name: the argument's name.
        value: what was passed.
        allowed: the values it may take.

    >>> check_choice("cifar100.load_data", "label_mode", "coarse2", ("fine", "coarse"))
    Traceback (most recent call last):
    ...
    ValueError: cifar100.load_data: label_mode must be 'fine' or 'coarse', got 'coarse2'.
    """
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{function}: {name} must be {listed}, got {value!r}.")


def check_fraction(function: str, value, include_one: bool = False) -> None:
    """Raises a ValueError unless ``test_split`` is a number in [0, 1) (or [0, 1]).

    Args:
        function: the function, e.g. ``"boston_housing.load_data"``.
        value: the ``test_split`` passed.
        include_one: whether 1 is allowed.

    >>> check_fraction("boston_housing.load_data", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: boston_housing.load_data: test_split must be a fraction in [0, 1) (0 <= test_split < 1), got 1.5.
    """
    interval, bound = ("[0, 1]", "<= 1") if include_one else ("[0, 1)", "< 1")
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and (
        0 <= value <= 1 if include_one else 0 <= value < 1)
    if not ok:
        raise ValueError(f"{function}: test_split must be a fraction in {interval} (0 <= test_split {bound}), "
                         f"got {value!r}.")
