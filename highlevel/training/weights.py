"""Sample weights as Keras 3 takes them: per sample, per timestep, or one per output.

``fit``/``evaluate``/``train_on_batch`` accept as ``sample_weight``:

* one array ``(samples,)`` (or ``(samples, 1)``): each sample's loss weighted, for every
  output alike;
* one array shaped as the leading axes of the loss's values, e.g. ``(samples, timesteps)``
  for a sequence output ``(samples, timesteps, classes)``: each timestep weighted;
* a list (in output order) or a dict (by output name) of such arrays, one per output; an
  output left out of the dict, or given None, is weighted 1.

The data adapters multiply the weights by the padding mask of a last partial batch
(``weight_rows``); inside the step ``output_weights`` hands each output its weights and
``weighted_mean`` reduces a loss with them as Keras's ``"sum_over_batch_size"`` does:
``sum(loss * weight) / (number of entries)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["standardize", "is_per_output", "combine", "weight_rows", "pad_rows", "spec", "output_weights",
           "align", "weighted_mean"]


def _is_array(w) -> bool:
    return isinstance(w, (np.ndarray, jax.Array)) or (hasattr(w, "__array__") and hasattr(w, "shape"))


def is_per_output(sample_weight) -> bool:
    """True for a dict, or a list/tuple of arrays (or None): one weight array per output.

    A list of numbers (NumPy scalars included) is one array of weights, as Keras reads it.

    >>> is_per_output([np.ones(3), None]), is_per_output([0.5, 1.0]), is_per_output(list(np.ones(3)))
    (True, False, False)
    """
    if isinstance(sample_weight, dict):
        return True
    return (isinstance(sample_weight, (list, tuple)) and bool(sample_weight)
            and all(w is None or (_is_array(w) and np.ndim(w) >= 1) for w in sample_weight))


def _one(w, what: str):
    if w is None:
        return None
    arr = np.asarray(w)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{what} must hold numbers, got an array of dtype {arr.dtype}: pass one array of "
                        "weights, or a list or dict of them with one array per output.")
    if arr.ndim == 0:
        raise ValueError(f"{what} must have one weight per sample (shape (samples,)), got a scalar; use "
                         "np.full(len(y), weight) to weight every sample alike.")
    arr = arr.astype(np.float32, copy=arr.dtype != np.float32)
    if arr.ndim == 2 and arr.shape[1] == 1:   # (samples, 1): one weight per sample, as Keras reads it
        arr = arr[:, 0]
    return arr


def standardize(sample_weight, what: str = "sample_weight"):
    """``sample_weight`` as float32 NumPy arrays in the same structure (None entries kept).

    >>> standardize({"a": [1, 2], "b": None})
    {'a': array([1., 2.], dtype=float32), 'b': None}
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, dict):
        return {k: _one(v, f"{what}[{k!r}]") for k, v in sample_weight.items()}
    if is_per_output(sample_weight):
        return [_one(v, f"{what}[{i}]") for i, v in enumerate(sample_weight)]
    return _one(sample_weight, what)


def _expand(a, ndim: int):
    """``a`` with trailing axes of 1 up to ``ndim`` axes (NumPy or JAX)."""
    return a.reshape(tuple(a.shape) + (1,) * (ndim - a.ndim)) if a.ndim < ndim else a


def combine(sample_weight, per_row):
    """Weights times per-row factors (class weights), or the factors alone when there are no weights."""
    if per_row is None:
        return sample_weight
    if sample_weight is None:
        return per_row
    return jax.tree_util.tree_map(lambda w: w * _expand(per_row, w.ndim), sample_weight)


def weight_rows(sample_weight, mask):
    """The batch's weights with the padding rows zeroed (``mask``: 1 for real rows); the mask
    itself when there are no weights. Works on NumPy and JAX arrays alike.

    >>> weight_rows([np.ones((2, 3), np.float32), None], np.array([1.0, 0.0], np.float32))[0].tolist()
    [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    if sample_weight is None:
        return mask
    return jax.tree_util.tree_map(lambda w: w * _expand(mask, w.ndim), sample_weight)


def pad_rows(sample_weight, pad: int):
    """The weights with ``pad`` rows of zero appended."""
    if sample_weight is None or not pad:
        return sample_weight
    return jax.tree_util.tree_map(
        lambda w: np.concatenate([w, np.zeros((pad,) + w.shape[1:], np.float32)]), sample_weight)


def spec(sample_weight, batch_size: int):
    """The ``jax.ShapeDtypeStruct``\\ s of one batch's weights (one per row when there are none)."""
    if sample_weight is None:
        return jax.ShapeDtypeStruct((batch_size,), np.float32)
    return jax.tree_util.tree_map(
        lambda w: jax.ShapeDtypeStruct((batch_size,) + tuple(np.shape(w)[1:]), np.float32), sample_weight)


def output_weights(sample_weight, mask, names: list[str]) -> list:
    """Each output's weights (in the order of ``names``): one array for all outputs, or the
    entry of a list/dict per output; an output without an entry gets ``mask`` (weight 1 on
    the real rows).

    >>> [w.tolist() for w in output_weights({"b": np.zeros(2)}, np.ones(2), ["a", "b"])]
    [[1.0, 1.0], [0.0, 0.0]]
    """
    if sample_weight is None:
        return [mask] * len(names)
    if isinstance(sample_weight, dict):
        unknown = sorted(set(sample_weight) - set(names), key=str)
        if unknown:
            raise ValueError(f"sample_weight is a dict with the keys {unknown}, which are not outputs of the model "
                             f"(its outputs: {', '.join(names)}); key it by output name.")
        per_output = [sample_weight.get(n) for n in names]
    elif isinstance(sample_weight, (list, tuple)):
        if len(sample_weight) != len(names):
            raise ValueError(f"sample_weight holds {len(sample_weight)} array{'s' if len(sample_weight) != 1 else ''} but the model has "
                             f"{len(names)} outputs ({', '.join(names)}); pass one array per output (None for an "
                             "unweighted one), or a dict by output name.")
        per_output = list(sample_weight)
    else:
        per_output = [sample_weight] * len(names)
    return [mask if w is None else w for w in per_output]


def align(values, weight, what: str):
    """``(values, weight)`` of the same shape, as Keras's ``squeeze_or_expand_to_same_rank``:
    trailing axes of 1 of the weight dropped, the values' axes past the weight's averaged.

    Args:
      values: the loss's (or metric's) values, batch axis first.
      weight: the output's weights, ``(batch,)`` or ``(batch, timesteps, ...)``.
      what: the output's name, for errors.
    """
    values = jnp.asarray(values, jnp.float32)
    weight = jnp.asarray(weight, jnp.float32)
    if values.ndim == 0:
        values = jnp.broadcast_to(values, weight.shape)
    while weight.ndim > values.ndim and weight.shape[-1] == 1:
        weight = weight.reshape(weight.shape[:-1])
    if weight.ndim > values.ndim or tuple(values.shape[:weight.ndim]) != tuple(weight.shape):
        raise ValueError(f"sample_weight of output '{what}' has shape {tuple(weight.shape)} (batch first), but its "
                         f"loss gives values of shape {tuple(values.shape)}: pass one weight per sample, or one per "
                         "entry of the loss's leading axes (e.g. (samples, timesteps) for a sequence output).")
    if values.ndim > weight.ndim:
        values = jnp.mean(values.reshape(tuple(weight.shape) + (-1,)), axis=-1)
    return values, weight


def weighted_mean(values, weight, rows, what: str = "output"):
    """Keras's ``"sum_over_batch_size"`` reduction with weights: ``sum(values * weight)`` over the
    number of entries of the real rows (``rows`` of them; padding rows have weight 0).

    >>> float(weighted_mean(jnp.array([[1.0, 3.0], [5.0, 7.0]]), jnp.array([[1.0, 0.0], [1.0, 1.0]]), 2.0))
    3.25
    """
    values, weight = align(values, weight, what)
    entries = rows * math.prod(weight.shape[1:])
    return jnp.sum(values * weight) / entries
