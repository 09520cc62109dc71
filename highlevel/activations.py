"""Activation functions by Keras name."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from highlevel import ops
from highlevel.activations_shrink import (hard_shrink, hard_tanh, soft_shrink, sparse_plus, sparse_sigmoid,
                                          sparsemax, squareplus, tanh_shrink, threshold)
from highlevel.utils.serialization import CustomObjectScope, resolve_serializable, serializable_name

__all__ = ["get", "serialize", "deserialize", "relu", "sigmoid", "tanh", "softplus", "softmax", "gelu",
           "elu", "selu", "leaky_relu", "silu", "swish", "linear", "relu6", "log_softmax",
           "softsign", "hard_sigmoid", "exponential", "mish", "hard_silu", "hard_swish", "celu", "glu",
           "log_sigmoid", "hard_tanh", "tanh_shrink", "sparse_plus", "sparse_sigmoid", "squareplus",
           "soft_shrink", "hard_shrink", "sparsemax", "threshold"]


def relu(x, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """Rectified linear unit: ``max(x, 0)``, with Keras's optional leak, cap and threshold.

    ``max_value`` for ``x >= max_value``, ``x`` for ``threshold < x < max_value``, and
    ``negative_slope * (x - threshold)`` otherwise (Keras's branches, so the same numbers).

    Args:
        x: Input array, any shape.
        negative_slope: The slope below ``threshold`` (0: none).
        max_value: The largest value returned (None: no cap).
        threshold: The value at and below which the unit is off (or leaks).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.relu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0. 0. 2.]
    >>> print(np.asarray(hl.activations.relu(jnp.array([-10.0, 0.0, 10.0]), negative_slope=0.5, max_value=5.0)))
    [-5.  0.  5.]
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return jax.nn.relu(x)
    x = jnp.asarray(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return jax.nn.leaky_relu(x, negative_slope=negative_slope)
    negative_part = jax.nn.relu(threshold - x) if negative_slope != 0.0 else None
    clip = max_value is not None
    if threshold != 0.0:
        x = jnp.where(x > jnp.asarray(threshold, x.dtype), x, jnp.zeros_like(x))
    elif max_value == 6.0:
        x, clip = jax.nn.relu6(x), False
    else:
        x = jax.nn.relu(x)
    if clip:
        x = jnp.clip(x, jnp.asarray(0.0, x.dtype), jnp.asarray(max_value, x.dtype))
    return x if negative_part is None else x - negative_slope * negative_part


def relu6(x):
    """Rectified linear unit capped at 6: ``min(max(x, 0), 6)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.relu6(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0. 0. 2.]
    """
    return jax.nn.relu6(x)


def sigmoid(x):
    """Logistic sigmoid: ``1 / (1 + exp(-x))``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.sigmoid(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.2689 0.5    0.8808]
    """
    return jax.nn.sigmoid(x)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.hard_sigmoid(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.3333 0.5    0.8333]
    """
    return jax.nn.hard_sigmoid(x)


def tanh(x):
    """Hyperbolic tangent.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.tanh(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.7616  0.      0.964 ]
    """
    return jnp.tanh(x)


def softplus(x):
    """Softplus: ``log(exp(x) + 1)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.softplus(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.3133 0.6931 2.1269]
    """
    return jax.nn.softplus(x)


def softsign(x):
    """Softsign: ``x / (abs(x) + 1)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.softsign(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.5     0.      0.6667]
    """
    return jax.nn.soft_sign(x)


def softmax(x, axis: int = -1):
    """Softmax: ``exp(x)`` normalised to sum to 1 along ``axis``.

    Args:
        x: Input array, any shape.
        axis: The axis to normalise over (default: the last).

    Returns:
        An array of the same shape and dtype as ``x`` (computed in float32 for a float16 or
        bfloat16 ``x``, as under a mixed-precision policy).

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.softmax(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.042  0.1142 0.8438]
    """
    return _in_float32(jax.nn.softmax, x, axis)


def log_softmax(x, axis: int = -1):
    """Logarithm of the softmax along ``axis``, computed stably.

    Args:
        x: Input array, any shape.
        axis: The axis to normalise over (default: the last).

    Returns:
        An array of the same shape and dtype as ``x`` (computed in float32 for a float16 or
        bfloat16 ``x``).

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.log_softmax(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-3.1698 -2.1698 -0.1698]
    """
    return _in_float32(jax.nn.log_softmax, x, axis)


def _in_float32(fn, x, axis):
    # A sum of exponentials overflows float16 and loses bfloat16's few mantissa bits: computed in
    # float32 and given back in x's dtype (mixed precision keeps outputs in the compute dtype).
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.floating) and jnp.finfo(x.dtype).bits < 32:
        return fn(x.astype(jnp.float32), axis=axis).astype(x.dtype)
    return fn(x, axis=axis)


def gelu(x, approximate: bool = False):
    """Gaussian error linear unit: ``x * P(X <= x)`` for a standard normal ``X``.

    Args:
        x: Input array, any shape.
        approximate: Use the tanh approximation instead of the exact erf form
            (Keras's default is exact).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.gelu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.1587  0.      1.9545]
    """
    # Keras's default is the exact (erf) form.
    return jax.nn.gelu(x, approximate=approximate)


def elu(x, alpha: float = 1.0):
    """Exponential linear unit: ``x`` if ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        x: Input array, any shape.
        alpha: The saturation value for negative inputs.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.elu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.6321  0.      2.    ]
    """
    return jax.nn.elu(x, alpha=alpha)


def selu(x):
    """Scaled exponential linear unit (self-normalising, Klambauer et al. 2017).

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.selu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-1.1113  0.      2.1014]
    """
    return jax.nn.selu(x)


def leaky_relu(x, negative_slope: float = 0.2):
    """Leaky ReLU: ``x`` if ``x > 0``, else ``negative_slope * x``.

    Args:
        x: Input array, any shape.
        negative_slope: The slope for negative inputs (Keras 3's default, 0.2).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.leaky_relu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.2  0.   2. ]
    """
    # Keras 3's default slope is 0.2.
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


def silu(x):
    """Sigmoid linear unit (also called swish): ``x * sigmoid(x)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.silu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.2689  0.      1.7616]
    """
    return jax.nn.silu(x)


swish = silu


def exponential(x):
    """Exponential: ``exp(x)``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.exponential(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [0.3679 1.     7.3891]
    """
    return jnp.exp(x)


def linear(x):
    """Identity: returns ``x`` unchanged (the activation of ``activation=None``).

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.linear(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-1.  0.  2.]
    """
    return x


def mish(x):
    """Mish: ``x * tanh(softplus(x))`` (Misra 2019).

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.mish(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.3034  0.      1.944 ]
    """
    return x * ops.tanh(ops.softplus(x))


def hard_silu(x):
    """Hard SiLU (also called hard swish): ``x * relu6(x + 3) / 6``.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.hard_silu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.3333  0.      1.6667]
    """
    return ops.hard_silu(x)


def celu(x, alpha: float = 1.0):
    """Continuously differentiable ELU: ``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``.

    Args:
        x: Input array, any shape.
        alpha: The scale for negative inputs (Keras's default, 1.0).

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.celu(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-0.6321  0.      2.    ]
    """
    return ops.celu(x, alpha=alpha)


def glu(x, axis: int = -1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half.

    Args:
        x: Input array, any shape.
        axis: The axis split in two halves (of even size; default: the last).

    Returns:
        An array of the same shape and dtype as ``x``, halved along ``axis``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.glu(jnp.array([1.0, 2.0, 0.0, 0.0]))).round(4))
    [0.5 1. ]
    """
    return ops.glu(x, axis=axis)


def log_sigmoid(x):
    """Logarithm of the sigmoid, ``-softplus(-x)``, computed stably.

    Args:
        x: Input array, any shape.

    Returns:
        An array of the same shape and dtype as ``x``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> print(np.asarray(hl.activations.log_sigmoid(jnp.array([-1.0, 0.0, 2.0]))).round(4))
    [-1.3133 -0.6931 -0.1269]
    """
    return ops.log_sigmoid(x)


hard_swish = hard_silu


_REGISTRY: dict[str, Callable] = {
    "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid,
    "tanh": tanh, "softplus": softplus, "softsign": softsign, "softmax": softmax,
    "log_softmax": log_softmax, "gelu": gelu, "elu": elu, "selu": selu,
    "leaky_relu": leaky_relu, "silu": silu, "swish": silu, "exponential": exponential,
    "linear": linear, "mish": mish, "hard_silu": hard_silu, "hard_swish": hard_silu, "celu": celu,
    "glu": glu, "log_sigmoid": log_sigmoid, "hard_tanh": hard_tanh, "tanh_shrink": tanh_shrink,
    "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid, "squareplus": squareplus,
    "soft_shrink": soft_shrink, "hard_shrink": hard_shrink, "sparsemax": sparsemax, "threshold": threshold,
}


def get(identifier: str | Callable | None) -> Callable:
    """Returns the activation function for a Keras name, a callable, or None (linear).

    Args:
        identifier: A Keras activation name (``"relu"``, ``"softmax"``, ...), a callable
            (returned as is), or ``None`` for :func:`linear`.

    Returns:
        The activation callable, ``fn(x) -> array`` of ``x``'s shape.

    >>> get("relu")(-1.0)
    Array(0., dtype=float32, weak_type=True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier)
        if fn is None:
            if ">" in identifier or identifier.isidentifier():
                try:  # a user's function, registered or lent by custom_object_scope / custom_objects
                    return resolve_serializable(identifier, "activation")
                except ValueError:
                    pass
            short = identifier.rsplit(">", 1)[-1]
            raise ValueError(
                f"Unknown activation {identifier!r}: neither a Keras activation ({', '.join(sorted(_REGISTRY))}) "
                "nor registered in this process. Decorate a custom one with "
                "@hl.saving.register_keras_serializable() in code that runs before loading, pass "
                f"custom_objects={{{short!r}: {short}}}, or pass the callable itself.")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"An activation must be a name or a callable, got {identifier!r}.")


def serialize(fn: Callable) -> str | Callable:
    """The Keras name of an activation, or the registered name of a user's function.

    A user's function is written as its registered name (``"Custom>my_act"``, see
    ``hl.saving.register_keras_serializable``), else, as Keras does, as its ``__name__``
    (loading then needs ``custom_objects={"my_act": my_act}``). A lambda has no name and
    is returned as is (a config holding it cannot be saved to JSON).

    Args:
        fn: An activation callable, such as one :func:`get` returned.

    Returns:
        Its Keras name (``swish`` is written ``"silu"``), its registered name or ``__name__``,
        or ``fn`` itself for a lambda.

    >>> import highlevel as hl
    >>> hl.activations.serialize(hl.activations.get("relu"))
    'relu'
    """
    for name, registered in _REGISTRY.items():
        if registered is fn:
            return "silu" if name == "swish" else name
    registered = serializable_name(fn)
    if registered is not None:
        return registered
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name.isidentifier():
        return name
    return fn


def deserialize(config, custom_objects: dict | None = None) -> Callable:
    """The activation function a config names, as Keras's ``activations.deserialize``.

    Args:
        config: A name (``"relu"``) or Keras's dict for a function (``{"config": "relu", ...}``).
        custom_objects: ``{name: function}`` for activations of your own.

    >>> deserialize({"class_name": "function", "config": "gelu", "registered_name": "function"}) is gelu
    True
    """
    if isinstance(config, dict):
        config = config.get("config", config)   # Keras's registered_name there is "function"
    with CustomObjectScope(custom_objects or {}):
        return get(config)
