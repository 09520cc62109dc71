"""ProgbarLogger: a tqdm progress bar (a widget in Jupyter, text in a terminal).

``verbose=1``: one bar per epoch whose metrics are read from the device and redrawn every
``refresh_seconds`` of wall time (by the bar's own clock, never once per step: reading them
is the only device-to-host copy it causes); ``verbose=2``: one line per epoch. At each epoch's end both show the step time and samples per
second that the trainer measured (``trainer.throughput``; from the host clock, no device sync).
"""

from __future__ import annotations

import sys
import time

from typing import Callable

from highlevel.training.callback import Callback
from highlevel.utils import io_utils

__all__ = ["ProgbarLogger"]


def _fmt(logs) -> str:
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())


class ProgbarLogger(Callback):
    """Prints progress and metrics to stdout, as Keras's ProgbarLogger.

    ``fit(verbose=...)`` adds one; pass your own to change its refresh rate.

    Args:
        verbose: 1: a tqdm progress bar per epoch (a widget in Jupyter); 2: one line per epoch.
        refresh_seconds: The time between two refreshes of the bar's metrics (each reads the
            metrics from the device once and redraws the bar with them).
        clock: The function giving the time in seconds (``time.monotonic``); tests pass a fake.

    >>> import highlevel as hl
    >>> logger = hl.callbacks.ProgbarLogger(verbose=2)
    >>> logger.set_params({"epochs": 3, "steps": 10})
    >>> logger.on_epoch_begin(0)
    >>> logger.on_epoch_end(0, {"loss": 0.25, "accuracy": 0.9})
    Epoch 1/3 - ...s - loss: 0.25 - accuracy: 0.9
    """

    def __init__(self, verbose: int = 1, refresh_seconds: float = 0.5, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.verbose = verbose
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        #: The number of times the bar's metrics were read and redrawn (this epoch).
        self.refreshes = 0
        self._bar = None
        self._last = 0.0
        self._epoch_start = 0.0

    def _new_bar(self, total, desc):
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=desc, unit="step", leave=True, file=sys.stdout,
                    dynamic_ncols=True, mininterval=self.refresh_seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.clock()
        epochs = self.params.get("epochs")
        self.refreshes = 0
        if self.verbose == 1 and io_utils.is_interactive_logging_enabled():
            self._bar = self._new_bar(self.params.get("steps"), f"Epoch {epoch + 1}/{epochs}")
            self._last = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is None:
            return
        done = batch + 1
        now = self.clock()
        if now - self._last >= self.refresh_seconds and logs:
            # The bar's own rate: read the metrics now (one device-to-host copy) and redraw with
            # them, so the values shown are the running ones, not those of an earlier step.
            self._last = now
            self.refreshes += 1
            self._bar.n = done
            self._bar.set_postfix_str(_fmt(logs), refresh=True)
        else:
            self._bar.update(done - self._bar.n)

    def _speed(self, logs) -> str:
        """`` - 0.61ms/step - 52,170 samples/s`` from the trainer's throughput (unless the logs hold it)."""
        meter = getattr(getattr(self.model, "trainer", None), "throughput", None)
        last = getattr(meter, "last", None) or {}
        if "step_time" not in last or "step_time" in logs:
            return ""
        return f" - {last['step_time'] * 1e3:.3g}ms/step - {last['samples_per_second']:,.0f} samples/s"

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        speed = self._speed(logs)
        if self._bar is not None:
            self._bar.set_postfix_str(speed[3:] + (" - " if speed and logs else "") + _fmt(logs), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose in (1, 2):   # verbose=1 without interactive logging: the line goes to the log
            seconds = self.clock() - self._epoch_start
            epochs = self.params.get("epochs")
            io_utils.print_msg(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s{speed} - {_fmt(logs)}")

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
