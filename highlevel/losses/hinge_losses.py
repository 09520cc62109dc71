"""Hinge losses (maximum-margin classification): hinge, squared hinge, categorical hinge."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.losses.base import _FunctionLoss, _pair

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge", "hinge", "squared_hinge", "categorical_hinge"]


# Per-sample loss functions -------------------------------------------------------------

def _hinge_labels(y_true):
    # Keras maps {0, 1} labels to {-1, 1}; labels already in {-1, 1} are kept.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` with labels in {-1, 1} (or {0, 1})."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(max(1 - y_true * y_pred, 0)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)



# Loss objects ------------------------------------------------------------------------

class Hinge(_FunctionLoss):
    """Mean hinge loss for labels in {-1, 1} or {0, 1}."""

    _fn = staticmethod(hinge)
    default_name = "hinge"


class SquaredHinge(_FunctionLoss):
    """Mean squared hinge loss for labels in {-1, 1} or {0, 1}."""

    _fn = staticmethod(squared_hinge)
    default_name = "squared_hinge"


class CategoricalHinge(_FunctionLoss):
    """Categorical hinge loss over the last axis."""

    _fn = staticmethod(categorical_hinge)
    default_name = "categorical_hinge"
