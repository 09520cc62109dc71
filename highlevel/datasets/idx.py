"""IDX files (the MNIST format): reading, finding and downloading them.

Shared by :mod:`highlevel.datasets.mnist` and
:mod:`highlevel.datasets.fashion_mnist`. An IDX file is a 4-byte magic number
(two zero bytes, a type code, the number of dimensions), one big-endian
``uint32`` per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "IdxSource", "load_idx_dataset", "IMAGES_MAGIC", "LABELS_MAGIC"]

#: Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
IMAGES_MAGIC = 0x00000803
#: Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
LABELS_MAGIC = 0x00000801

_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_SPLIT_FILES = (
    ("train-images-idx3-ubyte.gz", IMAGES_MAGIC),
    ("train-labels-idx1-ubyte.gz", LABELS_MAGIC),
    ("t10k-images-idx3-ubyte.gz", IMAGES_MAGIC),
    ("t10k-labels-idx1-ubyte.gz", LABELS_MAGIC),
)
_CHUNK = 1 << 20


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Reads one IDX file, gzip-compressed or not, into a native-endian array.

    Args:
        path: the file; gzip is recognised by its content, not its name.
        expected_magic: if given, the file's magic number must equal it
            (``IMAGES_MAGIC`` = 2051, ``LABELS_MAGIC`` = 2049).

    Returns:
        An array with the file's shape and dtype (``uint8`` for MNIST).

    Raises:
        ValueError: naming the file, for a wrong magic number, a truncated file
            or trailing bytes.

    >>> import gzip, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "labels.gz")
    >>> with gzip.open(p, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 2]))
    >>> read_idx(p, expected_magic=LABELS_MAGIC)
    array([7, 1, 2], dtype=uint8)
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path} is not an IDX file: it has {len(data)} bytes, fewer than the 4-byte magic number.")
    magic = int.from_bytes(data[:4], "big")
    zeros, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zeros != 0 or type_code not in _DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: its magic number is 0x{magic:08x}, expected two zero bytes, a type code "
            f"(one of {', '.join(f'0x{c:02x}' for c in _DTYPES)}) and the number of dimensions. "
            "Check that the file is not an HTML error page or a different format."
        )
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{path} has IDX magic number {magic} (0x{magic:08x}), expected {expected_magic} (0x{expected_magic:08x}): "
            f"images and labels are swapped, or the file is not the one named."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path} is truncated: its header needs {header} bytes for {ndim} dimensions, the file has {len(data)}."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "is truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(
            f"{path} {what}: its header says shape {shape} of {dtype.name}, which needs {expected} bytes, "
            f"the {'decompressed ' if _is_gzip(path) else ''}file has {len(data)}. Download it again."
        )
    # ``bytearray`` so that the array is writable, like any other numpy array.
    array = np.frombuffer(bytearray(data[header:]), dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist.")
    if not _is_gzip(path):
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path} is a damaged or truncated gzip file ({err}). Download it again.") from None


@dataclass(frozen=True)
class IdxSource:
    """Where an IDX dataset of the four standard files lives and how it is checked.

    Args:
        name: folder name under ``$HIGHLEVEL_DATA`` and the cache, e.g. ``"mnist"``.
        title: the name shown in messages, e.g. ``"MNIST"``.
        base_url: the four file names are appended to it to download them.
        checksums: file name -> ``"sha256:<hex>"`` or ``"md5:<hex>"`` of the ``.gz`` file.
        aliases: other folder names accepted under ``$HIGHLEVEL_DATA``.
        system_dirs: folders where a system package installs the files.
        system_package: the Debian package that installs them there, named when they are missing.

    >>> from highlevel.datasets.idx import IdxSource
    >>> source = IdxSource(name="tiny", title="Tiny", base_url="https://example.invalid/", checksums={})
    >>> source.name, source.aliases
    ('tiny', ())
    """

    name: str
    title: str
    base_url: str
    checksums: dict
    aliases: tuple = ()
    system_dirs: tuple = ()
    system_package: str | None = None


def cache_dir(name: str) -> Path:
    """``~/.cache/highlevel/datasets/<name>``, where downloads are kept."""
    return Path.home() / ".cache" / "highlevel" / "datasets" / name


def load_idx_dataset(source: IdxSource, path: str | os.PathLike | None = None):
    """Finds (or downloads) the four IDX files of ``source`` and reads them.

    Folders are searched in order: ``path``; ``$HIGHLEVEL_DATA/<name>/``;
    ``source.system_dirs``; the cache ``~/.cache/highlevel/datasets/<name>/``.
    The first folder holding all four files (each ``.gz`` or uncompressed) is
    used; if none does, the missing files are downloaded into the cache, each
    checked against its published checksum and written atomically.

    Args:
        source: The dataset's :class:`IdxSource`.
        path: A folder to look in first.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``, as the files hold them (``uint8`` for MNIST).

    >>> import gzip, os, tempfile
    >>> from highlevel.datasets.idx import IdxSource, load_idx_dataset
    >>> folder = tempfile.mkdtemp()
    >>> images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + [0] * 8  # two 2x2 images
    >>> labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 5]
    >>> for split in ("train", "t10k"):
    ...     for kind, data in (("images-idx3", images), ("labels-idx1", labels)):
    ...         with gzip.open(os.path.join(folder, f"{split}-{kind}-ubyte.gz"), "wb") as f:
    ...             _ = f.write(bytes(data))
    >>> source = IdxSource(name="tiny", title="Tiny", base_url="https://example.invalid/", checksums={})
    >>> (x_train, y_train), (x_test, y_test) = load_idx_dataset(source, path=folder)
    >>> x_train.shape, y_test.tolist()
    ((2, 2, 2), [3, 5])
    """
    folders = _candidate_folders(source, path)
    for folder in folders:
        found = [_find(folder, fname) for fname, _ in _SPLIT_FILES]
        if all(found):
            return _read_split(found)
    cache = cache_dir(source.name)
    files = []
    for fname, _ in _SPLIT_FILES:
        found = _find(cache, fname)
        if found is None:
            url = source.base_url + fname
            try:
                found = download(url, cache / fname, source.checksums[fname])
            except (OSError, http.client.HTTPException) as err:
                raise _missing_error(source, folders, url, err) from None
        files.append(found)
    return _read_split(files)


def _candidate_folders(source: IdxSource, path) -> list[Path]:
    folders = []
    if path is not None:
        folders.append(Path(path).expanduser())
    root = os.environ.get("HIGHLEVEL_DATA")
    if root:
        folders.extend(Path(root).expanduser() / n for n in (source.name, *source.aliases))
    folders.extend(Path(d) for d in source.system_dirs)
    folders.append(cache_dir(source.name))
    return folders


def _find(folder: Path, gz_name: str) -> Path | None:
    for candidate in (folder / gz_name, folder / gz_name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def _read_split(files: list[Path]):
    x_train, y_train, x_test, y_test = (read_idx(f, magic) for f, (_, magic) in zip(files, _SPLIT_FILES))
    for x, y, xf, yf in ((x_train, y_train, files[0], files[1]), (x_test, y_test, files[2], files[3])):
        if len(x) != len(y):
            raise ValueError(f"{xf} has {len(x)} images but {yf} has {len(y)} labels; the files do not belong together.")
    return (x_train, y_train), (x_test, y_test)


def _missing_error(source: IdxSource, folders: list[Path], url: str, err: Exception) -> FileNotFoundError:
    names = ", ".join(f for f, _ in _SPLIT_FILES)
    where = "; ".join(str(f) for f in dict.fromkeys(folders))
    reason = getattr(err, "reason", None) or err
    root = os.environ.get("HIGHLEVEL_DATA")
    env_dir = Path(root) / source.name if root else f"$HIGHLEVEL_DATA/{source.name}"
    package = (f"install Debian's {source.system_package} (apt-get install {source.system_package}, which puts "
               f"them in {source.system_dirs[0]}), " if source.system_package and source.system_dirs else "")
    return FileNotFoundError(
        f"{source.title} files not found: looked for {names} (or the same names without .gz) in {where}, "
        f"and downloading {url} failed ({reason}); {package}put the four files in {cache_dir(source.name)} or "
        f"{env_dir}, or pass load_data(path=<folder holding them>) (in a config: data.path)."
    )


def download(url: str, dest: Path, checksum: str) -> Path:
    """Downloads ``url`` to ``dest`` if its checksum matches; nothing is left behind otherwise.

    Args:
        url: where to fetch the file.
        dest: final path; written through a temporary file in the same folder
            and renamed, so a reader never sees half a file.
        checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"``.

    Raises:
        OSError: the download failed (``urllib.error.URLError`` is one).
        ValueError: the downloaded bytes do not have the expected checksum.
    """
    algorithm, expected = checksum.split(":", 1)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(algorithm, usedforsecurity=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected.lower():
            raise ValueError(
                f"Downloaded {url} has {algorithm} {digest.hexdigest()}, expected {expected}; the file was discarded. "
                f"Try again later, or download it yourself and put it at {dest}."
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
