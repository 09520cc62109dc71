"""BackupOnSignal: SIGTERM or SIGINT ends ``fit`` after the current step, with a backup to resume from.

A scheduler about to preempt a job sends SIGTERM (and SIGKILL a little later); Ctrl-C
sends SIGINT. By default either stops Python at once, losing the work since the last
backup. With this callback the signal only sets a flag: the step running finishes, a
backup of exactly that point is written by the run's ``BackupAndRestore``, a line
says what happened, and ``fit`` raises ``TrainingPreempted``. Running the same ``fit``
again continues from that step, bit for bit. A second signal while this happens stops
at once (``KeyboardInterrupt``).
"""

from __future__ import annotations

import signal
import threading
from typing import Sequence

from highlevel.callbacks.backup_and_restore import BackupAndRestore
from highlevel.training.callback import Callback

__all__ = ["BackupOnSignal", "TrainingPreempted"]


class TrainingPreempted(Exception):
    """Raised by ``fit`` when ``BackupOnSignal`` stopped it on a signal, after the backup was written.

    Args:
        signal_name: the signal received (``"SIGTERM"``, ``"SIGINT"``).
        epoch: the epoch (0-based) in which training stopped.
        step: the steps of that epoch done, or None at the end of the epoch.
        backup_dir: where the backup to resume from was written.

    >>> err = TrainingPreempted("SIGTERM", 2, 17, "/tmp/backup")
    >>> err.signal_name, err.epoch, err.step
    ('SIGTERM', 2, 17)
    """

    def __init__(self, signal_name: str, epoch: int, step: int | None, backup_dir: str):
        where = f"at the end of epoch {epoch + 1}" if step is None else f"in epoch {epoch + 1} after step {step}"
        super().__init__(f"{signal_name} received: training stopped {where}, with a backup in {backup_dir}; "
                         "run the same fit again to continue exactly from there.")
        self.signal_name, self.epoch, self.step, self.backup_dir = signal_name, epoch, step, str(backup_dir)


class BackupOnSignal(Callback):
    """On SIGTERM or SIGINT, finishes the current step, writes a backup and stops ``fit``.

    The signal handlers are installed at the start of ``fit`` (from the main thread; in
    another thread they cannot be, and the callback does nothing) and the previous ones put
    back at its end. Checking the flag after each step reads nothing from the device.

    Args:
        backup: the ``BackupAndRestore`` of the same ``fit``, which writes the backup.
        signals: the signals to handle, by name.

    >>> import highlevel as hl
    >>> backup = hl.callbacks.BackupAndRestore("/tmp/backup")
    >>> callbacks = [backup, hl.callbacks.BackupOnSignal(backup)]
    >>> callbacks[1].signals
    ('SIGTERM', 'SIGINT')
    """

    _runs_last = True  # after BackupAndRestore: its end-of-epoch backup is written first

    def __init__(self, backup: BackupAndRestore, signals: Sequence[str] = ("SIGTERM", "SIGINT")):
        super().__init__()
        if not isinstance(backup, BackupAndRestore):
            raise TypeError(f"BackupOnSignal needs the fit's BackupAndRestore, got {type(backup).__name__}.")
        unknown = [s for s in signals if not isinstance(getattr(signal, str(s), None), signal.Signals)]
        if unknown:
            raise ValueError(f"BackupOnSignal got unknown signals {unknown}; name them as the signal module "
                             "does, e.g. 'SIGTERM', 'SIGINT', 'SIGUSR1'.")
        self.backup = backup
        self.signals = tuple(str(s) for s in signals)
        self.received: str | None = None
        self._previous: dict[int, object] = {}
        self._epoch = 0

    # -- the handlers ----------------------------------------------------------------------

    def _handle(self, signum, frame) -> None:
        if self.received is not None:   # a second signal: stop now
            self._restore_handlers()
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} received twice")
        self.received = signal.Signals(signum).name

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for name in self.signals:
            signum = getattr(signal, name)
            self._previous[signum] = signal.signal(signum, self._handle)

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    # -- hooks --------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.received = None
        self._install()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.backup.backup_now()
            self._stop(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.received is not None:
            # BackupAndRestore(save_freq="epoch") has just written this point; else write it.
            if self.backup.save_freq != "epoch":
                self.backup.backup_now()
            self._stop(epoch, None)

    def _stop(self, epoch: int, step: int | None) -> None:
        error = TrainingPreempted(self.received, epoch, step, str(self.backup.backup_dir))
        print(f"\n{error}", flush=True)
        raise error

    def on_train_end(self, logs=None):
        self._restore_handlers()

    def on_train_exception(self, exception):
        self._restore_handlers()
