"""Keras's ``keras.ops.nn`` over class scores and targets: softmaxes, one- and multi-hot encodings, the
crossentropy and CTC losses, and PSNR."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from highlevel.ops._common import _EPSILON, _x

__all__ = ["softmax", "log_softmax", "sparsemax", "one_hot", "multi_hot", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "ctc_loss", "psnr"]


def _no_sparse(sparse, name: str) -> None:
    if sparse:
        raise ValueError(f"{name}(sparse=True): JAX has no sparse tensors here; use sparse=False (dense).")


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
    >>> ops.sparsemax(np.array([1.0, 1.0, 0.0, 0.5]))
    Array([0.5, 0.5, 0. , 0. ], dtype=float32)
    """
    x = _x(x)
    ranked = -jnp.sort(-x, axis=axis)
    cumsum = jnp.cumsum(ranked, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = ranked - (cumsum - 1) / r > 0
    k = jnp.sum(support, axis=axis, keepdims=True)
    # tau = (sum of the k largest - 1) / k. Keras 3.15's JAX backend sums the cumulative sums
    # instead, which zeroes every output once two entries survive ([1, 1, 0] -> [0, 0, 0]).
    tau = (jnp.sum(jnp.where(support, ranked, 0.0), axis=axis, keepdims=True) - 1) / k
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
