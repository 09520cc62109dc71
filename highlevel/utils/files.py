"""Writing directories safely: atomic replacement, owner-tagged temporaries, recovery after a crash.

A save is written into a hidden temporary sibling named after its owner
(``.NAME.tmp-HOST-PID-XXXXXXXX``), checksummed (``highlevel.utils.manifest``) and moved
into place by two renames. A process killed on the way leaves at most a temporary
sibling and a displaced previous copy; the next save or load of that path removes the
temporaries of dead owners and puts a complete displaced copy back (``tidy``).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import Iterable

__all__ = ["swap_into_place", "checkpointer", "temporary_name", "owner_alive", "tidy"]

_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40] or "host"
_OWNER = re.compile(r"-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{8}$")


def temporary_name(prefix: str) -> str:
    """``prefix`` + this host, this process and a random suffix: a sibling only this process writes."""
    return f"{prefix}{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def owner_alive(name: str) -> bool:
    """Whether the process that made the temporary ``name`` may still be writing it.

    A name without an owner (written by an older highlevel) or of a process of this host
    that is gone is a leftover; a name of another host is assumed alive.
    """
    match = _OWNER.search(name)
    if match is None:
        return False
    if match["host"] != _HOST:
        return True
    pid = int(match["pid"])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def swap_into_place(tmp: Path, path: Path, old: Path) -> None:
    """Moves the finished directory ``tmp`` to ``path``.

    A previous ``path`` is first renamed to ``old`` and deleted only once ``tmp`` is in
    place; if that last rename fails, it is put back. A process killed between the two
    renames leaves ``old`` behind, which ``tidy`` puts back.
    """
    moved = False
    if path.exists():
        os.replace(path, old)
        moved = True
    try:
        os.replace(tmp, path)
    except BaseException:
        if moved:
            os.replace(old, path)
        raise
    if moved:
        shutil.rmtree(old, ignore_errors=True)


def tidy(path: Path, tmp_prefixes: Iterable[str], old_prefixes: Iterable[str], complete) -> Path | None:
    """Cleans up after interrupted writes of the directory ``path``; returns what was put back.

    Hidden siblings of ``path`` starting with one of ``tmp_prefixes`` (unfinished writes) or
    ``old_prefixes`` (previous copies moved aside) are examined. When ``path`` is missing
    because a process died between the two renames of ``swap_into_place``, the newest
    sibling that ``complete(sibling)`` accepts (a finished temporary, else the displaced
    copy) is renamed to ``path``. Siblings of dead owners are then deleted; those of
    living processes (a save in progress) are left alone.
    """
    path = Path(path)
    parent = path.parent
    tmp_prefixes, old_prefixes = tuple(tmp_prefixes), tuple(old_prefixes)
    try:
        names = os.listdir(parent)
    except OSError:
        return None
    temps = sorted(n for n in names if n.startswith(tmp_prefixes))
    olds = sorted(n for n in names if n.startswith(old_prefixes))
    restored = None
    if not path.exists():
        # A finished temporary is the newer save; the displaced copy the one before it.
        for name in [n for n in temps + olds if not owner_alive(n)]:
            candidate = parent / name
            try:
                if candidate.is_dir() and complete(candidate):
                    os.replace(candidate, path)
                    restored = path
                    break
            except (OSError, ValueError):
                continue
    for name in temps + olds:
        if name.startswith(tmp_prefixes) and owner_alive(name):
            continue
        if name.startswith(old_prefixes) and owner_alive(name) and not path.exists():
            continue  # a living writer between its two renames
        shutil.rmtree(parent / name, ignore_errors=True)
    return restored


_OS_ERROR = re.compile(r"os_error_code='?(\d+)")
_FAILED_FILE = re.compile(r'Failed (?:writing|to write)[^"]*"([^"]+)"')


def _as_os_error(err: Exception, directory) -> OSError | None:
    """The OSError behind an orbax/tensorstore error (a full disk arrives as a ValueError there)."""
    text = str(err)
    code = _OS_ERROR.search(text)
    if code is None:
        return None
    where = _FAILED_FILE.search(text)
    number = int(code.group(1))
    return OSError(number, os.strerror(number), where.group(1) if where else str(directory))


def _check_free_space(directory: Path, tree) -> None:
    """Refuses a save that cannot fit on its disk before a byte is written (ENOSPC, naming the folder)."""
    import jax
    import numpy as np
    needed = sum(np.asarray(a).nbytes for a in jax.tree_util.tree_leaves(tree))
    needed = int(needed * 1.1) + (1 << 20)   # orbax's metadata and the manifest
    folder = directory.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed:
        raise OSError(errno.ENOSPC, f"No space left on device: the save needs about {needed:,} bytes, "
                                    f"{free:,} are free", str(directory))


class _Checkpointer:
    """An orbax checkpointer whose write errors of the file system are OSErrors (ENOSPC, EFBIG, ...)."""

    def __init__(self, inner):
        self._inner = inner

    def save(self, directory, tree) -> None:
        _check_free_space(Path(directory), tree)
        try:
            self._inner.save(directory, tree)
        except ValueError as err:
            os_error = _as_os_error(err, directory)
            if os_error is None:
                raise
            raise os_error from None

    def restore(self, directory):
        return self._inner.restore(directory)


def checkpointer():
    """An orbax ``PyTree`` checkpointer that this process uses on its own.

    Over several processes, files are written by process 0 alone (``hl.distribute.on_chief``)
    from arrays every process gathered; orbax's default checkpointer would wait at a
    barrier for the other processes, so this one names only the calling process. A write
    that the file system refuses (a full disk) raises an OSError naming the file.
    """
    import jax
    import orbax.checkpoint as ocp
    if jax.process_count() == 1:
        return _Checkpointer(ocp.PyTreeCheckpointer())
    options = ocp.options.MultiprocessingOptions(primary_host=jax.process_index(),
                                                 active_processes={jax.process_index()})
    return _Checkpointer(ocp.Checkpointer(ocp.PyTreeCheckpointHandler(multiprocessing_options=options),
                                          multiprocessing_options=options))
