"""Shapes as layers record, print and save them, and ``TensorSpec``, the shape and dtype of an
output.

``highlevel.layers.base`` re-exports the public names.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def _as_shape(shape):
    if isinstance(shape, list) and all(isinstance(d, (int, type(None))) for d in shape):
        return tuple(shape)
    return shape


def _shape_of(x) -> tuple:
    return tuple(x.shape)


def format_shape(shape) -> str:
    """A shape as Keras prints it: ``(None, 28, 28, 1)``, ``(3,)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """The shape (batch may be None) and dtype of a layer's output."""

    shape: tuple
    dtype: Any


def to_jsonable_shape(shape):
    """A shape (or a list/dict of them) as JSON holds it: tuples become lists."""
    if isinstance(shape, tuple) and all(isinstance(d, (int, type(None))) for d in shape):
        return list(shape)
    if isinstance(shape, (list, tuple)):
        return [to_jsonable_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: to_jsonable_shape(v) for k, v in shape.items()}
    return shape

