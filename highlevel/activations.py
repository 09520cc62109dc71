"""Activation functions by Keras name."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

__all__ = ["get", "serialize", "relu", "sigmoid", "tanh", "softplus", "softmax", "gelu",
           "elu", "selu", "leaky_relu", "silu", "swish", "linear", "relu6", "log_softmax",
           "softsign", "hard_sigmoid", "exponential"]


def relu(x):
    return jax.nn.relu(x)


def relu6(x):
    return jax.nn.relu6(x)


def sigmoid(x):
    return jax.nn.sigmoid(x)


def hard_sigmoid(x):
    return jax.nn.hard_sigmoid(x)


def tanh(x):
    return jnp.tanh(x)


def softplus(x):
    return jax.nn.softplus(x)


def softsign(x):
    return jax.nn.soft_sign(x)


def softmax(x, axis: int = -1):
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis: int = -1):
    return jax.nn.log_softmax(x, axis=axis)


def gelu(x, approximate: bool = False):
    # Keras's default is the exact (erf) form.
    return jax.nn.gelu(x, approximate=approximate)


def elu(x, alpha: float = 1.0):
    return jax.nn.elu(x, alpha=alpha)


def selu(x):
    return jax.nn.selu(x)


def leaky_relu(x, negative_slope: float = 0.2):
    # Keras 3's default slope is 0.2.
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


def silu(x):
    return jax.nn.silu(x)


swish = silu


def exponential(x):
    return jnp.exp(x)


def linear(x):
    return x


_REGISTRY: dict[str, Callable] = {
    "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid,
    "tanh": tanh, "softplus": softplus, "softsign": softsign, "softmax": softmax,
    "log_softmax": log_softmax, "gelu": gelu, "elu": elu, "selu": selu,
    "leaky_relu": leaky_relu, "silu": silu, "swish": silu, "exponential": exponential,
    "linear": linear,
}


def get(identifier: str | Callable | None) -> Callable:
    """Returns the activation function for a Keras name, a callable, or None (linear).

    >>> get("relu")(-1.0)
    Array(0., dtype=float32, weak_type=True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown activation {identifier!r}. Known activations: "
                f"{', '.join(sorted(_REGISTRY))}; or pass a callable.")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"An activation must be a name or a callable, got {identifier!r}.")


def serialize(fn: Callable) -> str | Callable:
    """The Keras name of an activation (the callable itself when it has none)."""
    for name, registered in _REGISTRY.items():
        if registered is fn:
            return "silu" if name == "swish" else name
    return fn
