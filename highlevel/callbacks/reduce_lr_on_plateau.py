"""ReduceLROnPlateau: lower the learning rate when a monitored metric stops improving.

The plateau rule is :class:`PlateauDetector` (``update(value) -> bool``), testable
without a model. Setting the rate changes one array in the optimizer state: nothing
recompiles.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from highlevel.callbacks.early_stopping import check_mode, is_improvement, resolve_mode, warn_missing
from highlevel.training.callback import Callback

__all__ = ["PlateauDetector", "ReduceLROnPlateau"]


@dataclasses.dataclass
class PlateauDetector:
    """Keras's plateau rule on a stream of values, without a model.

    ``update(value)`` returns True when ``patience`` values in a row have not improved
    (outside a cooldown); call ``reduced()`` once the rate was actually lowered, which
    starts the cooldown and restarts the count.

    >>> plateau = PlateauDetector(mode="min", patience=2)
    >>> [plateau.update(v) for v in (1.0, 1.0, 1.0, 0.5)]
    [False, False, True, False]
    """

    mode: str = "min"
    min_delta: float = 1e-4
    patience: int = 10
    cooldown: int = 0
    best: float | None = None
    wait: int = 0
    cooldown_counter: int = 0

    def reset(self) -> None:
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def update(self, value: float) -> bool:
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if is_improvement(self.mode, self.min_delta, value, self.best):
            self.best = value
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            return self.wait >= self.patience
        return False

    def reduced(self) -> None:
        self.cooldown_counter = self.cooldown
        self.wait = 0


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has stopped improving.

    Args:
        monitor: the logged quantity to watch.
        factor: ``new_lr = lr * factor``; must be < 1.
        patience: epochs without improvement after which the rate is reduced.
        verbose: 1 prints a line at each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (inferred from the metric).
        min_delta: a change smaller than this does not count as an improvement.
        cooldown: epochs after a reduction during which no improvement is counted.
        min_lr: the rate never goes below this.

    The optimizer must have a float learning rate (not a schedule).

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=1e-3)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        super().__init__()
        factor, min_delta = float(factor), float(min_delta)   # a string is refused here, naming itself
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got factor={factor}; "
                             "pass a factor in [0, 1), e.g. 0.1 to divide the rate by 10.")
        self.monitor = monitor
        self.mode = check_mode("ReduceLROnPlateau", mode)
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.min_delta = abs(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self.plateau = PlateauDetector(mode=None if mode == "auto" else mode, min_delta=self.min_delta,
                                       patience=self.patience, cooldown=self.cooldown)

    best = property(lambda self: self.plateau.best)
    wait = property(lambda self: self.plateau.wait)
    cooldown_counter = property(lambda self: self.plateau.cooldown_counter)

    def in_cooldown(self) -> bool:
        return self.plateau.in_cooldown()

    def on_train_begin(self, logs=None):
        self.plateau.reset()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = float(optimizer.learning_rate)
        logs = logs if logs is not None else {}
        current = logs.get(self.monitor)
        if current is None:
            warn_missing("ReduceLROnPlateau:", "learning rate reduction is conditioned on",
                         self.monitor, logs)
            return
        if self.plateau.mode is None:
            self.plateau.mode = resolve_mode("ReduceLROnPlateau", self.monitor, self.mode, self.model)
        if not self.plateau.update(float(current)):
            return
        old_lr = float(optimizer.learning_rate)
        # The rate is stored in float32: compare there, or min_lr would never be "reached".
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            self.plateau.reduced()

    # -- state for BackupAndRestore ----------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        p = self.plateau
        return {"best": p.best, "wait": p.wait, "cooldown_counter": p.cooldown_counter, "mode": p.mode}

    def set_state(self, state: dict[str, Any]) -> None:
        p = self.plateau
        p.best = None if state.get("best") is None else float(state["best"])
        p.wait = int(state.get("wait", 0))
        p.cooldown_counter = int(state.get("cooldown_counter", 0))
        if state.get("mode") is not None:
            p.mode = state["mode"]
