"""OrbaxCheckpoint: Keras 3.15's callback saving numbered steps with orbax's ``CheckpointManager``.

Each save is a step ``<directory>/<step>/`` (the epoch, 0-based, with ``save_freq="epoch"``;
the number of batches trained so far otherwise), in the format of
``highlevel.models.orbax_steps``: the weights, and unless ``save_weights_only`` the
optimizer state, the step and the model's config. ``hl.models.load_model(directory)`` and
``model.load_weights(directory)`` read the latest step back, as ``keras.saving.load_model``
and ``model.load_weights`` do for Keras's.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from highlevel.callbacks.early_stopping import check_mode, is_improvement, resolve_mode
from highlevel.callbacks.model_checkpoint import check_save_freq_and_max_to_keep
from highlevel.models import orbax_steps
from highlevel.models.saving import checkpoint_items
from highlevel.training.callback import Callback

__all__ = ["OrbaxCheckpoint"]


class OrbaxCheckpoint(Callback):
    """Saves the model's state every epoch (or every ``save_freq`` batches) with orbax, in the background.

    Keras 3.15's callback, with ``ModelCheckpoint``'s arguments: each save is a numbered step
    of an orbax ``CheckpointManager`` in ``directory`` (the epoch, 0-based, or with an integer
    ``save_freq`` the number of batches trained so far), keeping the ``max_to_keep`` latest.
    The weights and their optimizer state are copied to the host at the save point and
    written while training goes on; ``fit`` waits for the last write before it returns, and
    before it re-raises an error. Orbax renames a step into place only when it is complete,
    so an interrupted write leaves no partial step behind.

    Load the latest step back with ``hl.models.load_model(directory)`` (the model, compiled
    with its optimizer state and step: ``fit(..., initial_epoch=...)`` continues the run) or
    into a built model with ``model.load_weights(directory)``; pass ``directory/<step>`` for
    an earlier step.

    Args:
      directory: the directory of the checkpoints, created when needed; one per run (steps
        must increase).
      monitor: the logged quantity that ``save_best_only`` compares.
      verbose: 0 (silent) or 1 (a line per save or skipped save).
      save_best_only: save only when ``monitor`` improves on the best seen so far; when it is
        not in the logs, warn and skip the save.
      mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` minimizes losses and follows the
        metric's direction (accuracy up, errors down).
      save_freq: ``"epoch"`` or an integer number of batches (compiled executions when
        ``steps_per_execution > 1``), counted across epochs.
      initial_value_threshold: the "best" value a model must beat to be saved with
        ``save_best_only``.
      max_to_keep: keep the latest this many steps; None keeps them all.
      save_on_background: write each step in the background while training goes on
        (orbax's asynchronous checkpointing); False writes it before training goes on.
      save_weights_only: save only the weights, without the optimizer state and the
        config (load them with ``model.load_weights``).

    >>> import highlevel as hl
    >>> cb = hl.callbacks.OrbaxCheckpoint("/tmp/orbax_ckpt", save_freq=100, max_to_keep=3)
    >>> cb.monitor
    'val_loss'
    """

    def __init__(self, directory, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 mode: str = "auto", save_freq="epoch", initial_value_threshold: float | None = None,
                 max_to_keep: int | None = 1, save_on_background: bool = True, save_weights_only: bool = False):
        super().__init__()
        check_mode("OrbaxCheckpoint", mode)
        check_save_freq_and_max_to_keep("OrbaxCheckpoint", save_freq, max_to_keep)
        self.directory = os.fspath(directory)
        if not self.directory:
            raise ValueError("OrbaxCheckpoint needs a directory to save to, got an empty one.")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.max_to_keep = max_to_keep
        self.save_on_background = bool(save_on_background)
        self.save_weights_only = bool(save_weights_only)
        self.best: float | None = initial_value_threshold
        self._direction: str | None = None
        self._batches_since_save = 0
        self._manager = None
        if save_freq != "epoch":
            # An instance hook: with save_freq="epoch" the loop calls no per-batch hook at all.
            self.on_train_batch_end = self._count_batch

    # -- state (saved by BackupAndRestore) ---------------------------------------------

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "batches_since_save": self._batches_since_save}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = state.get("best", self.initial_value_threshold)
        self._batches_since_save = int(state.get("batches_since_save", 0))

    # -- hooks ----------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # Opened here, not in __init__: a config check constructs callbacks without training.
        self._manager = orbax_steps.manager(self.directory, self.max_to_keep, self.save_on_background)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, f"Epoch {epoch + 1}", logs or {})

    def _count_batch(self, batch, logs=None):
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(int(self.model.trainer.step), f"Batch {batch + 1}", logs or {})

    def on_train_end(self, logs=None):
        self._close()

    def on_train_exception(self, exception):
        try:
            self._close()  # finish (or drop) the step being written; the first error is the one raised
        except Exception:
            pass

    def wait_until_finished(self) -> None:
        """Waits for the step being written in the background, and raises its error if it failed."""
        if self._manager is not None:
            self._manager.wait_until_finished()

    # -- saving -----------------------------------------------------------------------------

    def _close(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            try:
                manager.wait_until_finished()
            finally:
                manager.close()

    def _improved(self, where: str, logs) -> bool:
        if self._direction is None:  # resolved at the first save, as Keras, once the metrics exist
            self._direction = resolve_mode("OrbaxCheckpoint", self.monitor, self.mode, self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"OrbaxCheckpoint can save the best model only with {self.monitor} available in the "
                          f"logs (they hold {sorted(logs)}); skipping the save at {where.lower()}.", stacklevel=3)
            return False
        current = float(current)
        better = is_improvement(self._direction, 0.0, current, self.best)
        if self.verbose > 0:
            best = "None" if self.best is None else f"{self.best:.5f}"
            print(f"\n{where}: {self.monitor} " + (f"improved from {best} to {current:.5f}, saving the model to "
                                                   f"{self.directory}" if better else f"did not improve from {best}"),
                  flush=True)
        if better:
            self.best = current
        return better

    def _save(self, step: int, where: str, logs) -> None:
        if self.save_best_only:
            if not self._improved(where, logs):
                return
        elif self.verbose > 0:
            print(f"\n{where}: saving the model to {self.directory} (step {step})", flush=True)
        if self._manager is None:  # saved outside fit (a hook called by hand)
            self._manager = orbax_steps.manager(self.directory, self.max_to_keep, self.save_on_background)
        config, tree = checkpoint_items(self.model, weights_only=self.save_weights_only)
        orbax_steps.save(self._manager, step, config, tree)
