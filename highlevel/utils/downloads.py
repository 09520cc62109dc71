"""Keras's ``get_file``: a file fetched from a URL once, kept in a cache, checked, extracted."""

from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["get_file", "hash_file", "cache_root"]


def cache_root() -> Path:
    """The cache of downloads: ``$HIGHLEVEL_HOME`` or ``~/.cache/highlevel`` (pretrained weights' root too).

    >>> cache_root().name in ("highlevel",) or "HIGHLEVEL_HOME" in __import__("os").environ
    True
    """
    root = os.environ.get("HIGHLEVEL_HOME")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "highlevel"


def _hasher(algorithm: str, file_hash: str | None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}.")


def hash_file(path, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file (``"sha256"``, ``"md5"``, or ``"auto"``: sha256), as Keras's.

    Args:
        path: the file.
        algorithm: ``"sha256"``, ``"md5"`` or ``"auto"``.
        chunk_size: bytes read at a time.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(path, "w").close()
    >>> hash_file(path)[:12]
    'e3b0c44298fc'
    """
    hasher = hashlib.sha256() if algorithm == "auto" else _hasher(algorithm, None)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _matches(path: str, file_hash: str, algorithm: str) -> bool:
    hasher = _hasher(algorithm, file_hash)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65535), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash)


def _extract(archive: str, target: str, archive_format) -> bool:
    formats = ["tar", "zip"] if archive_format == "auto" else [archive_format] if isinstance(archive_format, str) \
        else list(archive_format or [])
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or None, got {kind!r}.")
        if kind == "tar" and tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")  # refuses paths that leave target
            return True
        if kind == "zip" and zipfile.is_zipfile(archive):
            root = os.path.realpath(target)
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    if not os.path.realpath(os.path.join(root, name)).startswith(root + os.sep):
                        raise ValueError(f"The zip archive {archive} holds {name!r}, outside the folder it is "
                                         "extracted to; it is not extracted.")
                z.extractall(target)
            return True
    return False


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False, md5_hash: str | None = None,
             file_hash: str | None = None, cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format="auto", cache_dir: str | os.PathLike | None = None,
             force_download: bool = False) -> str:
    """Downloads ``origin`` into the cache unless it is there already, as Keras's ``get_file``.

    The file goes to ``cache_dir/cache_subdir/fname`` (``cache_dir`` defaults to
    ``cache_root()``; ``fname`` to the URL's last part). A cached file whose hash differs
    from ``file_hash`` is fetched again; a fresh download that differs is refused. With
    ``extract``, Keras's names: the archive ``fname`` (``"data.tar.gz"``) is extracted to
    ``data_extracted`` next to it, and that folder is returned.

    Args:
        fname: the file's name in the cache (no folders).
        origin: the URL (``https://``, ``file://`` ...).
        untar: Keras's older ``extract=True, archive_format="tar"``.
        md5_hash: Keras's older ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash: the expected sha256 or md5 hex digest.
        cache_subdir: the folder under ``cache_dir``.
        hash_algorithm: ``"auto"`` (by the hash's length), ``"sha256"`` or ``"md5"``.
        extract: extract a tar or zip archive.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"``, a list of them, or None.
        cache_dir: the cache's root.
        force_download: fetch even when the file is cached.

    Returns:
        The path of the file, or of the extracted folder.

    >>> import tempfile, os, pathlib
    >>> src = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> _ = open(src, "w").write("a,b\\n")
    >>> path = get_file(origin=pathlib.Path(src).as_uri(), cache_dir=tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Downloading data from file:///.../data.csv
    >>> open(path).read()
    'a,b\\n'
    """
    if origin is None:
        raise ValueError("get_file needs the origin, the URL of the file to download: get_file(origin='https://...').")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    hash_algorithm = _hasher(hash_algorithm, file_hash).name   # "auto" resolved: the name the messages give
    datadir = os.path.join(os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else cache_root(),
                           cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = fname is not None
    fname = os.fspath(fname) if given else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"get_file cannot take a file name from the origin {origin!r}; pass fname='name.ext'.")
    if os.sep in fname:
        raise ValueError(f"get_file's fname is a name, not a path, got {fname!r}; put the folder in cache_dir "
                         "(or cache_subdir).")
    if extract or untar:
        if given and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not _matches(target, file_hash, hash_algorithm):
        print(f"The cached {target} does not match the {hash_algorithm} hash {file_hash}: downloading it again.")
        download = True
    if download:
        print(f"Downloading data from {origin}")
        partial = target + ".part"
        try:
            urllib.request.urlretrieve(origin, partial)
        except (urllib.error.URLError, OSError) as err:
            if os.path.exists(partial):
                os.remove(partial)
            raise OSError(f"get_file could not download {origin} ({err}); check the URL and the network, or put "
                          f"the file at {target}.") from err
        if file_hash is not None and not _matches(partial, file_hash, hash_algorithm):
            os.remove(partial)
            raise ValueError(f"The file downloaded from {origin} does not match the {hash_algorithm} hash "
                             f"{file_hash}; check the hash, or the origin.")
        os.replace(partial, target)
    if extract or untar:
        if not _extract(target, extraction_dir, "tar" if untar else archive_format):
            raise ValueError(f"{target} is not a {'tar' if untar else archive_format} archive, so get_file cannot "
                             "extract it; pass extract=False to keep the file as it is.")
        return extraction_dir
    return target
