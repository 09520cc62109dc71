"""TensorBoard event files read record by record, and trimmed back to a restored point on resume.

An event file is a sequence of TFRecords: the data's length (8 bytes, little-endian), its
masked CRC-32C, the serialized ``Event``, and the data's masked CRC-32C. A process killed
while writing leaves its last record cut short, which ends the file for every reader, this
one included.

TensorBoard's own answer to a restart, a ``SessionLog.START`` event at the restored step
(tensorboardX's ``purge_step``), hides every earlier event at that step or later, whatever
its tag. It cannot serve here: Keras's layout logs the epoch scalars at the epoch and the
batch scalars and ``evaluation_*_vs_iterations`` at the global step in the same run, so a
purge at the restored epoch would also hide nearly every step-indexed point written before
the crash. The values logged past the restored point are removed from the files instead,
as ``CSVLogger`` drops the rows written after the backup.
"""

from __future__ import annotations

import glob
import os
import re
import struct
from typing import Iterator

from highlevel.utils.files import owner_alive, temporary_name

__all__ = ["records", "is_stale", "trim_run"]

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
# Tags logged at the trainer's global step, not at the epoch: the batch scalars and validation's
# evaluation_<metric>_vs_iterations. A weight's histogram tag always holds a "/".
_GLOBAL_STEP_TAG = re.compile(r"batch_[^/]+|evaluation_[^/]+_vs_iterations")
# Written once, at step 0, when a fresh run starts; a resumed run does not write them again.
_ONCE_TAGS = ("model_summary",)
# A file last modified this long before the run began holds only earlier runs' events and is not
# read; the slack covers file systems with coarse modification times or another machine's clock.
_MTIME_SLACK_S = 300.0
_TMP_PREFIX = ".trimmed-"  # without "tfevents" in its name, which TensorBoard would read


def records(path) -> Iterator[tuple[bytes, object]]:
    """``(raw record, Event)`` for each whole record of the event file ``path``, in order."""
    from google.protobuf.message import DecodeError
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c

    with open(path, "rb") as f:
        while True:
            header = f.read(_LENGTH.size + _CRC.size)
            if len(header) < _LENGTH.size + _CRC.size:
                return
            (length,), (crc,) = _LENGTH.unpack(header[:8]), _CRC.unpack(header[8:])
            if masked_crc32c(header[:8]) != crc:
                return  # not a record's start: nothing after it can be read
            body = f.read(length + _CRC.size)
            if len(body) < length + _CRC.size:
                return  # cut short by a crash
            event = Event()
            try:
                event.ParseFromString(body[:length])
            except DecodeError:
                return
            yield header + body, event


def is_stale(tag: str, step: int, epoch: int, global_step: int) -> bool:
    """Whether a value of ``tag`` at ``step`` is one that a run resumed at ``epoch``, after
    ``global_step`` steps, logs again: an epoch's value from ``epoch`` on, a step's value past
    ``global_step``.

    >>> is_stale("epoch_loss", 1, epoch=1, global_step=8), is_stale("batch_loss", 8, epoch=1, global_step=8)
    (True, False)
    """
    if _GLOBAL_STEP_TAG.fullmatch(tag):
        return step > global_step
    if tag.startswith(_ONCE_TAGS):
        return False
    return step >= epoch


def _kept_values(event, since: float, epoch: int, global_step: int):
    """The summary values of ``event`` that stay, or None when all of them do."""
    if not event.HasField("summary") or event.wall_time < since:
        return None  # not a summary, or logged by an earlier run into the same directory
    values = event.summary.value
    kept = [v for v in values if not is_stale(v.tag, event.step, epoch, global_step)]
    return None if len(kept) == len(values) else kept


def _rewrite(path: str, since: float, epoch: int, global_step: int) -> None:
    """Writes ``path`` again without its stale values, through a temporary sibling renamed over it."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c

    tmp = os.path.join(os.path.dirname(path), temporary_name(_TMP_PREFIX))
    try:
        with open(tmp, "wb") as out:
            for raw, event in records(path):
                kept = _kept_values(event, since, epoch, global_step)
                if kept is None:
                    out.write(raw)  # as it was, CRCs included
                    continue
                if not kept:
                    continue
                trimmed = Event()
                trimmed.CopyFrom(event)
                trimmed.summary.ClearField("value")
                trimmed.summary.value.extend(kept)
                data = trimmed.SerializeToString()
                length = _LENGTH.pack(len(data))
                out.write(length + _CRC.pack(masked_crc32c(length)) + data + _CRC.pack(masked_crc32c(data)))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def trim_run(run_dir: str, since: float, epoch: int, global_step: int) -> list[str]:
    """Removes from the event files of ``run_dir`` the values logged since the wall time ``since``
    (when the run began) that a run resumed at ``epoch`` after ``global_step`` steps logs again.

    Values logged before ``since`` (an earlier ``fit`` into the same directory) are kept. Files
    with nothing to remove are not touched. Returns the files rewritten.
    """
    if not os.path.isdir(run_dir):
        return []
    for name in os.listdir(run_dir):  # what a process killed while trimming left
        if name.startswith(_TMP_PREFIX) and not owner_alive(name):
            os.remove(os.path.join(run_dir, name))
    rewritten = []
    for path in sorted(glob.glob(os.path.join(glob.escape(run_dir), "*tfevents*"))):
        if not os.path.isfile(path) or os.path.getmtime(path) < since - _MTIME_SLACK_S:
            continue
        if all(_kept_values(event, since, epoch, global_step) is None for _, event in records(path)):
            continue
        _rewrite(path, since, epoch, global_step)
        rewritten.append(path)
    return rewritten
