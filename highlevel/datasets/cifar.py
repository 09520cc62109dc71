"""CIFAR-10 and CIFAR-100's "python version" files: pickled batches, read as Keras reads them.

Shared by :mod:`highlevel.datasets.cifar10` and :mod:`highlevel.datasets.cifar100`. Each
batch is a Python 2 pickle of a dict: ``data``, a ``uint8`` array of ``(n, 3072)`` rows
(1024 red, 1024 green, 1024 blue values of a 32x32 image), and the labels as a list of ints
(``labels``; CIFAR-100: ``fine_labels`` and ``coarse_labels``). The batches are read from the
downloaded ``.tar.gz`` itself, or from its extracted folder.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from highlevel.datasets.keras_files import RemoteFile, RestrictedUnpickler, locate

__all__ = ["load_batch", "read_batches", "find_batches"]


def load_batch(file, label_key: str = "labels"):
    """``(data, labels)`` of one pickled batch: ``data`` reshaped to ``(n, 3, 32, 32)``, labels as stored.

    As Keras's ``keras.src.datasets.cifar.load_batch``; only NumPy arrays are unpickled.

    Args:
        file: the batch, a path or a binary file object.
        label_key: ``"labels"`` (CIFAR-10), ``"fine_labels"`` or ``"coarse_labels"`` (CIFAR-100).

    >>> import io, pickle
    >>> import numpy as np
    >>> batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]}
    >>> data, labels = load_batch(io.BytesIO(pickle.dumps(batch, protocol=3)))
    >>> data.shape, labels
    ((2, 3, 32, 32), [3, 5])
    """
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            return load_batch(f, label_key)
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v
             for k, v in RestrictedUnpickler(file, encoding="bytes").load().items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(f"{getattr(file, 'name', 'The batch')} holds {sorted(batch)}, not 'data' and "
                         f"{label_key!r}: it is not a CIFAR batch of the python version.")
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def read_batches(where: Path, folder: str, members: list[str], label_key: str) -> list:
    """``load_batch`` of each of ``members``, from a ``.tar.gz`` archive or a folder.

    Args:
        where: the archive, the folder holding ``folder``, or ``folder`` itself.
        folder: the folder inside the archive (``"cifar-10-batches-py"``).
        members: the batch files, in order.
        label_key: passed to :func:`load_batch`.

    >>> import tempfile, pickle, os
    >>> import numpy as np
    >>> root = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(root, "batches"))
    >>> with open(os.path.join(root, "batches", "b1"), "wb") as f:
    ...     pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [7]}, f, protocol=3)
    >>> [labels for _, labels in read_batches(Path(root), "batches", ["b1"], "labels")]
    [[7]]
    """
    if where.is_dir():
        base = where if (where / members[0]).is_file() else where / folder
        missing = [m for m in members if not (base / m).is_file()]
        if missing:
            raise FileNotFoundError(f"{base} lacks the CIFAR batches {missing}; it should hold {members}.")
        return [load_batch(base / m, label_key) for m in members]
    try:
        with tarfile.open(where, "r:*") as tar:
            found = {}
            for info in tar:
                name = info.name[2:] if info.name.startswith("./") else info.name
                if info.isfile() and name in {f"{folder}/{m}" for m in members}:
                    found[name.rpartition("/")[2]] = load_batch(tar.extractfile(info), label_key)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(f"{where} is not a readable tar archive ({err}); download it again.") from None
    missing = [m for m in members if m not in found]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(f'{folder}/{m}' for m in missing)}: it is not the archive "
                         "of CIFAR's python version.")
    return [found[m] for m in members]


def find_batches(source: RemoteFile, folder: str, members: list[str], label_key: str, path=None) -> list:
    """The batches of ``source``: from ``path`` (an archive, or a folder of batches), or found by ``locate``.

    Args:
        source: the archive's :class:`~highlevel.datasets.keras_files.RemoteFile`.
        folder: the folder inside the archive.
        members: the batch files, in order.
        label_key: passed to :func:`load_batch`.
        path: the archive, the extracted folder, or a folder holding either.

    >>> source = RemoteFile("cifar", "CIFAR", "https://example.invalid/c.tar.gz", "0" * 64, "c.tar.gz")
    >>> find_batches(source, "b", ["b1"], "labels", path="/nonexistent/c.tar.gz")
    Traceback (most recent call last):
    ...
    FileNotFoundError: CIFAR: there is no file at /nonexistent/c.tar.gz. ...
    """
    if path is not None and Path(path).expanduser().is_dir() and (Path(path).expanduser() / members[0]).is_file():
        return read_batches(Path(path).expanduser(), folder, members, label_key)
    return read_batches(locate(source, path), folder, members, label_key)
