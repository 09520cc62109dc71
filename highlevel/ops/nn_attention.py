"""Keras's ``keras.ops.nn`` attention: ``dot_product_attention`` over ``jax.nn.dot_product_attention``."""

from __future__ import annotations

import jax

__all__ = ["dot_product_attention"]


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over ``(batch, length, heads, dim)`` tensors (``jax.nn.dot_product_attention``).

    Args:
        query: Queries ``(batch, q_length, heads, dim)``.
        key: Keys ``(batch, kv_length, heads, dim)``.
        value: Values ``(batch, kv_length, heads, dim)``.
        bias: Added to the logits, or None.
        mask: Booleans: True where attention is allowed, or None.
        scale: The logits' scale (None: ``1/sqrt(dim)``).
        is_causal: Whether to apply a causal mask.
        flash_attention: Accepted for Keras compatibility; only None/False.
        attn_logits_soft_cap: Accepted for Keras compatibility; only None.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.dot_product_attention(np.ones((1, 2, 1, 2)), np.ones((1, 2, 1, 2)), np.arange(4.0).reshape(1, 2, 1, 2))
    Array([[[[1., 2.]],
    <BLANKLINE>
            [[1., 2.]]]], dtype=float32)
    """
    if flash_attention:
        raise ValueError("dot_product_attention(flash_attention=True) is not supported here; use the default.")
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention(attn_logits_soft_cap=...) is not supported here.")
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal)
