"""ReversibleEmbedding: an embedding that also projects hidden states back to vocabulary logits.

It extends ``Embedding`` (as Keras's does, so ``isinstance(layer, Embedding)`` holds and its
config is Embedding's plus three keys) rather than copying it: the forward call is Embedding's.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from highlevel.layers.base import register_layer
from highlevel.layers.core import Embedding

__all__ = ["ReversibleEmbedding"]


@register_layer
class ReversibleEmbedding(Embedding):
    """An ``Embedding`` that can also be called in reverse, as ``keras.layers.ReversibleEmbedding``.

    ``layer(ids)`` looks ids up as ``Embedding`` does. ``layer(hidden, reverse=True)``
    projects hidden states of size ``output_dim`` back to ``input_dim`` logits: with
    ``tie_weights=True`` (the default) by the transposed table, ``hidden @ embeddings.T``;
    otherwise by a separate trainable ``reverse_embeddings`` of shape
    ``(output_dim, input_dim)``. There is no bias. The reverse call carries no mask.

    Args:
      input_dim: the vocabulary size (largest id + 1).
      output_dim: the size of each vector.
      tie_weights: whether the reverse projection uses the embedding table itself (True)
        or its own weight ``reverse_embeddings`` (False).
      embeddings_initializer: initializer of the table, and of ``reverse_embeddings``
        (Keras's ``"uniform"``, ``RandomUniform(-0.05, 0.05)``, by default).
      embeddings_regularizer: a penalty on the table added to the loss.
      embeddings_constraint: a constraint (``hl.constraints``) applied to the table after
        each optimizer update.
      mask_zero: whether id 0 is padding (the forward output then carries ``ids != 0`` as
        its Keras mask).
      reverse_dtype: the dtype of the reverse projection (the hidden states and the kernel
        are cast to it, and the logits have it); None: the layer's compute dtype.
      logit_soft_cap: if set, reverse logits become ``tanh(logits / cap) * cap``, which
        keeps them in ``(-cap, cap)``.

    Forward: input ``(batch, ...)`` ids, output ``(batch, ..., output_dim)``. Reverse:
    input ``(batch, ..., output_dim)``, output ``(batch, ..., input_dim)``. Weights (Keras
    order): ``embeddings (input_dim, output_dim)``, then, untied,
    ``reverse_embeddings (output_dim, input_dim)``.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.ReversibleEmbedding(10, 4)
    >>> hidden = layer(np.array([[1, 2, 3]]))
    >>> hidden.shape, layer(hidden, reverse=True).shape
    ((1, 3, 4), (1, 3, 10))
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, reverse_dtype: Any = None,
                 logit_soft_cap: float | None = None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, mask_zero=mask_zero,
                         embeddings_constraint=embeddings_constraint, **kwargs)
        if logit_soft_cap is not None and (isinstance(logit_soft_cap, bool) or not isinstance(
                logit_soft_cap, (int, float)) or logit_soft_cap <= 0):
            raise ValueError(f"ReversibleEmbedding '{self.name}' logit_soft_cap must be a positive number "
                             f"or None, got {logit_soft_cap!r}.")
        if reverse_dtype is not None:
            try:
                jnp.dtype(reverse_dtype)
            except TypeError as err:
                raise ValueError(f"ReversibleEmbedding '{self.name}' reverse_dtype must be a dtype name such "
                                 f"as 'float32' or None, got {reverse_dtype!r}.") from err
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else jnp.dtype(reverse_dtype).name
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            init = self.embeddings_initializer
            if isinstance(init, str):
                init = self._INIT_ALIASES.get(init, init)
            self.add_weight(shape=(self.output_dim, self.input_dim), initializer=init,
                            name="reverse_embeddings")

    def call(self, inputs, reverse: bool = False):
        if not reverse:
            return super().call(inputs)
        hidden = jnp.asarray(inputs)
        if hidden.shape[-1:] != (self.output_dim,):
            raise ValueError(f"ReversibleEmbedding '{self.name}' called with reverse=True needs hidden states "
                             f"whose last axis is output_dim={self.output_dim}, got shape {tuple(hidden.shape)}.")
        if self.tie_weights:
            kernel = jnp.transpose(self.embeddings.get_value())
        else:
            kernel = self.reverse_embeddings.get_value()
        if self.reverse_dtype is not None:
            hidden = hidden.astype(self.reverse_dtype)
            kernel = kernel.astype(self.reverse_dtype)
        logits = jnp.matmul(hidden, kernel)
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def masked_call(self, inputs, *args, mask=None, reverse: bool = False, **kwargs):
        """``(call(...), output mask)``: Embedding's for a lookup; no mask for a reverse call.

        Args:
          inputs, *args, **kwargs: ``call``'s arguments.
          mask: the mask of ``inputs``, or None.
          reverse: whether this is a reverse (logits) call.

        >>> import highlevel as hl, numpy as np
        >>> layer = hl.layers.ReversibleEmbedding(5, 2, mask_zero=True)
        >>> layer.build((1, 2))
        >>> hidden, mask = layer.masked_call(np.array([[3, 0]]))
        >>> mask.tolist(), layer.masked_call(hidden, reverse=True)[1]
        ([[True, False]], None)
        """
        outputs, out_mask = super().masked_call(inputs, *args, mask=mask, reverse=reverse, **kwargs)
        return outputs, (None if reverse else out_mask)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
