"""CSVLogger: stream the epoch logs to a CSV file, in Keras's format."""

from __future__ import annotations

import collections
import csv
import os

import numpy as np

from highlevel.distribute.processes import is_chief
from highlevel.training.callback import Callback

__all__ = ["CSVLogger"]


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes one row per epoch: an ``epoch`` column, then the logged metrics in sorted order.

    The format is Keras's, so files from either read alike: the columns are fixed by the
    first epoch; when it has no ``val_`` metrics, ``val_<name>`` columns are added for
    every metric (filled with ``NA`` while there is no validation, e.g. with
    ``validation_freq > 1``). The file is opened when the first epoch begins, flushed
    after every epoch and closed at the end of training, also when ``fit`` raises.

    With ``BackupAndRestore``, a resumed ``fit`` continues the same file: the rows the
    backup had seen are kept, any written after it (an epoch that is run again) dropped,
    so every epoch appears once, as if the run had never been interrupted.

    Args:
        filename: the CSV file; its folder is created if missing.
        separator: the column separator.
        append: add to an existing file (its header is kept) instead of overwriting it;
            use it with ``BackupAndRestore`` so a resumed run continues the same file.

    >>> csv_logger = CSVLogger("training.log")
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = bool(append)
        self.writer = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file = None
        self._rows = 0             # data rows in the file
        self._resume_rows: int | None = None
        self._opened = False

    # -- state (saved by BackupAndRestore) ---------------------------------------------------

    def get_state(self) -> dict:
        return {"rows": self._rows, "keys": self.keys}

    def set_state(self, state: dict) -> None:
        self._resume_rows = int(state.get("rows", 0))
        self.keys = list(state["keys"]) if state.get("keys") else None

    # -- the file ------------------------------------------------------------------------------

    def _records(self) -> list[list[str]]:
        with open(self.filename, newline="") as f:
            return list(csv.reader(f, delimiter=self.sep))

    def _open(self) -> None:
        self._opened = True
        if not is_chief():  # over several processes, process 0 alone writes the file
            return
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        exists = os.path.exists(self.filename)
        if self._resume_rows is not None and exists:
            # Resumed: keep the header and the rows the backup had seen, drop any written after it.
            records = self._records()
            kept = records[:1 + self._resume_rows] if records else []
            tmp = f"{self.filename}.tmp-{os.getpid()}"
            with open(tmp, "w", newline="") as f:
                csv.writer(f, delimiter=self.sep, lineterminator="\r\n").writerows(kept)
            os.replace(tmp, self.filename)
            self._rows, self.append_header, mode = max(0, len(kept) - 1), not kept, "a"
        elif self.append and exists:
            records = self._records()
            self._rows, self.append_header, mode = max(0, len(records) - 1), not records, "a"
            self.keys = None
        else:
            self._rows, self.append_header, mode = 0, True, "w"
            self.keys = None
        # newline="": the csv module writes its own line endings (\r\n, as Keras's files on Linux).
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None

    def on_train_begin(self, logs=None):
        self._close()
        self.append_header = True
        self._opened = False
        self._resume_rows = None   # set by BackupAndRestore (which runs after this hook) on resume
        self.keys = None

    def on_epoch_begin(self, epoch, logs=None):
        if not self._opened:
            self._open()

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None:
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()
        self._rows += 1

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def on_train_end(self, logs=None):
        self._close()

    def on_train_exception(self, exception):
        self._close()
