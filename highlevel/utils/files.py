"""Replacing a directory atomically: a crash leaves either the old one or the new one whole."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["swap_into_place", "checkpointer"]


def swap_into_place(tmp: Path, path: Path, old: Path) -> None:
    """Moves the finished directory ``tmp`` to ``path``.

    A previous ``path`` is first renamed to ``old`` and deleted only once ``tmp`` is in
    place; if that last rename fails, it is put back. A process killed between the two
    renames leaves ``old`` behind, which the caller may recover by its name.
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


def checkpointer():
    """An orbax ``PyTree`` checkpointer that this process uses on its own.

    Over several processes, files are written by process 0 alone (``hl.distribute.on_chief``)
    from arrays every process gathered; orbax's default checkpointer would wait at a
    barrier for the other processes, so this one names only the calling process.
    """
    import jax
    import orbax.checkpoint as ocp
    if jax.process_count() == 1:
        return ocp.PyTreeCheckpointer()
    options = ocp.options.MultiprocessingOptions(primary_host=jax.process_index(),
                                                 active_processes={jax.process_index()})
    return ocp.Checkpointer(ocp.PyTreeCheckpointHandler(multiprocessing_options=options),
                            multiprocessing_options=options)
