"""An exclusive lock on a directory, held while one process works in it (a run being trained).

The lock is ``DIR/.lock``, locked with ``flock`` and holding the owner's pid, host and
start time, so a second process is refused with a message naming the owner. The kernel
drops an ``flock`` when its process dies, so the lock of a killed process is free and
taken over by the next one; on a file system without ``flock``, a lock naming a
process of this host that is gone is taken over.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None

__all__ = ["DirectoryLock", "LockedError"]

LOCK_NAME = ".lock"


class LockedError(RuntimeError):
    """The directory is locked by another living process; the message names it."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DirectoryLock:
    """Holds ``directory/.lock`` while a process works in ``directory``; a context manager.

    Args:
        directory: the directory to lock (it must exist).
        purpose: what the owner does there, for the message of a refused process.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with DirectoryLock(folder, "training"):
    ...     try:
    ...         DirectoryLock(folder).acquire()
    ...     except LockedError as err:
    ...         print("refused")
    refused
    """

    def __init__(self, directory: str | os.PathLike, purpose: str = "training"):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.purpose = purpose
        self._fd: int | None = None

    def _owner(self) -> dict:
        try:
            owner = json.loads(self.path.read_text())
            return owner if isinstance(owner, dict) else {}
        except (OSError, ValueError):
            return {}

    def _refuse(self, owner: dict) -> LockedError:
        who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"
        since = f" since {owner['started']}" if owner.get("started") else ""
        doing = owner.get("purpose", "working")
        return LockedError(f"{self.directory} is in use: {who} has been {doing} in it{since}. Wait for it to end "
                           f"(or stop it), then try again; a lock left by a process that died is taken over "
                           "by itself.")

    def acquire(self) -> "DirectoryLock":
        """Takes the lock, or raises LockedError naming the process that holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        raise self._refuse(self._owner()) from None
                    except OSError:
                        self._check_pid()  # no flock on this file system: the pid decides
                else:
                    self._check_pid()
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)  # the file was removed by its owner as we locked it: lock the new one
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": self.purpose,
                 "started": datetime.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(owner).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def _check_pid(self) -> None:
        owner = self._owner()
        if (owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int)
                and owner["pid"] != os.getpid() and _alive(owner["pid"])):
            raise self._refuse(owner)

    def release(self) -> None:
        """Gives the lock up and removes the lock file."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
