"""``Model.compute_loss`` and ``Model.compute_metrics``'s default implementations (Keras 3's).

Inside the compiled step the trainer offers the compiled loss and metrics through the call
context (``training/custom_steps.py``); outside it (a direct call) the compiled loss comes
from the model's trainer.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import current_context

__all__ = ["default_compute_loss", "default_compute_metrics"]


def default_compute_loss(model, x, y, y_pred, sample_weight, training):
    """The compiled losses of ``(y, y_pred)`` plus ``model.losses`` (Keras's ``compute_loss``).

    Args:
      model: the model.
      x, y, y_pred, sample_weight, training: ``compute_loss``'s arguments.
    """
    ctx = current_context()
    compiled = None if ctx is None else ctx.extras.get("compiled_loss")
    if compiled is not None:
        total = compiled(y, y_pred, sample_weight)
    else:
        total = _compiled_loss_outside_step(model, x, y, y_pred, sample_weight)
    for loss in model.losses:
        total = total + jnp.asarray(loss, jnp.float32)
    return total


def _compiled_loss_outside_step(model, x, y, y_pred, sample_weight):
    trainer = model.trainer
    if not trainer.compiled:
        raise RuntimeError("compute_loss needs the compiled loss: call model.compile(optimizer=..., loss=...) "
                           "first.")
    program = trainer.program
    if program.builder is None:
        trainer.initialize(x)
    if y_pred is None:
        y_pred = model(x)
    batch = int(jax.tree_util.tree_leaves(y_pred)[0].shape[0])
    rows = jnp.ones((batch,), jnp.float32)
    weight = rows if sample_weight is None else jnp.asarray(np.asarray(sample_weight, np.float32))
    return program.builder.compute_losses(y, y_pred, weight, rows)[0]


def default_compute_metrics(model, x, y, y_pred, sample_weight):
    """Updates the compiled metrics inside the compiled step (Keras's ``compute_metrics``); ``{}``.

    Args:
      model: the model.
      x, y, y_pred, sample_weight: ``compute_metrics``'s arguments.
    """
    ctx = current_context()
    update = None if ctx is None else ctx.extras.get("compiled_metrics")
    if update is None:
        raise RuntimeError(f"{type(model).__name__}.compute_metrics updates the compiled metrics inside fit and "
                           "evaluate's compiled step; outside it, call model.evaluate(x, y) instead.")
    update(y, y_pred, sample_weight)
    return {}
