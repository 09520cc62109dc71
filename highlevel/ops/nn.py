"""Keras's ``keras.ops.nn``: activations, losses, normalizations, encodings and attention (convolutions and pooling come from ``convolution.py``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from highlevel.ops.convolution import (average_pool, conv, conv_transpose, depth_to_space, depthwise_conv,
                                       max_pool, separable_conv, space_to_depth)

__all__ = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "tanh", "tanh_shrink", "softplus", "softsign", "soft_shrink",
           "hard_shrink", "threshold", "sparse_plus", "silu", "swish", "squareplus", "log_sigmoid",
           "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "elu", "selu", "gelu",
           "celu", "glu", "softmax", "log_softmax", "sparsemax", "one_hot", "multi_hot",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "moments",
           "batch_normalization", "layer_normalization", "rms_normalization", "normalize", "psnr", "polar",
           "ctc_loss", "dot_product_attention"]

__all__ += ["average_pool", "conv", "conv_transpose", "depth_to_space", "depthwise_conv", "max_pool",
            "separable_conv", "space_to_depth"]

_EPSILON = 1e-7   # keras.backend.epsilon()


def _x(x):
    return jnp.asarray(x, jnp.result_type(float, x))


def _no_sparse(sparse, name: str) -> None:
    if sparse:
        raise ValueError(f"{name}(sparse=True): JAX has no sparse tensors here; use sparse=False (dense).")


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


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``.

    Args:
        x: Input tensor.
        axis: The axis to normalize over.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.softmax(np.array([0.0, 0.0, 0.0, 0.0]))
    Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """
    return jax.nn.softmax(_x(x), axis=axis)


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably.

    Args:
        x: Input tensor.
        axis: The axis to normalize over.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.log_softmax(np.array([0.0, 0.0]))).round(4)
    array([-0.6931, -0.6931], dtype=float32)
    """
    return jax.nn.log_softmax(_x(x), axis=axis)


def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection onto the simplex (a sparse softmax).

    Args:
        x: Input tensor.
        axis: The axis to normalize over.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.sparsemax(np.array([2.0, 1.0, -1.0]))
    Array([1., 0., 0.], dtype=float32)
    """
    x = _x(x)
    ranked = -jnp.sort(-x, axis=axis)
    cumsum = jnp.cumsum(ranked, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = ranked - (cumsum - 1) / r > 0
    k = jnp.sum(support, axis=axis, keepdims=True)
    tau = (jnp.sum(jnp.where(support, cumsum, 0.0), axis=axis, keepdims=True) - 1) / k
    return jnp.maximum(x - tau, 0.0)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encodings of integer ``x`` along a new ``axis`` (out-of-range ids give zeros).

    Args:
        x: Input tensor.
        num_classes: The number of classes.
        axis: Where the new class axis goes.
        dtype: The result's dtype (None: inferred, as Keras).
        sparse: Accepted for Keras compatibility; only ``False`` is supported (JAX has no sparse tensors here).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.one_hot(np.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    _no_sparse(sparse, "one_hot")
    return jax.nn.one_hot(jnp.asarray(x), num_classes, dtype=jnp.dtype(dtype or "float32"), axis=axis)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encodings: for each row of integer ids, 1 at every id present.

    Args:
        inputs: Integer ids, ``(batch, ids)`` (or one row).
        num_classes: The number of classes.
        axis: Where the class axis goes.
        dtype: The result's dtype (None: inferred, as Keras).
        sparse: Accepted for Keras compatibility; only ``False`` is supported (JAX has no sparse tensors here).
        **kwargs: Accepted for Keras compatibility (ignored).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.multi_hot(np.array([[0, 2], [1, 1]]), 3)
    Array([[1., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    _no_sparse(sparse, "multi_hot")
    if num_classes is None:
        raise ValueError("multi_hot needs num_classes, the length of the encoding.")
    x = jnp.asarray(inputs).astype(jnp.int32)
    hot = jax.nn.one_hot(x, num_classes, dtype=jnp.dtype(dtype or "float32"), axis=axis)
    return jnp.max(hot, axis=1 if x.ndim > 1 else 0)


def binary_crossentropy(target, output, from_logits=False):
    """The element-wise binary crossentropy (not reduced).

    Args:
        target: The targets.
        output: The predictions.
        from_logits: Whether the predictions are logits.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.binary_crossentropy(np.array([1.0, 0.0]), np.array([0.9, 0.2]))).round(4)
    array([0.1054, 0.2231], dtype=float32)
    """
    target, output = jnp.asarray(target), _x(output)
    if target.shape != output.shape:
        raise ValueError(f"binary_crossentropy: target and output must have one shape, got {target.shape} and {output.shape}.")
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    output = jnp.clip(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The crossentropy of one-hot (or soft) targets, reduced over ``axis``.

    Args:
        target: The targets.
        output: The predictions.
        from_logits: Whether the predictions are logits.
        axis: The class axis.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.25, 0.75]]))).round(4)
    array([0.2877], dtype=float32)
    """
    target, output = jnp.asarray(target), _x(output)
    if target.shape != output.shape:
        raise ValueError(f"categorical_crossentropy: target and output must have one shape, got {target.shape} and {output.shape}.")
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, _EPSILON, 1.0 - _EPSILON))
    return -jnp.sum(target * log_prob, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The crossentropy of integer targets against class scores, reduced over ``axis``.

    Args:
        target: The targets.
        output: The predictions.
        from_logits: Whether the predictions are logits.
        axis: The class axis.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.sparse_categorical_crossentropy(np.array([1]), np.array([[0.25, 0.75]]))).round(4)
    array([0.2877], dtype=float32)
    """
    target, output = jnp.asarray(target).astype(jnp.int32), _x(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, -1)
    if target.shape != output.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: target must have output's shape without its class axis, "
                         f"got {target.shape} and {output.shape}.")
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis, keepdims=True)
        log_prob = jnp.log(jnp.clip(output, _EPSILON, 1.0 - _EPSILON))
    return -jnp.sum(jax.nn.one_hot(target, output.shape[axis], axis=axis) * log_prob, axis=axis)


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


def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio between two images, in dB.

    Args:
        x1: The first image(s).
        x2: The second image(s).
        max_val: The largest possible pixel value.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.psnr(np.zeros((2, 2)), np.full((2, 2), 0.1), max_val=1.0)
    Array(20., dtype=float32)
    """
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: the images must have one shape, got {x1.shape} and {x2.shape}.")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20 * jnp.log10(jnp.asarray(max_val, x2.dtype)) - 10 * jnp.log10(mse)


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


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The CTC loss of each sequence (``optax.ctc_loss``), from per-step class scores (logits).

    Args:
        target: Integer labels ``(batch, max_label_length)``.
        output: Logits ``(batch, steps, classes)``.
        target_length: The label length of each sequence.
        output_length: The number of valid steps of each sequence.
        mask_index: The blank class.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> np.asarray(ops.ctc_loss(np.array([[1, 2]]), np.zeros((1, 4, 3)), np.array([2]), np.array([4]))).round(4)
    array([1.6864], dtype=float32)
    """
    target, output = jnp.asarray(target).astype(jnp.int32), _x(output)
    batch, max_label = target.shape
    steps = output.shape[1]
    logit_pad = (jnp.arange(steps)[None, :] >= jnp.asarray(output_length)[:, None]).astype(output.dtype)
    label_pad = (jnp.arange(max_label)[None, :] >= jnp.asarray(target_length)[:, None]).astype(output.dtype)
    return optax.ctc_loss(jax.nn.log_softmax(output, axis=-1), logit_pad, target, label_pad, blank_id=mask_index)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over ``(batch, length, heads, dim)`` tensors (``jax.nn.dot_product_attention``).

    Args:
        query: Queries ``(batch, q_length, heads, dim)``.
        key: Keys ``(batch, kv_length, heads, dim)``.
        value: Values ``(batch, kv_length, heads, dim)``.
        bias: Added to the logits, or None.
        mask: Booleans: True where attention is allowed, or None.
        scale: The logits' scale (None: ``1/sqrt(dim)``).
        is_causal: Whether to apply a causal mask.
        flash_attention: Accepted for Keras compatibility; only None/False.
        attn_logits_soft_cap: Accepted for Keras compatibility; only None.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.dot_product_attention(np.ones((1, 2, 1, 2)), np.ones((1, 2, 1, 2)), np.arange(4.0).reshape(1, 2, 1, 2))
    Array([[[[1., 2.]],
    <BLANKLINE>
            [[1., 2.]]]], dtype=float32)
    """
    if flash_attention:
        raise ValueError("dot_product_attention(flash_attention=True) is not supported here; use the default.")
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention(attn_logits_soft_cap=...) is not supported here.")
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal)
