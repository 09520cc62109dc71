"""Keras masks in the compiled step: the model's output mask, masked losses and metric weights.

A model whose output carries a Keras mask (``Embedding(mask_zero=True)`` or ``Masking``
upstream, passed on by the layers in between) gives the step ``(y_pred, output_mask)``;
masked timesteps then count neither in the loss nor in the metrics that support masks,
exactly as Keras's ``Loss.__call__`` and ``MeanMetricWrapper`` do (``apply_mask``): the
loss is ``sum(loss * sample_weight * mask) / sum(mask)``, summed over the whole batch.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

__all__ = ["call_module", "mask_list", "masked_loss", "metric_weight"]


def call_module(module, x, training: bool):
    """``(y_pred, output_mask)`` of a module: its ``call_with_mask`` (highlevel layers), else
    ``(module(x), None)`` for any other ``nnx`` module.

    Args:
      module: the model (inside the step: its merged copy).
      x: the batch's inputs.
      training: the step's training flag.

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((3,), dtype="int32"), hl.layers.Embedding(4, 2, mask_zero=True)])
    >>> _, mask = call_module(model, np.array([[1, 0, 2]]), False)
    >>> mask.tolist()
    [[True, False, True]]
    """
    call = getattr(module, "call_with_mask", None)
    if call is None:
        return module(x, training=training), None
    return call(x, training=training)


def mask_list(output_mask, names: list[str]) -> list:
    """The output mask(s) as a list in the order of ``names`` (None entries for unmasked outputs).

    Args:
      output_mask: None, one mask (one output), or a list/dict of masks (several outputs).
      names: the model's output names.

    >>> mask_list(None, ["a", "b"])
    [None, None]
    """
    if output_mask is None:
        return [None] * len(names)
    if isinstance(output_mask, dict):
        return [output_mask.get(n) for n in names]
    if isinstance(output_mask, (list, tuple)):
        masks = list(output_mask)
        return masks + [None] * (len(names) - len(masks)) if len(masks) <= len(names) else masks[:len(names)]
    return [output_mask] + [None] * (len(names) - 1)


def _align(values, mask, what: str):
    """Per-entry losses or metric values shaped as the mask (extra trailing axes averaged)."""
    values = jnp.asarray(values, jnp.float32)
    if values.ndim > mask.ndim and values.shape[:mask.ndim] == mask.shape:
        values = jnp.mean(values.reshape(mask.shape + (-1,)), axis=-1)
    if values.shape != mask.shape:
        raise ValueError(f"Output '{what}' carries a mask of shape {tuple(mask.shape)}, but its loss gives values "
                         f"of shape {tuple(values.shape)}; a masked output needs a loss that keeps the masked "
                         "axes (e.g. one value per timestep): use such a loss, or stop the mask (a layer "
                         "without supports_masking) before the output.")
    return values


def _expand(w, mask, what: str = "output"):
    """Weights ``(batch,)`` or ``(batch, timesteps)`` shaped as the mask (Keras multiplies the two)."""
    while w.ndim > mask.ndim and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim > mask.ndim or tuple(mask.shape[:w.ndim]) != tuple(w.shape):
        raise ValueError(f"sample_weight of output '{what}' has shape {tuple(w.shape)} (batch first), which does not "
                         f"fit the output's mask of shape {tuple(mask.shape)}: pass one weight per sample, or one per "
                         "timestep, (samples, timesteps).")
    return jnp.reshape(w, w.shape + (1,) * (mask.ndim - w.ndim))


def masked_loss(values, output_mask, sample_weight, row_mask, what: str = "output"):
    """Keras's masked reduction: ``sum(values * sample_weight * mask) / sum(mask)`` (0 if no entry).

    Args:
      values: the loss's per-entry values, ``(batch, timesteps, ...)``.
      output_mask: the boolean mask, ``(batch, timesteps)``.
      sample_weight: the weights, ``(batch,)`` or per timestep ``(batch, timesteps)`` (padding rows 0).
      row_mask: 1 for real rows, 0 for the rows that pad the last batch.
      what: the output's name, for errors.

    >>> import jax.numpy as jnp
    >>> float(masked_loss(jnp.array([[1.0, 3.0]]), jnp.array([[True, False]]), jnp.ones(1), jnp.ones(1)))
    1.0
    """
    mask = jnp.asarray(output_mask).astype(bool)
    values = _align(values, mask, what)
    real = mask & (_expand(jnp.asarray(row_mask), mask) > 0)
    weight = jnp.where(real, _expand(jnp.asarray(sample_weight, jnp.float32), mask, what), 0.0)
    valid = jnp.sum(real.astype(jnp.float32))
    total = jnp.sum(jnp.where(weight != 0, values * weight, 0.0))   # a masked NaN counts as 0
    return jnp.where(valid > 0, total / jnp.maximum(valid, 1.0), 0.0)


def metric_weight(metric, sample_weight, output_mask) -> Any:
    """The weight a metric gets: ``sample_weight`` times the output mask for metrics that support
    masks (``metric.supports_masking``, Keras's mean metrics), else ``sample_weight``.

    Args:
      metric: the compiled metric.
      sample_weight: weights ``(batch,)`` or ``(batch, timesteps)`` (padding rows 0).
      output_mask: the output's mask ``(batch, timesteps)``, or None.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> metric_weight(hl.metrics.get("mae"), jnp.ones(2), jnp.array([[True, False], [True, True]])).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    if output_mask is None or not getattr(metric, "supports_masking", False):
        return sample_weight
    mask = jnp.asarray(output_mask)
    return _expand(jnp.asarray(sample_weight, jnp.float32), mask) * mask.astype(jnp.float32)
