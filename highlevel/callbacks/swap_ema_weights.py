"""SwapEMAWeights: evaluate (and checkpoint) with the optimizer's moving averages of the weights."""

from __future__ import annotations

from highlevel import optimizers as _optimizers
from highlevel.training.callback import Callback

__all__ = ["SwapEMAWeights"]


class SwapEMAWeights(Callback):
    """Swaps the weights with their moving averages for evaluation, and back, as Keras's.

    With an optimizer created with ``use_ema=True``, the optimizer state keeps an
    exponential moving average of each trained weight. This callback puts the averages in
    the model before each evaluation (the validation of ``fit``, ``evaluate``,
    ``predict``) and the trained weights back after it, so the metrics are the averaged
    model's while training goes on from the trained weights. The swap exchanges arrays
    between the weights and the optimizer state (nothing is recompiled).

    With ``swap_on_epoch=True`` it also swaps at each epoch end (and back at the next
    epoch's start), so that the callbacks after it in the list, such as
    ``ModelCheckpoint``, see and save the averaged weights. A ``BackupAndRestore`` backup
    taken meanwhile holds the swapped state and this callback's flag, so a resumed run
    swaps back where the interrupted one would have.

    Args:
      swap_on_epoch: also swap at epoch end and start (Keras's argument).

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer=hl.optimizers.SGD(0.1, use_ema=True), loss="mse")
    >>> x, y = np.ones((8, 2)), np.ones((8, 1))
    >>> history = model.fit(x, y, epochs=2, validation_data=(x, y), callbacks=[SwapEMAWeights()], verbose=0)
    >>> sorted(history.history)
    ['learning_rate', 'loss', 'val_loss']
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        if not isinstance(swap_on_epoch, bool):
            raise TypeError(f"SwapEMAWeights swap_on_epoch must be True or False, got {swap_on_epoch!r}.")
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    # -- the swap, through the trainer's state ---------------------------------------------

    def _trainer_state(self):
        state = self.model.trainer.state
        if state is None or not _optimizers.has_ema(state.opt_state):
            raise ValueError("SwapEMAWeights needs an optimizer that keeps moving averages of the weights: "
                             "compile with one created with use_ema=True, e.g. hl.optimizers.Adam(use_ema=True) "
                             "(for a MultiOptimizer, at least one group's).")
        return state

    def _swap(self) -> None:
        state = self._trainer_state()
        averages, opt_state = _optimizers.swap_ema_weights(state.opt_state, state.params)
        self.model.trainer.state = state.replace(params=averages, opt_state=opt_state)

    def _finalize_ema_values(self) -> None:
        # The averages take the weights now in the model (the averages themselves), so that the
        # end of fit, which puts the averages in the model, keeps them there.
        state = self._trainer_state()
        self.model.trainer.state = state.replace(opt_state=_optimizers.set_ema_weights(state.opt_state, state.params))

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    # -- hooks ------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._trainer_state()  # the clear error now, not at the first evaluation

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            if epoch == self.params.get("epochs", 0) - 1 or self.model.stop_training:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()

    # -- exact resumption -------------------------------------------------------------------

    def get_state(self):
        return {"ema_weights_in_model": self._ema_weights_in_model}

    def set_state(self, state):
        self._ema_weights_in_model = bool(state.get("ema_weights_in_model", False))
