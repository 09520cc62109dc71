"""Keras's element-wise ``keras.ops`` (numpy) transcendental functions, of one tensor and of two:
exponentials, logarithms, trigonometric and hyperbolic functions and their inverses."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.ops._common import _float

__all__ = ["exp", "exp2", "expm1", "log", "log10", "log2", "log1p", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "i0", "arctan2",
           "hypot", "logaddexp", "logaddexp2"]


def exp(x):
    """``e ** x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.exp(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([0.2231, 1.    , 7.3891], dtype=float32)
    """
    return jnp.exp(_float(x))


def exp2(x):
    """``2 ** x``, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.exp2(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([0.3536, 1.    , 4.    ], dtype=float32)
    """
    return jnp.exp2(_float(x))


def expm1(x):
    """``exp(x) - 1``, accurate near 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.expm1(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.7769,  0.    ,  6.3891], dtype=float32)
    """
    return jnp.expm1(_float(x))


def log(x):
    """The natural logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log(np.array([0.5, 1.0, 4.0]))).round(4)
    array([-0.6931,  0.    ,  1.3863], dtype=float32)
    """
    return jnp.log(_float(x))


def log10(x):
    """The base-10 logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log10(np.array([0.5, 1.0, 4.0]))).round(4)
    array([-0.301 ,  0.    ,  0.6021], dtype=float32)
    """
    return jnp.log10(_float(x))


def log2(x):
    """The base-2 logarithm, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.log2(np.array([0.5, 1.0, 4.0]))
    Array([-1.,  0.,  2.], dtype=float32)
    """
    return jnp.log2(_float(x))


def log1p(x):
    """``log(1 + x)``, accurate near 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log1p(np.array([0.5, 1.0, 4.0]))).round(4)
    array([0.4055, 0.6931, 1.6094], dtype=float32)
    """
    return jnp.log1p(_float(x))


def sin(x):
    """The sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sin(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.9975,  0.    ,  0.9093], dtype=float32)
    """
    return jnp.sin(_float(x))


def cos(x):
    """The cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cos(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([ 0.0707,  1.    , -0.4161], dtype=float32)
    """
    return jnp.cos(_float(x))


def tan(x):
    """The tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.tan(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-14.1014,   0.    ,  -2.185 ], dtype=float32)
    """
    return jnp.tan(_float(x))


def arcsin(x):
    """The inverse sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arcsin(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([-0.5236,  0.    ,  0.5236], dtype=float32)
    """
    return jnp.arcsin(_float(x))


def arccos(x):
    """The inverse cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arccos(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([2.0944, 1.5708, 1.0472], dtype=float32)
    """
    return jnp.arccos(_float(x))


def arctan(x):
    """The inverse tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctan(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.9828,  0.    ,  1.1071], dtype=float32)
    """
    return jnp.arctan(_float(x))


def sinh(x):
    """The hyperbolic sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sinh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-2.1293,  0.    ,  3.6269], dtype=float32)
    """
    return jnp.sinh(_float(x))


def cosh(x):
    """The hyperbolic cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.cosh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([2.3524, 1.    , 3.7622], dtype=float32)
    """
    return jnp.cosh(_float(x))


def arcsinh(x):
    """The inverse hyperbolic sine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arcsinh(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-1.1948,  0.    ,  1.4436], dtype=float32)
    """
    return jnp.arcsinh(_float(x))


def arccosh(x):
    """The inverse hyperbolic cosine, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arccosh(np.array([1.0, 2.0, 3.0]))).round(4)
    array([0.    , 1.317 , 1.7627], dtype=float32)
    """
    return jnp.arccosh(_float(x))


def arctanh(x):
    """The inverse hyperbolic tangent, element-wise.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctanh(np.array([-0.5, 0.0, 0.5]))).round(4)
    array([-0.5493,  0.    ,  0.5493], dtype=float32)
    """
    return jnp.arctanh(_float(x))


def deg2rad(x):
    """Degrees to radians.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.deg2rad(np.array([0.0, 90.0, 180.0]))).round(4)
    array([0.    , 1.5708, 3.1416], dtype=float32)
    """
    return jnp.deg2rad(_float(x))


def rad2deg(x):
    """Radians to degrees.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rad2deg(np.array([0.0, np.pi / 2, np.pi]))
    Array([  0.,  90., 180.], dtype=float32)
    """
    return jnp.rad2deg(_float(x))


def sinc(x):
    """The normalized sinc, ``sin(pi x) / (pi x)``.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sinc(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([-0.2122,  1.    ,  0.    ], dtype=float32)
    """
    return jnp.sinc(_float(x))


def i0(x):
    """The modified Bessel function of the first kind, order 0.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.i0(np.array([-1.5, 0.0, 2.0]))).round(4)
    array([1.6467, 1.    , 2.2796], dtype=float32)
    """
    return jnp.i0(_float(x))


def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``, in radians.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.arctan2(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([0.4636, 1.1071, 1.249 ], dtype=float32)
    """
    return jnp.arctan2(_float(x1), _float(x2))


def hypot(x1, x2):
    """``sqrt(x1^2 + x2^2)``, element-wise.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.hypot(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.2361, 4.4721, 9.4868], dtype=float32)
    """
    return jnp.hypot(_float(x1), _float(x2))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))``, computed stably.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logaddexp(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.3133, 4.1269, 9.0025], dtype=float32)
    """
    return jnp.logaddexp(_float(x1), _float(x2))


def logaddexp2(x1, x2):
    """``log2(2^x1 + 2^x2)``, computed stably.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.logaddexp2(np.array([1.0, 4.0, 9.0]), np.array([2.0, 2.0, 3.0]))).round(4)
    array([2.585 , 4.3219, 9.0224], dtype=float32)
    """
    return jnp.logaddexp2(_float(x1), _float(x2))
