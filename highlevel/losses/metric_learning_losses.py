"""Metric-learning losses over a batch of embeddings: Circle."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.losses.base import _float, _FunctionLoss, reduce_weighted_values

__all__ = ["Circle", "circle"]


def _labels_column(labels):
    labels = jnp.asarray(labels).astype(jnp.int32)
    return labels.reshape(-1, 1) if labels.ndim == 1 else labels


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal: bool = True,
           gamma: float = 80.0, margin: float = 0.4):
    """The circle loss of each query embedding against reference embeddings (Sun et al., 2020).

    As ``keras.losses.circle``: pairs with equal labels are positives (the query itself
    excepted when ``remove_diagonal``), the rest negatives; distances are ``1 - cosine``
    similarity of the embeddings, which should be L2-normalized.

    Args:
        y_true: Integer labels of the queries, shape ``[B]``.
        y_pred: Query embeddings, shape ``[B, D]``.
        ref_labels: Labels of the references, shape ``[N]`` (default: ``y_true``).
        ref_embeddings: Reference embeddings, shape ``[N, D]`` (default: ``y_pred``).
        remove_diagonal: Whether a query is not its own positive (for ``y_pred`` as references).
        gamma: The scale of the similarities.
        margin: The relaxation margin.

    Returns:
        Per-query losses, shape ``[B]`` (0 for a query with no positive or no negative).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> e = jnp.array([[1., 0.], [1., 0.], [0., 1.]])
    >>> hl.losses.circle(jnp.array([0, 0, 1]), e, gamma=1.0)
    Array([0.54589..., 0.54589..., 0.     ...], dtype=float32)
    """
    return _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)


def _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin, ref_valid=None):
    y_pred = _float(y_pred)
    ref_embeddings = y_pred if ref_embeddings is None else _float(ref_embeddings)
    query = _labels_column(y_true)
    keys = query if ref_labels is None else _labels_column(ref_labels)
    distances = jnp.maximum(1.0 - y_pred @ ref_embeddings.T, 0.0)
    positive = query == keys.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(query.size, keys.size, dtype=bool)
    if ref_valid is not None:   # padding rows pair with nothing
        positive, negative = positive & ref_valid[None, :], negative & ref_valid[None, :]
    pos_weights = jnp.maximum((margin + distances) * positive, 0.0)
    neg_weights = jnp.maximum((1.0 + margin - distances) * negative, 0.0)
    pos = -gamma * pos_weights * (margin - distances)
    neg = gamma * neg_weights * ((1.0 - margin) - distances)
    p_loss = jax.nn.logsumexp(jnp.where(positive, pos, -jnp.inf), axis=1)
    n_loss = jax.nn.logsumexp(jnp.where(negative, neg, -jnp.inf), axis=1)
    return jax.nn.softplus(p_loss + n_loss)


class Circle(_FunctionLoss):
    """The circle loss over the batch's embeddings (see :func:`circle`).

    As Keras, queries whose loss is 0 (no positive or no negative in the batch) count
    neither in the sum nor in the ``"sum_over_batch_size"`` denominator.

    Args:
        gamma: The scale of the similarities.
        margin: The relaxation margin.
        remove_diagonal: Whether a query is not its own positive.
        reduction: How ``__call__`` reduces the per-query losses: ``"sum_over_batch_size"``
            (default), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` or ``None``.
        name: The name shown in configs and logs (default: Keras's, ``"circle"``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> e = jnp.array([[1., 0.], [1., 0.], [0., 1.]])
    >>> float(hl.losses.Circle(gamma=1.0)(jnp.array([0, 0, 1]), e))
    0.5458...
    """

    _fn = staticmethod(circle)
    default_name = "circle"

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.gamma, self.margin = float(gamma), float(margin)
        self.remove_diagonal = bool(remove_diagonal)

    def _fn_kwargs(self):
        return {"gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss over the queries with a positive loss.

        Args:
            y_true: Integer labels, shape ``[B]``.
            y_pred: Embeddings, shape ``[B, D]``.
            sample_weight: Optional ``[B]`` weights.
            mask: Optional ``[B]`` booleans, combined with the positive-loss mask.
        """
        values = self.call(y_true, y_pred)
        positive = values > 0
        mask = positive if mask is None else positive & jnp.asarray(mask, bool).reshape(positive.shape)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def call_on_rows(self, y_true, y_pred, rows):
        """The per-query losses with padding rows out of every pair; the real queries with a loss count.

        Args:
            y_true: Integer labels, shape ``[B]``.
            y_pred: Embeddings, shape ``[B, D]``.
            rows: ``[B]`` floats, 1 for a real row and 0 for padding.
        """
        real = jnp.asarray(rows) > 0
        values = _circle(y_true, y_pred, None, None, self.remove_diagonal, self.gamma, self.margin,
                         ref_valid=real)
        return values, (values > 0) & real
