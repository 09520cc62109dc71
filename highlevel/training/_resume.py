"""Exact resumption: the train state, the layers' hyperparameters and where the next step
starts, copied to the host (``Trainer.snapshot``) and back (``Trainer.restore``), so that a
restored ``fit`` continues bit for bit as if never interrupted.

``Trainer`` (``training/trainer.py``) keeps the public methods of the seam; this module holds
the work behind them.
"""

from __future__ import annotations

import jax
import numpy as np

from highlevel import distribute as _distribute
from highlevel.training.seam import Snapshot


def _signature(arrays) -> list[list]:
    return [[list(np.shape(a)), str(np.dtype(a.dtype))] for a in arrays]


def snapshot(trainer) -> Snapshot:
    """The body of ``Trainer.snapshot``."""
    state = trainer.state
    state = state.replace(rng=jax.random.key_data(state.rng))
    leaves = [np.asarray(a) for a in _distribute.to_host(jax.tree_util.tree_leaves(state))]
    epoch, step = (trainer.epoch + 1, 0) if trainer._epoch_finished else (trainer.epoch, trainer.steps_done)
    state_after = getattr(trainer._fit_adapter, "state_after", None)  # a Grain iterator's position
    return Snapshot(leaves=leaves, hyper=trainer._hyper_values(), epoch=int(epoch), step=int(step),
                    seed=int(trainer.program.seed),
                    data_state=state_after(epoch, step) if step and state_after else None)


def snapshot_signature(trainer) -> dict[str, list]:
    """The body of ``Trainer.snapshot_signature``."""
    state = trainer.state
    state = state.replace(rng=jax.ShapeDtypeStruct(jax.random.key_data(state.rng).shape, np.uint32))
    return {"state": _signature(jax.tree_util.tree_leaves(state)),
            "hyper": _signature([v.get_value() for v in trainer.program.hyper_variables()])}


def restore(trainer, snapshot: Snapshot) -> None:
    """The body of ``Trainer.restore``."""
    template = trainer.state
    template = template.replace(rng=jax.random.key_data(template.rng))
    current, treedef = jax.tree_util.tree_flatten(template)
    saved = snapshot.leaves
    if len(saved) != len(current) or any(np.shape(a) != np.shape(b) for a, b in zip(saved, current)):
        raise ValueError("The backup does not fit this model and optimizer: it was written by a "
                         "different configuration. Delete the backup directory to start afresh.")
    variables = trainer.program.hyper_variables()
    if snapshot.hyper is not None:
        now = [v.get_value() for v in variables]
        if len(snapshot.hyper) != len(now) or any(np.shape(a) != np.shape(b) for a, b in zip(snapshot.hyper, now)):
            raise ValueError("The backup does not fit this model: its layer hyperparameters differ. "
                             "Delete the backup directory to start afresh.")
        for var, value, old in zip(variables, snapshot.hyper, now):
            var.set_value(jax.device_put(np.asarray(value, dtype=old.dtype)))
    leaves = [jax.device_put(np.asarray(a, dtype=b.dtype)) for a, b in zip(saved, current)]
    state = jax.tree_util.tree_unflatten(treedef, leaves)
    trainer.program.load_state(state.replace(rng=jax.random.wrap_key_data(state.rng)))
    trainer.program.seed = int(snapshot.seed)
    if trainer._fit_adapter is not None:
        trainer._fit_adapter.seed = trainer.program.seed
        if hasattr(trainer._fit_adapter, "set_state"):
            trainer._fit_adapter.set_state(snapshot.data_state)
    trainer._resume = (int(snapshot.epoch), int(snapshot.step))
