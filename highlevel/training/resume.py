"""The Trainer's resumption (``BackupAndRestore``) and statistics passes (``PreciseBatchNorm``).

A mixin of ``Trainer``: it reads and writes the trainer's state, hyperparameters and
current ``fit`` adapter, and is kept apart only so that ``trainer.py`` stays the loop.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import jax
import numpy as np

from highlevel import distribute as _distribute
from highlevel.training.data import prefetch_to_device

__all__ = ["ResumeAndStatistics"]


class ResumeAndStatistics:
    """``snapshot``/``restore_snapshot`` (exact resumption) and ``run_statistics_pass``."""

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue this ``fit`` exactly: the whole train state as host
        arrays, where the next step starts (epoch, step in epoch) and the data-order seed."""
        state = self.state.replace(rng=jax.random.key_data(self.state.rng))
        leaves = [np.asarray(a) for a in _distribute.to_host(jax.tree_util.tree_leaves(state))]
        if self._epoch_finished:
            epoch, step = self.epoch + 1, 0
        else:
            epoch, step = self.epoch, self.steps_done
        return {"leaves": leaves, "hyper": self.hyperparameter_values(), "epoch": int(epoch),
                "step": int(step), "seed": int(self.seed)}

    def hyperparameter_values(self) -> list[np.ndarray]:
        """The layers' hyperparameters (dropout rates, momentum, frozen flags) as host arrays."""
        return [np.asarray(a) for a in _distribute.to_host([v.get_value() for v in self._hyper_vars])]

    def restore_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Restores a ``snapshot()`` at the start of ``fit``; the loop then continues where it was."""
        template = self.state.replace(rng=jax.random.key_data(self.state.rng))
        current, treedef = jax.tree_util.tree_flatten(template)
        saved = snapshot["leaves"]
        if len(saved) != len(current) or any(np.shape(a) != np.shape(b) for a, b in zip(saved, current)):
            raise ValueError("The backup does not fit this model and optimizer: it was written by a "
                             "different configuration. Delete the backup directory to start afresh.")
        leaves = [jax.device_put(np.asarray(a, dtype=b.dtype)) for a, b in zip(saved, current)]
        state = jax.tree_util.tree_unflatten(treedef, leaves)
        hyper = snapshot.get("hyper")
        if hyper is not None:
            now = self.hyperparameter_values()
            if len(hyper) != len(now) or any(np.shape(a) != np.shape(b) for a, b in zip(hyper, now)):
                raise ValueError("The backup does not fit this model: its layer hyperparameters differ. "
                                 "Delete the backup directory to start afresh.")
            for var, value, current in zip(self._hyper_vars, hyper, now):
                var.set_value(jax.device_put(np.asarray(value, dtype=current.dtype)))
        self.state = state.replace(rng=jax.random.wrap_key_data(state.rng))
        self.seed = int(snapshot["seed"])
        if getattr(self, "_fit_adapter", None) is not None:
            self._fit_adapter.seed = self.seed
        self._module_stale = True
        self.push_to_module()
        self._resume = (int(snapshot["epoch"]), int(snapshot["step"]))

    def training_batches(self, num_batches: int, epoch: int | None = None):
        """Up to ``num_batches`` single batches of the current ``fit``'s training data (on the host)."""
        adapter = getattr(self, "_fit_adapter", None)
        if adapter is None:
            raise RuntimeError("training_batches() is available only during fit().")
        epoch = self.epoch if epoch is None else epoch
        return itertools.islice(adapter.batches(epoch, k=1), num_batches)

    def run_statistics_pass(self, batches, before_batch: Callable[[int], None] | None = None) -> int:
        """Forward passes in training mode with the weights fixed: only the non-trainable state
        (batch-norm moving statistics) changes. ``before_batch(i)`` may change hyperparameters
        (e.g. a momentum) before batch ``i``. Returns the number of batches run."""
        if self._stats_fn is None:
            self._stats_fn = jax.jit(self.builder.statistics_step, donate_argnums=2)
        self.push_to_module()
        self.pull_from_module()
        rest = self.state.non_trainable
        key = jax.random.fold_in(self.state.rng, 0x5EED)  # the training key stream is untouched
        count = 0
        for i, batch in enumerate(prefetch_to_device(batches, put=self._put_batch())):
            if before_batch is not None:
                before_batch(i)
            rest = self._stats_fn(self.state.params, self._hyper(), rest, tuple(batch),
                                  jax.random.fold_in(key, i))
            count += 1
        self.state = self.state.replace(non_trainable=rest)
        self._module_stale = True
        self.push_to_module()
        return count
