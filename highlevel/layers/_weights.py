"""The weights of a layer: creating one (``add_weight``'s arguments, initial value and variable
type), the sublayers a layer holds (whose weights are its own in Keras's order), and setting
them all from arrays (``set_weights``'s checks).

``Layer`` (``highlevel/layers/base.py``) keeps the public methods; this module holds the work behind them.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers._shapes import format_shape
from highlevel.layers.autocast import AutocastParam
from highlevel.layers.variables import NonTrainable, Weight, register_owner
from highlevel.utils import random as _random


def add_weight(layer, *args, shape: Sequence[int] | None = None, initializer: Any = None,
               dtype: str | None = None, trainable: bool = True, regularizer: Any = None,
               constraint: Any = None, name: str | None = None, autocast: bool = True) -> Weight:
    """The body of ``Layer.add_weight`` (whose docstring says what each argument does)."""
    if args and isinstance(args[0], str):
        # The older highlevel form: add_weight(name, shape, initializer, dtype, trainable, regularizer).
        legacy = dict(zip(("name", "shape", "initializer", "dtype", "trainable", "regularizer"), args))
        name, shape = legacy["name"], legacy.get("shape", shape)
        initializer = legacy.get("initializer", initializer)
        dtype, trainable = legacy.get("dtype", dtype), legacy.get("trainable", trainable)
        regularizer = legacy.get("regularizer", regularizer)
    elif args:
        if len(args) > 3:
            raise TypeError(f"add_weight() takes at most 3 positional arguments (shape, initializer, "
                            f"dtype), got {len(args)}; pass the others by keyword.")
        if shape is not None:
            raise TypeError("add_weight() got shape both positionally and by keyword; pass it once.")
        shape = args[0]
        initializer = args[1] if len(args) > 1 else initializer
        dtype = args[2] if len(args) > 2 else dtype
    shape = () if shape is None else shape
    if any(d is None for d in tuple(shape)):
        raise ValueError(f"Layer '{layer.name}': add_weight needs a fully known shape, got {tuple(shape)}; "
                         "create weights in build(input_shape), where the input's sizes are known.")
    dtype = jnp.dtype(dtype or layer.dtype)
    if initializer is None:
        initializer = "glorot_uniform" if jnp.issubdtype(dtype, jnp.floating) else "zeros"
    if name is None:
        name = "variable"
        i = 0
        while name in layer._weight_names or hasattr(layer, name):
            i += 1
            name = f"variable_{i}"
    init = _initializers.get(initializer)
    value = init(_random.next_key(), tuple(int(d) for d in shape), dtype)
    cast = (autocast and trainable and jnp.issubdtype(value.dtype, jnp.floating)
            and jnp.dtype(layer.compute_dtype) != value.dtype)
    var = (AutocastParam if cast else Weight)(value) if trainable else NonTrainable(value)
    setattr(layer, name, var)
    if name not in layer._weight_names:
        layer._weight_names.append(name)
    if trainable and name not in layer._trainable_weight_names:
        layer._trainable_weight_names.append(name)
    reg = _regularizers.get(regularizer)
    if reg is not None:
        layer._regularizers[name] = reg
    con = _constraints.get(constraint)
    if con is not None:
        layer._constraints[name] = con
    register_owner(var, layer, name, constraint=con, regularizer=reg)
    return var


def sublayers(layer) -> list["Layer"]:
    """The body of ``Layer._sublayers``: the layers ``layer`` holds directly, in attribute order."""
    from highlevel.layers.base import Layer  # base imports this module
    found: list[Layer] = []
    seen: set[int] = set()

    def visit(value):
        if isinstance(value, Layer):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    for key, value in vars(layer).items():
        if key.startswith("_pytree__") or key == "inbound_nodes":
            continue
        visit(value)
    return found


def set_weights(layer, weights: Sequence[Any]) -> None:
    """The body of ``Layer.set_weights``."""
    layer.require_built("set_weights")
    named = layer.named_weights()
    weights = list(weights)
    if len(weights) != len(named):
        raise ValueError(f"Layer '{layer.name}' expects {len(named)} weight arrays "
                         f"({', '.join(n for n, _ in named)}), got {len(weights)}.")
    for (name, var), w in zip(named, weights):
        if tuple(np.shape(w)) != tuple(var.get_value().shape):
            raise ValueError(f"Weight '{name}' has shape {format_shape(var.get_value().shape)}, "
                             f"got an array of shape {format_shape(np.shape(w))}.")
    for (_, var), w in zip(named, weights):
        # device_put, not jnp.asarray: that compiles a staging copy for every new shape.
        var.set_value(jax.device_put(np.asarray(w, dtype=var.get_value().dtype)))
