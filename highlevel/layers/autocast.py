"""Weights of mixed-precision layers: float32 ``nnx.Param``\\ s read in the compute dtype.

Under a mixed policy (``"mixed_bfloat16"``, ``"mixed_float16"``) a layer keeps its weights
in float32 and computes in bfloat16 or float16; the layer's ``__call__`` opens an autocast
scope (``hl.mixed_precision.autocast_scope``) in which these weights read as the compute
dtype. Outside it (``get_weights``, saving, the optimizer) they are float32 as stored.
"""

from __future__ import annotations

from highlevel.layers.variables import Weight
from highlevel.mixed_precision import autocast as _autocast_value

__all__ = ["AutocastParam"]


class AutocastParam(Weight):
    """A trainable ``Weight`` (an ``nnx.Param``) that reads as the compute dtype inside a mixed-precision layer's call.

    ``add_weight`` makes one for a floating weight of a layer whose policy is mixed; it is an
    ``nnx.Param`` in every other respect (filters, splitting, optimizers).

    Args:
        value: The weight's (float32) array.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> w = AutocastParam(jnp.ones(2))
    >>> with hl.mixed_precision.autocast_scope("bfloat16"):
    ...     inside = w.get_value().dtype
    >>> inside, w.get_value().dtype
    (dtype(bfloat16), dtype('float32'))
    """

    def get_value(self, **kwargs):
        return _autocast_value(super().get_value(**kwargs))
