"""LearningRateScheduler: set the learning rate at the start of every epoch from a function.

The rate is an array in the optimizer state (``optax.inject_hyperparams``): setting
it between epochs changes a value, never the compiled step.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable

import numpy as np

from highlevel.training.callback import Callback

__all__ = ["LearningRateScheduler"]


def _takes_lr(schedule: Callable) -> bool | None:
    """Whether ``schedule`` accepts ``(epoch, lr)``; None when its signature is unknown."""
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                   inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class LearningRateScheduler(Callback):
    """At the start of each epoch, sets the learning rate to ``schedule(epoch, lr)``.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` (``epoch`` counts from 0, ``lr`` is the
            current rate as a float), or Keras's older one-argument form ``schedule(epoch)``.
        verbose: 1 prints the rate set at each epoch.

    The rate in effect is logged as ``learning_rate``. The optimizer must have been
    created with a float learning rate, not a schedule.

    >>> def schedule(epoch, lr):
    ...     return lr if epoch < 10 else lr * 0.9
    >>> callback = LearningRateScheduler(schedule)
    """

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler needs a callable schedule(epoch, lr) -> lr, "
                            f"got {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _takes_lr(schedule)

    def _new_rate(self, epoch: int, lr: float) -> float:
        if self._takes_lr is None:  # a builtin or C callable: Keras's try-and-fall-back
            try:
                value = self.schedule(epoch, lr)
            except TypeError:
                value = self.schedule(epoch)
        elif self._takes_lr:
            value = self.schedule(epoch, lr)
        else:
            value = self.schedule(epoch)
        called = f"schedule({epoch}, {lr})" if self._takes_lr is not False else f"schedule({epoch})"
        if isinstance(value, (bool, np.bool_, str, bytes)) or np.ndim(value) != 0:
            raise ValueError(f"The output of the `schedule` function should be a float: {called} "
                             f"returned {value!r}.")
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"The output of the `schedule` function should be a float: {called} "
                             f"returned {value!r}.") from None
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"The `schedule` function must return a finite learning rate >= 0: "
                             f"{called} returned {rate}.")
        return rate

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        rate = self._new_rate(epoch, float(optimizer.learning_rate))
        optimizer.learning_rate = rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
