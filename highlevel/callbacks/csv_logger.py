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
    ``validation_freq > 1``). The file is flushed after every epoch and closed at the
    end of training, also when ``fit`` raises.

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

    def on_train_begin(self, logs=None):
        self._close()
        self.append_header = True
        if not is_chief():  # over several processes, process 0 alone writes the file
            return
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        # newline="": the csv module writes its own line endings (\r\n, as Keras's files on Linux).
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

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

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def on_train_end(self, logs=None):
        self._close()

    def on_train_exception(self, exception):
        self._close()
