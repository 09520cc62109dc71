"""Activity regularization: penalties on a layer's output, added to the loss of the compiled step.

Any layer takes ``activity_regularizer=`` (as in Keras); ``ActivityRegularization`` is the
layer that only adds the penalty. The penalty of each call goes into the call context
(``call_context(...).losses``), which the trainer's forward pass adds to the loss, so it
is part of the one compiled step: nothing is read back to the host. As in Keras 3 the
penalty of an output is divided by its batch size; the padding rows of a last partial batch
are zeroed first and not counted, so the penalty is that of the real rows.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, current_context, register_layer, sample_mask

__all__ = ["ActivityRegularization", "add_activity_loss"]


def _real_rows(x, mask):
    if mask is None or not hasattr(x, "shape") or x.ndim == 0 or x.shape[0] != mask.shape[0]:
        return x
    return x * jnp.reshape(mask, (-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)


def add_activity_loss(regularizer: Any, outputs, layer: Any = None) -> None:
    """Adds ``regularizer(output) / batch_size`` of each floating output to the current call's losses (as Keras 3).

    Outside any call context (an eager call of a lone layer) there is no loss to add to,
    and nothing happens.

    Args:
        regularizer: a regularizer (``hl.regularizers``) or any callable ``x -> scalar``.
        outputs: a layer's output (an array, or a list/tuple/dict of them).
        layer: the layer the penalty belongs to (its ``losses``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> with hl.layers.call_context(training=True) as ctx:
    ...     add_activity_loss(hl.regularizers.L1(0.5), jnp.array([[1.0, -2.0]]))
    >>> float(ctx.activity_loss())   # 0.5 * (1 + 2) over a batch of 1
    1.5
    """
    ctx = current_context()
    if ctx is None:
        return
    mask = sample_mask()
    for out in jax.tree_util.tree_leaves(outputs):
        if not (hasattr(out, "dtype") and jnp.issubdtype(out.dtype, jnp.floating)):
            continue
        loss = jnp.asarray(regularizer(_real_rows(out, mask)), jnp.float32)
        if out.ndim > 0:
            # Keras 3 divides by the batch size (its real rows: the padding is not a sample).
            rows = out.shape[0] if mask is None or mask.shape[0] != out.shape[0] else jnp.sum(mask)
            loss = jnp.where(rows > 0, loss / jnp.maximum(jnp.asarray(rows, jnp.float32), 1.0), 0.0)
        ctx.losses.append((layer, loss))


@register_layer
class ActivityRegularization(Layer):
    """Passes its input through and adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of it to the loss.

    Args:
      l1: the L1 factor.
      l2: the L2 factor.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.ActivityRegularization(l1=0.01)(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization takes l1 and l2, not activity_regularizer.")
        for arg, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"ActivityRegularization {arg} must be a non-negative number, got {value!r}.")
        super().__init__(activity_regularizer=_regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
