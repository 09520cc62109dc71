"""The ``.keras`` zip: Keras 3's container, holding highlevel's config and Keras's weight file.

``model.save("x.keras")`` writes a zip with Keras's three entries:

- ``metadata.json``: ``{"format": "highlevel.keras/1", "highlevel_version", "date_saved"}``;
- ``config.json``: highlevel's model config (the same as ``model.save(dir)``'s: class name and
  registered name, ``get_config()``, build shape, compile arguments). It is *not* Keras's config format:
  ``keras.models.load_model`` cannot rebuild the model from it;
- ``model.weights.h5``: the weights in Keras 3's HDF5 layout, so
  ``keras_model.load_weights("x.keras")`` loads them into the same architecture built
  with Keras; highlevel's optimizer state and step ride along under a ``highlevel/``
  group that Keras does not read.

A ``.keras`` file written by Keras holds Keras's config, which highlevel does not read:
its weights load with ``model.load_weights("x.keras")`` into the same architecture built
with highlevel.

Both files (the zip and ``save_weights``' ``.weights.h5``) are written to a hidden sibling
named after its writer (``.NAME.tmp-HOST-PID-XXXXXXXX``), flushed to disk and renamed into
place; a writer killed on the way leaves that sibling, which the next save or load of the
path removes (:func:`tidy`). A zip whose entries fail their CRC-32 and a weight file whose
datasets fail their SHA-256 (``keras_layout``) are refused with one sentence naming the file.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from highlevel.models import keras_layout
from highlevel.utils.files import owner_alive, temporary_name
from highlevel.utils.manifest import DamagedSaveError

__all__ = ["FORMAT", "write", "write_weights", "read_config", "open_weights", "read_extra", "tidy"]

FORMAT = "highlevel.keras/1"
_WEIGHTS = "model.weights.h5"
_OPTIMIZER = "highlevel/optimizer/vars"
_STEP = "highlevel/step/vars"


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("highlevel")
    except metadata.PackageNotFoundError:
        return "unknown"


def write(entries, path: Path, config_text: str, optimizer_leaves: list[np.ndarray], step) -> None:
    """Writes the zip at ``path`` (weights from ``keras_layout.snapshot``) through a temporary
    sibling file, so a crash leaves no half-written file."""
    buffer = io.BytesIO()
    with keras_layout.open_h5(buffer, "w") as f:
        extra = {_STEP: [np.asarray(step)]}
        if optimizer_leaves:
            extra[_OPTIMIZER] = optimizer_leaves
        keras_layout.write_h5(entries, f, extra)
    metadata = {"format": FORMAT, "highlevel_version": _version(),
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}

    def write_zip(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", config_text)
            z.writestr(_WEIGHTS, buffer.getvalue())

    _replace(path, write_zip)


def write_weights(entries, path: Path) -> None:
    """Writes a ``.weights.h5`` file in Keras 3's layout through a temporary sibling file."""

    def write_h5(tmp: Path) -> None:
        with keras_layout.open_h5(tmp, "w") as f:
            keras_layout.write_h5(entries, f)

    _replace(path, write_h5)


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def tidy(path) -> None:
    """Removes the temporary siblings that writers of ``path`` killed midway left (those of
    living processes, saves in progress, are left alone)."""
    path = Path(path)
    prefix = _tmp_prefix(path)
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        leftover = path.parent / name
        if not owner_alive(name) and leftover.is_file():
            try:
                leftover.unlink()
            except OSError:
                pass   # a read-only folder: the leftover stays, harmless


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` into a temporary sibling, flushed to disk, then renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tidy(path)
    tmp = path.parent / temporary_name(_tmp_prefix(path))
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# What zipfile raises for a damaged zip (a flipped compression method: NotImplementedError).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


def _damaged(path: Path, err: Exception) -> DamagedSaveError:
    return DamagedSaveError(f"{path} is not a readable .keras file (the zip is truncated or damaged: {err}); "
                            "save the model again.")


def _zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path, "r")
    except _ZIP_ERRORS as err:
        raise _damaged(path, err) from None


def _read(z: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """An entry of the zip, its CRC-32 checked; a damaged entry is refused naming ``path``."""
    try:
        return z.read(name)
    except _ZIP_ERRORS as err:
        raise _damaged(path, err) from None


def _json(z: zipfile.ZipFile, name: str, path: Path) -> Any:
    data = _read(z, name, path)
    try:
        return json.loads(data)
    except ValueError as err:   # UnicodeDecodeError included
        raise _damaged(path, err) from None


def read_config(path: Path) -> dict[str, Any]:
    """highlevel's config from the zip; a ``.keras`` file written by Keras is refused with the way to its weights."""
    with _zip(path) as z:
        names = set(z.namelist())
        if "metadata.json" not in names or "config.json" not in names or _WEIGHTS not in names:
            raise ValueError(f"{path} is not a .keras file: it lacks metadata.json, config.json or {_WEIGHTS} (it "
                             "is damaged, or was not written by model.save()); save the model again.")
        metadata = _json(z, "metadata.json", path)
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{path} was written by Keras {metadata.get('keras_version', '?')}, whose config "
                             "highlevel does not read: build the same architecture with highlevel and load "
                             f"its weights with model.load_weights({str(path)!r}).")
        return _json(z, "config.json", path)


@contextlib.contextmanager
def open_weights(path: Path) -> Iterator[Any]:
    """The ``model.weights.h5`` inside the zip, open with h5py for reading."""
    with _zip(path) as z:
        if _WEIGHTS not in z.namelist():
            raise ValueError(f"{path} holds no {_WEIGHTS}: it is not a .keras file.")
        data = _read(z, _WEIGHTS, path)
    with keras_layout.open_h5(io.BytesIO(data), source=path) as f:
        yield f


def read_extra(f) -> tuple[list[np.ndarray], int]:
    """highlevel's optimizer leaves and step from an open weight file (empty and 0 when absent)."""
    leaves = []
    group = f.get(_OPTIMIZER)
    if group is not None:
        leaves = [keras_layout.read_array(group[str(i)]) for i in range(len(group))]
    step = f.get(_STEP)
    return leaves, int(np.asarray(step["0"])) if step is not None and "0" in step else 0
