"""Single-head attention layers: Attention (Luong, dot-product) and AdditiveAttention (Bahdanau).

Keras's arguments, weights and numbers. Both are called on a list ``[query, value]`` or
``[query, value, key]`` with an optional ``mask=[query_mask, value_mask]``: masked value
steps get no attention, masked query steps a zero output. The dropout on the attention
distribution (training only) is an array in the train state (a ``Dropout`` sublayer's
rate), so a callback changes it without recompiling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.regularization import Dropout

__all__ = ["Attention", "AdditiveAttention"]


def _inputs(layer: Layer, inputs, mask=None):
    kind = type(layer).__name__
    if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
        raise ValueError(f"{kind} layer '{layer.name}' must be called on a list [query, value] or "
                         f"[query, value, key], got {type(inputs).__name__}.")
    if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
        raise ValueError(f"{kind} layer '{layer.name}' takes mask=[query_mask, value_mask] (a list of two), "
                         f"got {mask!r}.")
    q, v = inputs[0], inputs[1]
    k = inputs[2] if len(inputs) > 2 else v
    q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (None, None)
    return q, v, k, q_mask, v_mask


class _BaseDenseAttention(Layer):
    """Abstract: the masking, softmax, dropout and weighting Attention and AdditiveAttention share."""

    supports_masking = True

    def _init_dropout(self, dropout, seed) -> None:
        if not isinstance(dropout, (int, float, np.floating)) or not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__} `dropout` must be a float in [0, 1), got {dropout!r}.")
        self.seed = seed
        self._has_dropout = float(dropout) > 0.0
        self.dropout_layer = Dropout(float(dropout), seed=seed, name=f"{self.name}_dropout", dtype=self.dtype_policy)
        self.dropout_layer.maybe_build(None)   # no weights; built now, never inside a trace

    @property
    def dropout(self) -> float:
        """The dropout rate on the attention distribution, as a Python float."""
        return self.dropout_layer.rate

    @dropout.setter
    def dropout(self, value: float) -> None:
        self.dropout_layer.rate = value

    def _scores(self, query, key):
        raise NotImplementedError

    def _check_input_shape(self, inputs) -> None:
        return None

    def call(self, inputs, mask=None, training: bool = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        q, v, k, q_mask, v_mask = _inputs(self, inputs, mask)
        scores = self._scores(q, k)
        scores_mask = None
        if v_mask is not None:
            scores_mask = jnp.expand_dims(jnp.asarray(v_mask).astype(bool), -2)   # (B, 1, Tv)
        if use_causal_mask:
            tq, tv = scores.shape[-2], scores.shape[-1]
            causal = jnp.asarray((np.arange(tq)[:, None] >= np.arange(tv)[None, :])[None])
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(scores_mask, scores, scores - big)
        weights = jax.nn.softmax(scores, axis=-1)
        applied = self.dropout_layer(weights, training=training) if self._has_dropout else weights
        output = jnp.matmul(applied, v)
        if q_mask is not None:
            output = jnp.where(jnp.asarray(q_mask).astype(bool)[..., None], output, jnp.zeros((), output.dtype))
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        """The query's mask."""
        return None if mask is None else mask[0]

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout, "seed": self.seed}


@register_layer
class Attention(_BaseDenseAttention):
    """Dot-product (Luong-style) attention: ``softmax(query @ key^T) @ value``, as ``keras.layers.Attention``.

    Args:
      use_scale: learn a scalar ``scale`` that multiplies the scores (with ``score_mode="concat"``,
        the inputs of the tanh).
      score_mode: ``"dot"`` (``query @ key^T``) or ``"concat"``
        (``concat_score_weight * sum(tanh(query + key))``).
      dropout: the fraction of the attention distribution dropped in training.
      seed: folded into the step's random key for the dropout.

    Call on ``[query (batch, Tq, dim), value (batch, Tv, dim)]`` (plus an optional ``key``
    like the value) with ``mask=[query_mask, value_mask]``, ``return_attention_scores``,
    ``use_causal_mask`` and ``training``. Output ``(batch, Tq, dim)`` (and the scores
    ``(batch, Tq, Tv)``). Weights: ``scale ()`` with ``use_scale``, ``concat_score_weight ()``
    with ``score_mode="concat"``.

    >>> import highlevel as hl, numpy as np
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> hl.layers.Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention `score_mode` must be 'dot' or 'concat', got {score_mode!r}.")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self._init_dropout(dropout, seed)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or not 2 <= len(input_shape) <= 3:
            raise ValueError(f"Attention layer '{self.name}' must be called on a list [query, value] or "
                             f"[query, value, key], got inputs of shape {input_shape!r}.")
        if self.use_scale:
            self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), "ones")

    def _scores(self, query, key):
        scale = self.scale.get_value() if self.use_scale else None
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores if scale is None else scores * scale
        summed = jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3)
        if scale is not None:
            summed = scale * summed
        return self.concat_score_weight.get_value() * jnp.sum(jnp.tanh(summed), axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode}


@register_layer
class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau-style) attention: ``softmax(sum(scale * tanh(query + key))) @ value``.

    Args:
      use_scale: learn a per-feature ``scale`` (else the sum is unscaled).
      dropout: the fraction of the attention distribution dropped in training.
      seed: folded into the step's random key for the dropout.

    Called as ``Attention``. Weights: ``scale (dim,)`` with ``use_scale`` (Keras's
    glorot-uniform initialization).

    >>> import highlevel as hl, numpy as np
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> out, scores = hl.layers.AdditiveAttention()([q, v], return_attention_scores=True)
    >>> out.shape, scores.shape
    ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self._init_dropout(dropout, seed)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or not 2 <= len(input_shape) <= 3:
            raise ValueError(f"AdditiveAttention layer '{self.name}' must be called on a list [query, value] or "
                             f"[query, value, key], got inputs of shape {input_shape!r}.")
        dim = input_shape[0][-1]
        if dim is None:
            raise ValueError(f"AdditiveAttention layer '{self.name}' needs a known query dimension, got "
                             f"{format_shape(tuple(input_shape[0]))}.")
        if self.use_scale:
            self.add_weight("scale", (dim,), "glorot_uniform")

    def _scores(self, query, key):
        summed = jnp.tanh(jnp.expand_dims(query, -2) + jnp.expand_dims(key, -3))
        if self.use_scale:
            summed = jnp.reshape(self.scale.get_value(), (1,) * (summed.ndim - 1) + (-1,)) * summed
        return jnp.sum(summed, axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}
