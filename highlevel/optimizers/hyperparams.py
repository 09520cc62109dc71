"""Reading and writing a hyperparameter (the learning rate) inside an optax state."""

from __future__ import annotations

import jax
import numpy as np


def _is_inject_state(node) -> bool:
    return isinstance(node, tuple) and isinstance(getattr(node, "hyperparams", None), dict)


def _find(node, name: str):
    if _is_inject_state(node) and name in node.hyperparams:
        return node.hyperparams[name]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, (tuple, list)) else ()
    for child in children:
        found = _find(child, name)
        if found is not None:
            return found
    return None


def get_hyperparam(opt_state, name: str = "learning_rate") -> jax.Array:
    """The array ``name`` of the first ``optax.inject_hyperparams`` state inside ``opt_state``.

    Raises ValueError when there is none (a transformation not built with
    ``optax.inject_hyperparams``).

    Args:
        opt_state: An optax state (any nesting of tuples, dicts and named tuples).
        name: The hyperparameter's name.

    Returns:
        Its current value, a scalar array.

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> state = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1).init({"w": jnp.ones(2)})
    >>> round(float(hl.optimizers.get_hyperparam(state)), 6)
    0.1
    """
    found = _find(opt_state, name)
    if found is None:
        raise ValueError(
            f"This optax state has no injected {name!r} hyperparameter, so it cannot be read or "
            f"set. Build the transformation with optax.inject_hyperparams, e.g. "
            f"optax.inject_hyperparams(optax.adam)({name}=1e-3), or use an hl.optimizers "
            "optimizer.")
    return found


def set_hyperparam(opt_state, value, name: str = "learning_rate"):
    """A copy of ``opt_state`` with the injected hyperparameter ``name`` set to ``value``.

    The new array keeps the old one's dtype, shape and weak type, so a compiled step that
    takes the state does not recompile.

    Args:
        opt_state: An optax state holding an ``optax.inject_hyperparams`` state.
        value: The new value (a float).
        name: The hyperparameter's name.

    Returns:
        The updated state; ``opt_state`` itself is unchanged.

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> state = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1).init({"w": jnp.ones(2)})
    >>> state = hl.optimizers.set_hyperparam(state, 0.01)
    >>> round(float(hl.optimizers.get_hyperparam(state)), 6)
    0.01
    """
    get_hyperparam(opt_state, name)  # the clear error when it is missing
    done = []

    def replace(node):
        if done:
            return node
        if _is_inject_state(node) and name in node.hyperparams:
            done.append(True)
            old = node.hyperparams[name]
            # Made with NumPy and copied over: setting a value compiles nothing.
            new = jax.device_put(np.full(old.shape, value, dtype=old.dtype))
            return node._replace(hyperparams={**node.hyperparams, name: new})
        if isinstance(node, dict):
            return type(node)((k, replace(v)) for k, v in node.items())
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return type(node)(*(replace(c) for c in node))
        if isinstance(node, (tuple, list)):
            return type(node)(replace(c) for c in node)
        return node

    return replace(opt_state)
