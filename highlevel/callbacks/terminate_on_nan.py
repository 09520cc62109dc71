"""TerminateOnNaN: stop training when the loss becomes NaN or infinite.

Keras reads the loss after every batch: a device-to-host copy (and a wait for the
step) per step. Here the check costs nothing per step by default: the epoch's loss
is checked at epoch end, where the trainer reads the metrics anyway. The logged
``loss`` is the mean over the epoch so far, so a NaN in any batch makes it NaN and
the check cannot miss it; the cost is only that training runs to the end of the
epoch. ``check_every=N`` also reads the running loss every N steps (and stops
after that step), trading one host read per N steps for an earlier stop.
"""

from __future__ import annotations

import math

from highlevel.training.callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stops training when the loss is NaN or infinite.

    Args:
        raise_error: raise a RuntimeError instead of stopping gracefully
            (``model.stop_training = True``, after which ``on_train_end`` still runs).
        check_every: also check the running loss every this many training steps
            (each check is one device-to-host read); None checks only at epoch end.

    >>> terminate = TerminateOnNaN(check_every=100)
    """

    def __init__(self, raise_error: bool = False, check_every: int | None = None):
        super().__init__()
        if check_every is not None and (isinstance(check_every, bool) or not isinstance(check_every, int)
                                        or check_every < 1):
            raise ValueError(f"TerminateOnNaN check_every must be a positive integer or None, "
                             f"got {check_every!r}.")
        self.raise_error = bool(raise_error)
        self.check_every = check_every
        if check_every is not None:
            # Set on the instance only when asked, so that by default the trainer sees no
            # per-batch hook and builds no batch logs.
            self.on_train_batch_end = self._check_batch

    def _invalid(self, where: str, logs) -> bool:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return False
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at {where}. Loss value: {float(loss)}. "
                               "Terminating training immediately.")
        print(f"{where[0].upper()}{where[1:]}: Invalid loss, terminating training")
        self.model.stop_training = True
        return True

    def _check_batch(self, batch, logs=None):
        if (batch + 1) % self.check_every == 0:
            self._invalid(f"batch {batch}", logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:  # already stopping (maybe by the batch check): say it once
            return
        self._invalid(f"epoch {epoch + 1}", logs)
