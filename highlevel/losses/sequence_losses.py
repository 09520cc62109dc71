"""Sequence losses: connectionist temporal classification (CTC)."""

from __future__ import annotations

import jax.numpy as jnp
import optax

from highlevel.losses.base import _float, _FunctionLoss

__all__ = ["CTC", "ctc"]


def ctc(y_true, y_pred):
    """The CTC loss of each sequence of logits against its label sequence (blank: class 0).

    As ``keras.losses.ctc``: labels are integers left-aligned and padded with 0 (so a
    sequence's length is its number of nonzero labels), every time step of ``y_pred`` counts,
    and class 0 of the logits is the blank. Computed by ``optax.ctc_loss``.

    Args:
        y_true: Integer labels, shape ``[B, N]``, 0 as padding.
        y_pred: Logits (not probabilities), shape ``[B, T, C]``.

    Returns:
        Per-sequence negative log-likelihoods, shape ``[B]``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> hl.losses.ctc(jnp.array([[1]]), jnp.zeros((1, 1, 2)))   # one path of probability 1/2
    Array([0.69314...], dtype=float32)
    """
    y_true, y_pred = jnp.asarray(y_true), _float(y_pred)
    if y_true.ndim != 2:
        raise ValueError(f"ctc: y_true must be integer labels of shape (batch, max_length), got "
                         f"y_true.shape={y_true.shape}; pad each sequence with 0 to one length.")
    if y_pred.ndim != 3:
        raise ValueError(f"ctc: y_pred must be logits of shape (batch, time, classes), got "
                         f"y_pred.shape={y_pred.shape}.")
    labels = y_true.astype(jnp.int32)
    lengths = jnp.sum(labels != 0, axis=-1)
    label_paddings = (jnp.arange(labels.shape[1])[None, :] >= lengths[:, None]).astype(y_pred.dtype)
    logit_paddings = jnp.zeros(y_pred.shape[:2], y_pred.dtype)
    return optax.ctc_loss(y_pred, logit_paddings, labels, label_paddings, blank_id=0)


class CTC(_FunctionLoss):
    """The CTC loss (see :func:`ctc`): ``[B, N]`` labels padded with 0 against ``[B, T, C]`` logits.

    Args:
        reduction: How ``__call__`` reduces the per-sequence losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"ctc"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> float(hl.losses.CTC()(jnp.array([[1]]), jnp.zeros((1, 1, 2))))
    0.6931...
    """

    _fn = staticmethod(ctc)
    default_name = "ctc"
