"""Hinge metrics: the mean hinge, squared hinge and categorical hinge losses."""

from __future__ import annotations

from highlevel import losses as _losses
from highlevel.metrics.base import _MeanOf

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge"]


class Hinge(_MeanOf):
    """Mean hinge loss, ``max(1 - y_true * y_pred, 0)`` (labels in {0, 1} become {-1, 1}).

    Args:
        name: The name in logs and configs (default ``"hinge"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.Hinge()
    >>> m.update_state(jnp.array([[0.0, 1.0]]), jnp.array([[0.6, 0.4]]))
    >>> round(m.result(), 4)
    1.1
    """

    default_name, direction = "hinge", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.hinge(y_true, y_pred)


class SquaredHinge(_MeanOf):
    """Mean squared hinge loss, ``square(max(1 - y_true * y_pred, 0))``.

    Args:
        name: The name in logs and configs (default ``"squared_hinge"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.SquaredHinge()
    >>> m.update_state(jnp.array([[0.0, 1.0]]), jnp.array([[0.6, 0.4]]))
    >>> round(m.result(), 4)
    1.46
    """

    default_name, direction = "squared_hinge", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.squared_hinge(y_true, y_pred)


class CategoricalHinge(_MeanOf):
    """Mean categorical hinge loss, ``max(neg - pos + 1, 0)`` for one-hot labels.

    Args:
        name: The name in logs and configs (default ``"categorical_hinge"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.CategoricalHinge()
    >>> m.update_state(jnp.array([[0.0, 1.0]]), jnp.array([[0.6, 0.4]]))
    >>> round(m.result(), 4)
    1.2
    """

    default_name, direction = "categorical_hinge", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.categorical_hinge(y_true, y_pred)
