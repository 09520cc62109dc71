"""Probabilistic metrics: the mean binary, categorical and sparse categorical crossentropy, KL
divergence and Poisson loss."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel import losses as _losses
from highlevel.metrics.base import _MeanOf, _squeeze_or_expand

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence",
           "Poisson"]


class BinaryCrossentropy(_MeanOf):
    """Mean binary crossentropy (see ``hl.losses.binary_crossentropy``).

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Squeezes labels towards 0.5 by this amount.
        name: The name in logs and configs (default ``"binary_crossentropy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.BinaryCrossentropy()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]])))
    0.916...
    """

    default_name, direction = "binary_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(name)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true), jnp.asarray(y_pred))
        return _losses.binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_MeanOf):
    """Mean categorical crossentropy (see ``hl.losses.categorical_crossentropy``).

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: Mixes labels with the uniform distribution by this amount.
        name: The name in logs and configs (default ``"categorical_crossentropy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.CategoricalCrossentropy()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1., 0.]]), jnp.array([[0.05, 0.95, 0.]])))
    0.0512...
    """

    default_name, direction = "categorical_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(name)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def values(self, y_true, y_pred):
        return _losses.categorical_crossentropy(y_true, y_pred, self.from_logits,
                                                self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(_MeanOf):
    """Mean sparse categorical crossentropy (see ``hl.losses.sparse_categorical_crossentropy``).

    Args:
        from_logits: Whether ``y_pred`` are logits (otherwise probabilities).
        name: The name in logs and configs (default ``"sparse_categorical_crossentropy"``).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SparseCategoricalCrossentropy(from_logits=True)
    >>> m.result(m.update(m.init(), jnp.array([0]), jnp.array([[0., 0.]])))
    0.693...
    """

    default_name, direction = "sparse_categorical_crossentropy", "down"

    def __init__(self, name: str | None = None, from_logits: bool = False):
        super().__init__(name)
        self.from_logits = bool(from_logits)

    def values(self, y_true, y_pred):
        return _losses.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class KLDivergence(_MeanOf):
    """Mean Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` (both clipped to [eps, 1]).

    Args:
        name: The name in logs and configs (default ``"kl_divergence"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.KLDivergence()
    >>> m.update_state(jnp.array([[0.5, 0.5]]), jnp.array([[0.25, 0.75]]))
    >>> round(m.result(), 4)
    0.1438
    """

    default_name, direction = "kl_divergence", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.kl_divergence(y_true, y_pred)


class Poisson(_MeanOf):
    """Mean Poisson loss ``y_pred - y_true * log(y_pred + eps)``.

    Args:
        name: The name in logs and configs (default ``"poisson"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.Poisson()
    >>> m.update_state(jnp.array([[1.0]]), jnp.array([[1.0]]))
    >>> round(m.result(), 4)
    1.0
    """

    default_name, direction = "poisson", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.poisson(y_true, y_pred)
