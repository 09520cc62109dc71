"""Keras's ``keras.ops.nn`` element-wise functions: the activations (``relu`` ... ``celu``, the gated
``glu``) and ``polar``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.ops._common import _x

__all__ = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "tanh", "tanh_shrink", "softplus", "softsign",
           "soft_shrink", "hard_shrink", "threshold", "sparse_plus", "silu", "swish", "squareplus", "log_sigmoid",
           "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "elu", "selu", "gelu", "celu",
           "glu", "polar"]


def relu(x):
    """Rectified linear unit, ``max(x, 0)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.relu(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([0. , 0. , 0. , 1.5], dtype=float32)
    """
    return jax.nn.relu(_x(x))


def relu6(x):
    """ReLU capped at 6, ``min(max(x, 0), 6)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.relu6(np.array([-1.0, 3.0, 8.0]))
    Array([0., 3., 6.], dtype=float32)
    """
    return jax.nn.relu6(_x(x))


def sigmoid(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sigmoid(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([0.1192, 0.3775, 0.5   , 0.8176], dtype=float32)
    """
    return jax.nn.sigmoid(_x(x))


def sparse_sigmoid(x):
    """The sparse sigmoid: 0 below -1, 1 above 1, linear between.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.sparse_sigmoid(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([0.  , 0.25, 0.5 , 1.  ], dtype=float32)
    """
    return jax.nn.sparse_sigmoid(_x(x))


def tanh(x):
    """The hyperbolic tangent.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.tanh(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.964 , -0.4621,  0.    ,  0.9051], dtype=float32)
    """
    return jnp.tanh(_x(x))


def tanh_shrink(x):
    """``x - tanh(x)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.tanh_shrink(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-1.036 , -0.0379,  0.    ,  0.5949], dtype=float32)
    """
    return _x(x) - jnp.tanh(_x(x))


def softplus(x):
    """``log(1 + exp(x))``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.softplus(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([0.1269, 0.4741, 0.6931, 1.7014], dtype=float32)
    """
    return jax.nn.softplus(_x(x))


def softsign(x):
    """``x / (1 + |x|)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.softsign(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.6667, -0.3333,  0.    ,  0.6   ], dtype=float32)
    """
    return jax.nn.soft_sign(_x(x))


def soft_shrink(x, threshold=0.5):
    """Shrinks towards zero by ``threshold`` (zero inside ``[-threshold, threshold]``).

    Args:
        x: Input tensor.
        threshold: The threshold.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.soft_shrink(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([-1.5,  0. ,  0. ,  1. ], dtype=float32)
    """
    x = _x(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0.

    Args:
        x: Input tensor.
        threshold: The threshold.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.hard_shrink(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([-2. ,  0. ,  0. ,  1.5], dtype=float32)
    """
    x = _x(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0.0)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x: Input tensor.
        threshold: The threshold.
        default_value: The value where ``x <= threshold``.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.threshold(np.array([-2.0, -0.5, 0.0, 1.5]), 0.0, -1.0)
    Array([-1. , -1. , -1. ,  1.5], dtype=float32)
    """
    x = _x(x)
    return jnp.where(x > threshold, x, default_value)


def sparse_plus(x):
    """SparsePlus: 0 below -1, ``(x + 1)^2 / 4`` between, ``x`` above 1.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.sparse_plus(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([0.    , 0.0625, 0.25  , 1.5   ], dtype=float32)
    """
    return jax.nn.sparse_plus(_x(x))


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.silu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.2384, -0.1888,  0.    ,  1.2264], dtype=float32)
    """
    return jax.nn.silu(_x(x))


def swish(x):
    """``x * sigmoid(x)`` (the same as ``silu``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.swish(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.2384, -0.1888,  0.    ,  1.2264], dtype=float32)
    """
    return jax.nn.silu(_x(x))


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``.

    Args:
        x: Input tensor.
        b: The smoothness (>= 0).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.squareplus(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([0.4142, 0.7808, 1.    , 2.    ], dtype=float32)
    """
    return jax.nn.squareplus(_x(x), b=b)


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log_sigmoid(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-2.1269, -0.9741, -0.6931, -0.2014], dtype=float32)
    """
    return jax.nn.log_sigmoid(_x(x))


def leaky_relu(x, negative_slope=0.2):
    """``x`` for positive inputs, ``negative_slope * x`` otherwise.

    Args:
        x: Input tensor.
        negative_slope: The slope for negative inputs.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.leaky_relu(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([-0.4, -0.1,  0. ,  1.5], dtype=float32)
    """
    return jax.nn.leaky_relu(_x(x), negative_slope=negative_slope)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid ``relu6(x + 3) / 6``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hard_sigmoid(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([0.1667, 0.4167, 0.5   , 0.75  ], dtype=float32)
    """
    return jax.nn.hard_sigmoid(_x(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hard_silu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.3333, -0.2083,  0.    ,  1.125 ], dtype=float32)
    """
    return jax.nn.hard_silu(_x(x))


def hard_swish(x):
    """``x * hard_sigmoid(x)`` (the same as ``hard_silu``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hard_swish(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.3333, -0.2083,  0.    ,  1.125 ], dtype=float32)
    """
    return jax.nn.hard_silu(_x(x))


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.hard_tanh(np.array([-2.0, -0.5, 0.0, 1.5]))
    Array([-1. , -0.5,  0. ,  1. ], dtype=float32)
    """
    return jax.nn.hard_tanh(_x(x))


def elu(x, alpha=1.0):
    """``x`` if positive, else ``alpha * (exp(x) - 1)``.

    Args:
        x: Input tensor.
        alpha: The slope/scale parameter.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.elu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.8647, -0.3935,  0.    ,  1.5   ], dtype=float32)
    """
    return jax.nn.elu(_x(x), alpha=alpha)


def selu(x):
    """The scaled exponential linear unit.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.selu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-1.5202, -0.6918,  0.    ,  1.5761], dtype=float32)
    """
    return jax.nn.selu(_x(x))


def gelu(x, approximate=True):
    """The Gaussian error linear unit.

    Args:
        x: Input tensor.
        approximate: Whether to use the tanh approximation.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.gelu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.0454, -0.1543,  0.    ,  1.3996], dtype=float32)
    """
    return jax.nn.gelu(_x(x), approximate)


def celu(x, alpha=1.0):
    """The continuously differentiable ELU.

    Args:
        x: Input tensor.
        alpha: The slope/scale parameter.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.celu(np.array([-2.0, -0.5, 0.0, 1.5]))).round(4)
    array([-0.8647, -0.3935,  0.    ,  1.5   ], dtype=float32)
    """
    return jax.nn.celu(_x(x), alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second.

    Args:
        x: Input tensor.
        axis: The axis split in two halves.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.glu(np.array([[1.0, 2.0, 0.0, 0.0]]))
    Array([[0.5, 1. ]], dtype=float32)
    """
    return jax.nn.glu(_x(x), axis=axis)


def polar(abs_, angle):
    """The complex number of modulus ``abs_`` and argument ``angle``.

    Args:
        abs_: The modulus.
        angle: The argument, in radians.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.polar(np.array([2.0]), np.array([0.0]))
    Array([2.+0.j], dtype=complex64)
    """
    return jax.lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))
