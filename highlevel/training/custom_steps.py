"""What a model may change in the compiled step: ``compute_loss``/``compute_metrics`` overrides.

A model class that overrides Keras 3's ``compute_loss(x, y, y_pred, sample_weight, training)``
or ``compute_metrics(x, y, y_pred, sample_weight)`` has the override called inside the pure
train and eval steps (traced once, as the rest of the step). The default implementations
(``hl.Model``'s) reach the compiled loss and metrics through the call context's ``extras``
(``"compiled_loss"``, ``"compiled_metrics"``), which this module sets.
Weight constraints are applied by ``highlevel.training.constraints``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from highlevel.layers.base import call_context
from highlevel.utils.overrides import is_default

__all__ = ["overrides", "refuse_keras_steps", "total_loss", "metrics_after"]


def overrides(module, name: str) -> bool:
    """Whether ``module``'s class overrides the default ``name`` (``"compute_loss"``...).

    Args:
      module: the model (or its copy inside the step).
      name: the method's name.

    >>> import highlevel as hl
    >>> overrides(hl.Sequential(), "compute_loss")
    False
    """
    method = getattr(type(module), name, None)
    return method is not None and not is_default(method)


_KERAS_STEPS = {
    "train_step": "compute_loss (the loss) or an optimizer argument (the update)",
    "test_step": "compute_loss and compute_metrics",
    "predict_step": "call (or a Lambda/OpLayer after the outputs)",
    "make_train_function": "compute_loss",
    "make_test_function": "compute_loss and compute_metrics",
    "metrics": "nothing: pass metrics to compile(metrics=[...]), which logs them; trackers a model updates "
               "itself are not updated inside the compiled step",
}


def refuse_keras_steps(module) -> None:
    """Refuses a model class that defines Keras's ``train_step``/``test_step``/``predict_step``
    (or a ``metrics`` property listing its own trackers, which only a ``train_step`` updates).

    highlevel compiles its own steps and would never call them, so training would silently
    ignore the override; the sentence names what to override instead.

    >>> import highlevel as hl
    >>> class Custom(hl.Model):
    ...     def train_step(self, state, data):
    ...         return {}, state
    >>> inputs = hl.Input((1,))
    >>> refuse_keras_steps(Custom(inputs, inputs))
    Traceback (most recent call last):
    ...
    ValueError: Custom defines train_step, which highlevel never calls: it compiles its own steps. Override compute_loss (the loss) or an optimizer argument (the update) instead (see the guide 'Masks and custom models').
    """
    for name, instead in _KERAS_STEPS.items():
        hook = getattr(type(module), name, None)
        if isinstance(hook, property) and is_default(hook.fget):   # Model's own metrics (model.metrics)
            continue
        if callable(hook) or isinstance(hook, property):
            raise ValueError(f"{type(module).__name__} defines {name}, which highlevel never calls: it compiles "
                             f"its own steps. Override {instead} instead (see the guide 'Masks and custom models').")


def total_loss(builder, module, default_total, batch, y_pred, output_mask, added: list, training: bool):
    """The step's loss: ``default_total`` (compiled losses + ``model.losses``), or what the model's
    ``compute_loss`` override returns for the batch.

    Args:
      builder: the ``StepBuilder``.
      module: the model's copy in the step.
      default_total: the default loss, already computed.
      batch: ``(x, y, sample_weight, mask)``.
      y_pred, output_mask: the forward pass's outputs and their Keras mask.
      added: the forward pass's ``add_loss`` values, as ``(layer, value)`` pairs.
      training: True in the train step.
    """
    if not overrides(module, "compute_loss"):
        if training and not added and all(spec.loss is None for spec in builder.outputs):
            raise ValueError("The model was compiled without a loss and adds none (add_loss), so it cannot be "
                             "trained; pass loss=... to compile().")
        return default_total
    x, y, sample_weight, mask = batch

    def compiled_loss(y_true, pred, weight=None):
        weight = mask if weight is None else weight
        # The forward pass's mask belongs to its outputs; other predictions are unmasked.
        return builder.compute_losses(y_true, pred, weight, mask, output_mask if pred is y_pred else None)[0]

    with call_context(training=training, mask=mask) as ctx:
        ctx.losses.extend(added)   # so ``self.losses`` in the override sees the forward pass's
        ctx.extras["compiled_loss"] = compiled_loss
        value = module.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
    value = jnp.asarray(value, jnp.float32)
    if value.ndim:
        raise ValueError(f"{type(module).__name__}.compute_loss must return a scalar, got an array of shape "
                         f"{tuple(value.shape)}; reduce it (e.g. jnp.mean) before returning it.")
    return value


def metrics_after(builder, module, metrics_state, total, per_output, y_list, p_list, batch, y_pred,
                  output_mask) -> Any:
    """The metric accumulators after the batch: the loss trackers, then the compiled metrics by
    default or through the model's ``compute_metrics`` override."""
    x, y, sample_weight, mask = batch
    if not overrides(module, "compute_metrics"):
        return builder.update_metrics(metrics_state, total, per_output, y_list, p_list, sample_weight, mask,
                                      output_mask)
    from highlevel.training.step import flatten_outputs
    holder = [builder.update_loss_trackers(metrics_state, total, per_output, mask)]

    def compiled_metrics(y_true, pred, weight=None):
        weight = mask if weight is None else weight
        holder[0] = builder.update_compiled_metrics(
            holder[0], flatten_outputs(y_true, builder.output_names, "y"),
            flatten_outputs(pred, builder.output_names, "The model's output"), weight,
            output_mask if pred is y_pred else None, mask)

    with call_context(training=False, mask=mask) as ctx:
        ctx.extras["compiled_metrics"] = compiled_metrics
        module.compute_metrics(x, y, y_pred, sample_weight)
    return holder[0]
