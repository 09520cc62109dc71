"""Keras's ``keras.ops.nn`` statistics and normalizations: ``moments``, batch, layer and RMS
normalization, ``normalize``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.ops._common import _EPSILON

__all__ = ["moments", "batch_normalization", "layer_normalization", "rms_normalization", "normalize"]


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and variance of ``x`` over ``axes``: ``(mean, variance)``.

    Args:
        x: Input tensor.
        axes: The axes to reduce.
        keepdims: Whether to keep the reduced axes, with size 1.
        synchronized: Accepted for Keras compatibility; only False is supported.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.moments(np.array([1.0, 2.0, 3.0, 6.0]), axes=[0])
    (Array(3., dtype=float32), Array(3.5, dtype=float32))
    """
    if synchronized:
        raise ValueError("moments(synchronized=True) is not supported: under hl.distribute the batch is already global.")
    x = jnp.asarray(x)
    dtype = x.dtype
    if dtype in (jnp.float16, jnp.bfloat16):
        x = x.astype(jnp.float32)
    mean = jnp.mean(x, axis=axes, keepdims=keepdims)
    variance = jnp.var(x, axis=axes, keepdims=keepdims)
    return mean.astype(dtype), variance.astype(dtype)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=0.001):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, with the statistics along ``axis``.

    Args:
        x: Input tensor.
        mean: The mean.
        variance: The variance.
        axis: The feature axis the statistics belong to.
        offset: The offset (beta), or None.
        scale: The scale (gamma), or None.
        epsilon: A small constant added to the variance.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.batch_normalization(np.array([[1.0, 2.0]]), np.array([1.0, 0.0]), np.array([1.0, 4.0]), axis=-1, epsilon=0.0)
    Array([[0., 1.]], dtype=float32)
    """
    x = jnp.asarray(x)
    shape = [1] * x.ndim
    shape[axis] = jnp.shape(mean)[0]
    inv = jax.lax.rsqrt(jnp.reshape(variance, shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(scale, shape)
    res = -jnp.reshape(mean, shape) * inv
    if offset is not None:
        res = res + jnp.reshape(offset, shape)
    return x * inv + res


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes each example over ``axis`` to zero mean and unit variance, then ``* gamma + beta``.

    Args:
        x: Input tensor.
        gamma: The scale, or None.
        beta: The offset, or None.
        axis: The axis (or axes) to normalize.
        epsilon: A small constant for numerical stability (None: Keras's 1e-7 or the layer default).
        **kwargs: Keras's deprecated ``rms_scaling`` (refused).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.layer_normalization(np.array([[1.0, 2.0, 3.0]]))).round(4)
    array([[-1.2247,  0.    ,  1.2247]], dtype=float32)
    """
    if kwargs.pop("rms_scaling", False):
        raise ValueError("layer_normalization(rms_scaling=True) is deprecated in Keras; use ops.rms_normalization.")
    epsilon = _EPSILON if epsilon is None else epsilon
    x = jnp.asarray(x)
    dtype = x.dtype
    x = x.astype(jnp.result_type(dtype, jnp.float32))
    axes = sorted([axis] if isinstance(axis, int) else axis)
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    fit = lambda v: v if jnp.ndim(v) == x.ndim else jnp.reshape(v, shape)   # no implicit rank promotion
    mean, variance = jnp.mean(x, axis=axes, keepdims=True), jnp.var(x, axis=axes, keepdims=True)
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * fit(jnp.asarray(gamma, x.dtype))
    res = -mean * inv
    if beta is not None:
        res = res + fit(jnp.asarray(beta, x.dtype))
    return (x * inv + res).astype(dtype)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x * rsqrt(mean(x^2) + epsilon) * scale`` over ``axis``.

    Args:
        x: Input tensor.
        scale: The scale (gamma), or None.
        axis: The axis (or axes) to normalize.
        epsilon: A small constant for numerical stability (None: Keras's 1e-7 or the layer default).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.rms_normalization(np.array([[3.0, 4.0]]))).round(4)
    array([[0.8485, 1.1314]], dtype=float32)
    """
    epsilon = _EPSILON if epsilon is None else epsilon
    x = jnp.asarray(x)
    dtype = x.dtype
    x = x.astype(jnp.result_type(dtype, jnp.float32))
    if x.ndim == 0:
        x = x[None]
    axes = sorted(axis) if isinstance(axis, (list, tuple)) else axis
    out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + epsilon)
    if scale is not None:
        scale = jnp.asarray(scale, x.dtype)
        out = out * jnp.reshape(scale, (1,) * (x.ndim - scale.ndim) + scale.shape)
    return out.astype(dtype)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x / max(norm(x), epsilon)`` along ``axis`` (the L``order`` norm).

    Args:
        x: Input tensor.
        axis: The axis (or axes) to normalize over.
        order: The order of the norm (an int >= 1).
        epsilon: A small constant for numerical stability (None: Keras's 1e-7 or the layer default).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.normalize(np.array([[3.0, 4.0]]))
    Array([[0.6, 0.8]], dtype=float32)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, got {order!r}.")
    x = jnp.asarray(x, jnp.result_type(float, x))
    if x.ndim == 0:
        x = x[None]
    epsilon = _EPSILON if epsilon is None else epsilon
    if order == 2:
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)
