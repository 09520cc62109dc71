"""Checksums of a saved directory: ``MANIFEST.json``, written last, verified before anything is read.

Every file a save, a checkpoint or a backup writes is listed with its size and SHA-256;
the manifest carries the SHA-256 of its own list too, so that a damaged manifest is told
apart from a damaged file. Loading checks every file against it before orbax or JSON
reads a byte, and refuses a damaged, incomplete or altered directory with one sentence
naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["MANIFEST", "write_manifest", "verify_manifest", "has_manifest", "DamagedSaveError"]

MANIFEST = "MANIFEST.json"
_FORMAT = "highlevel.manifest/1"
_CHUNK = 1 << 20


class DamagedSaveError(ValueError):
    """A saved directory whose files do not match their recorded checksums (or are missing)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(directory: Path) -> list[str]:
    out = []
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), directory)
            if rel != MANIFEST:
                out.append(rel.replace(os.sep, "/"))
    return out


def _list_digest(files: dict) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def write_manifest(directory: str | os.PathLike) -> None:
    """Records the size and SHA-256 of every file under ``directory`` in its ``MANIFEST.json``.

    Call it once everything else is written: its presence marks the directory complete.
    """
    directory = Path(directory)
    files = {rel: {"size": (directory / rel).stat().st_size, "sha256": _sha256(directory / rel)}
             for rel in _files(directory)}
    text = json.dumps({"format": _FORMAT, "files": files, "digest": _list_digest(files)}, indent=1)
    tmp = directory / f".{MANIFEST}.part"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / MANIFEST)


def has_manifest(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a ``MANIFEST.json`` (it may still be damaged)."""
    return (Path(directory) / MANIFEST).is_file()


def verify_manifest(directory: str | os.PathLike, what: str = "save", fix: str | None = None) -> None:
    """Checks every file under ``directory`` against its ``MANIFEST.json``.

    Args:
        directory: a directory written with ``write_manifest``.
        what: how the directory is named in messages ("saved model", "backup", ...).
        fix: the sentence that ends each message (default: use another copy or save again).

    Raises:
        DamagedSaveError: naming the missing, damaged or unlisted file, or the manifest.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    fix = fix or f"use another copy of the {what}, or save it again."
    if not path.is_file():
        raise DamagedSaveError(f"{directory} has no {MANIFEST}, so it is an incomplete {what} (interrupted while "
                               f"it was written) or one written before highlevel recorded checksums; {fix}")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
        files = manifest["files"]
        ok = (manifest.get("format") == _FORMAT and isinstance(files, dict)
              and manifest.get("digest") == _list_digest(files))
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise DamagedSaveError(f"{path} is damaged (it does not match its own checksum), so the files of this "
                               f"{what} cannot be checked; {fix}")
    for rel, entry in files.items():
        file = directory / rel
        if not file.is_file():
            raise DamagedSaveError(f"{file} is missing from the {what} in {directory} (its {MANIFEST} lists it); "
                                   f"{fix}")
        if file.stat().st_size != entry.get("size") or _sha256(file) != entry.get("sha256"):
            raise DamagedSaveError(f"{file} is damaged: its contents differ from the SHA-256 recorded in {MANIFEST} "
                                   f"when the {what} was written; {fix}")
    extra = sorted(set(_files(directory)) - set(files))
    if extra:
        raise DamagedSaveError(f"{directory / extra[0]} is not part of the {what} in {directory} (its {MANIFEST} "
                               f"does not list it): the directory was altered after it was written; remove that "
                               f"file, or {fix}")
