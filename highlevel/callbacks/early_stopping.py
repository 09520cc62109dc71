"""EarlyStopping: stop training when a monitored metric has stopped improving.

The decision itself is :class:`EarlyStopper`, a small object with ``update(value)``
that needs no model (flax ``training/early_stopping.py``); the callback feeds it the
epoch logs and acts on its answer. The monitor helpers here (``check_mode``,
``resolve_mode``, ``is_improvement``) are shared with ``ReduceLROnPlateau``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Mapping, NamedTuple

import numpy as np

from highlevel.training.callback import Callback

__all__ = ["EarlyStopper", "EarlyStopping", "check_mode", "is_improvement", "resolve_mode"]

_MODES = ("auto", "min", "max")


# -- monitoring a quantity (Keras's MonitorCallback) ---------------------------------------

def check_mode(owner: str, mode: str) -> str:
    """``mode`` if it is ``"auto"``, ``"min"`` or ``"max"``; a ValueError naming ``owner`` otherwise.

    Keras warns and falls back to ``"auto"``; a typo that silently flips the direction
    is worse than an error, so this raises.
    """
    if mode not in _MODES:
        raise ValueError(f"{owner} mode must be one of 'auto', 'min', 'max', got {mode!r}.")
    return mode


def _metric_direction(model, name: str) -> str | None:
    """``"up"``/``"down"`` for a compiled metric logged as ``name``, None when unknown
    (asked through the trainer seam, ``model.trainer.metric_direction``)."""
    trainer = getattr(model, "trainer", None)
    return None if trainer is None else trainer.metric_direction(name)


def resolve_mode(owner: str, monitor: str, mode: str, model=None) -> str:
    """``"min"`` or ``"max"``: ``mode`` itself, or for ``"auto"`` the direction of ``monitor``.

    As in Keras 3: a loss (``loss``, ``val_loss``, ``<output>_loss``) is minimized; a
    compiled metric is followed in its declared direction (accuracy, AUC, precision,
    recall up; errors and crossentropies down); anything else raises, asking for a mode.
    """
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    direction = _metric_direction(model, name)
    if direction == "up":
        return "max"
    if direction == "down":
        return "min"
    raise ValueError(
        f"{owner} received monitor={monitor!r} with mode='auto', but the direction of "
        f"'{name}' is unknown. Pass mode='max' to monitor its highest value, or "
        "mode='min' to monitor its lowest value.")


def is_improvement(mode: str, min_delta: float, current: float, reference: float | None) -> bool:
    """Whether ``current`` beats ``reference`` by more than ``min_delta`` (Keras's rule).

    ``reference`` None (nothing seen yet) always counts as improved. Comparisons are in
    Python floats (float64); a NaN never improves on anything.
    """
    if reference is None:
        return True
    if mode == "min":
        return current + abs(min_delta) < reference
    if mode == "max":
        return current - abs(min_delta) > reference
    raise ValueError(f"mode must be 'min' or 'max' here, got {mode!r}.")


def warn_missing(owner: str, what: str, monitor: str, logs: Mapping[str, Any]) -> None:
    warnings.warn(f"{owner} {what} metric `{monitor}` which is not available. "
                  f"Available metrics are: {','.join(logs.keys())}", stacklevel=3)


# -- the decision --------------------------------------------------------------------------

class StopUpdate(NamedTuple):
    improved: bool
    should_stop: bool


@dataclasses.dataclass
class EarlyStopper:
    """Keras's early-stopping rule on a stream of values, without a model.

    Args:
        mode: ``"min"`` or ``"max"``.
        min_delta: an improvement must beat the best by more than this.
        patience: epochs without improvement after which to stop.
        baseline: if set, ``wait`` restarts only on values that also beat it.
        start_from_epoch: values of earlier epochs are ignored.

    >>> stopper = EarlyStopper(mode="min", patience=2)
    >>> [stopper.update(v).should_stop for v in (1.0, 0.5, 0.7, 0.6)]
    [False, False, False, True]
    >>> stopper.best, stopper.best_epoch, stopper.stopped_epoch
    (0.5, 1, 3)
    """

    mode: str = "min"
    min_delta: float = 0.0
    patience: int = 0
    baseline: float | None = None
    start_from_epoch: int = 0
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped_epoch: int = 0
    next_epoch: int = 0

    def reset(self) -> None:
        self.best, self.best_epoch, self.wait, self.stopped_epoch, self.next_epoch = None, 0, 0, 0, 0

    def update(self, value: float, epoch: int | None = None) -> StopUpdate:
        """Feeds the value of ``epoch`` (default: one after the previous update's epoch)."""
        epoch = self.next_epoch if epoch is None else int(epoch)
        self.next_epoch = epoch + 1
        if epoch < self.start_from_epoch:
            return StopUpdate(False, False)
        self.wait += 1
        if is_improvement(self.mode, self.min_delta, value, self.best):
            self.best, self.best_epoch = value, epoch
            # wait restarts only when the value beats both the previous best and the baseline.
            if self.baseline is None or is_improvement(self.mode, self.min_delta, value, self.baseline):
                self.wait = 0
            return StopUpdate(True, False)
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            return StopUpdate(False, True)
        return StopUpdate(False, False)


# -- the callback --------------------------------------------------------------------------

class EarlyStopping(Callback):
    """Stops training when a monitored metric has stopped improving (Keras's semantics).

    Args:
        monitor: the logged quantity to watch, e.g. ``"val_loss"``.
        min_delta: a change smaller than this does not count as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a line when it stops and when it restores weights.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (inferred from the metric: losses and
            errors down, accuracy/AUC/precision/recall up).
        baseline: training stops if the metric does not beat this within ``patience``.
        restore_best_weights: at the end of training, set the weights of the best epoch
            (kept on the host, in memory).
        start_from_epoch: epochs of warm-up during which nothing is monitored.

    ``get_state()`` carries ``best``, ``best_epoch``, ``wait`` and ``stopped_epoch``
    (JSON); the best weights, too large for JSON, travel through ``get_arrays()`` /
    ``set_arrays()`` (a list of NumPy arrays, empty when none are kept).

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=5, callbacks=[stop], verbose=0)
    >>> len(history.history["loss"]), stop.stopped_epoch
    (2, 1)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.mode = check_mode("EarlyStopping", mode)
        if int(patience) < 0:
            raise ValueError(f"EarlyStopping patience must be >= 0, got {patience}.")
        self.min_delta = abs(min_delta)
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.best_weights: list[np.ndarray] | None = None
        self.stopper = EarlyStopper(mode=None if mode == "auto" else mode, min_delta=self.min_delta,
                                    patience=self.patience, baseline=baseline,
                                    start_from_epoch=self.start_from_epoch)

    # Keras's attribute names, read from the stopper.
    best = property(lambda self: self.stopper.best)
    best_epoch = property(lambda self: self.stopper.best_epoch)
    wait = property(lambda self: self.stopper.wait)
    stopped_epoch = property(lambda self: self.stopper.stopped_epoch)

    def _snapshot_weights(self) -> None:
        self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_begin(self, logs=None):
        # The instance may be reused across fit() calls, as in Keras.
        self.stopper.reset()
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warn_missing("EarlyStopping", "is conditioned on", self.monitor, logs)
            return
        if self.stopper.mode is None:
            self.stopper.mode = resolve_mode("EarlyStopping", self.monitor, self.mode, self.model)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing kept yet (e.g. a resumed run without arrays): the current weights are the best.
            self._snapshot_weights()
            self.stopper.best_epoch = epoch
        update = self.stopper.update(float(current), epoch)
        if update.improved and self.restore_best_weights:
            self._snapshot_weights()
        if update.should_stop:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    # -- state for BackupAndRestore ----------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        s = self.stopper
        return {"best": s.best, "best_epoch": s.best_epoch, "wait": s.wait,
                "stopped_epoch": s.stopped_epoch, "mode": s.mode}

    def set_state(self, state: dict[str, Any]) -> None:
        s = self.stopper
        s.best = None if state.get("best") is None else float(state["best"])
        s.best_epoch = int(state.get("best_epoch", 0))
        s.wait = int(state.get("wait", 0))
        s.stopped_epoch = int(state.get("stopped_epoch", 0))
        if state.get("mode") is not None:
            s.mode = state["mode"]

    def get_arrays(self) -> list[np.ndarray]:
        """The best weights kept for ``restore_best_weights`` (empty if none)."""
        return list(self.best_weights or [])

    def set_arrays(self, arrays: list[np.ndarray]) -> None:
        self.best_weights = [np.array(a, copy=True) for a in arrays] if arrays else None
