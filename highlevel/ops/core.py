"""Keras's core operations (``keras.ops``): conversion, shapes, control flow and scatter/slice updates."""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.ops.einops import rearrange
from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["cast", "convert_to_tensor", "convert_to_numpy", "is_tensor", "shape", "dtype", "saturate_cast", "cond",
           "switch", "scan", "associative_scan", "map", "vectorized_map", "fori_loop", "while_loop",
           "stop_gradient", "custom_gradient", "scatter", "scatter_update", "slice", "slice_update",
           "unstack", "rearrange"]


def _dtype(dtype):
    return None if dtype is None else jnp.dtype(getattr(dtype, "name", dtype))


def cast(x, dtype):
    """Casts a tensor to ``dtype``.

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.cast(np.array([1.7, -2.2]), 'int32')
    Array([ 1, -2], dtype=int32)
    """
    return jnp.asarray(x).astype(_dtype(dtype))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A JAX array from a NumPy array, a list or a scalar.

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).
        sparse: Accepted for Keras compatibility; only ``False`` is supported (JAX has no sparse tensors here).
        ragged: Accepted for Keras compatibility; only ``False``/None is supported.

    >>> from highlevel import ops
    >>> ops.convert_to_tensor([1, 2, 3], dtype='float32')
    Array([1., 2., 3.], dtype=float32)
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor(sparse=True/ragged=True): JAX has no sparse or ragged tensors here; "
                         "pass dense arrays.")
    return jnp.asarray(x, dtype=_dtype(dtype))


def convert_to_numpy(x):
    """A NumPy array of a tensor (copied to the host).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> ops.convert_to_numpy(ops.ones((2,)))
    array([1., 1.], dtype=float32)
    """
    return np.asarray(x)


def is_tensor(x):
    """Whether ``x`` is a JAX array (a tensor of this backend).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> ops.is_tensor(ops.ones(2)), ops.is_tensor([1.0])
    (True, False)
    """
    return isinstance(x, jax.Array)


def shape(x):
    """The shape of a tensor, as a tuple (static under ``jax.jit``).

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> ops.shape(ops.zeros((2, 3)))
    (2, 3)
    """
    return tuple(jnp.shape(x))


def dtype(x):
    """The dtype of a tensor, as a string.

    Args:
        x: Input tensor.

    >>> from highlevel import ops
    >>> ops.dtype(ops.zeros(2))
    'float32'
    """
    return str(jnp.asarray(x).dtype)


def saturate_cast(x, dtype):
    """Casts to ``dtype``, clipping values to its range first (no wrap-around).

    Args:
        x: Input tensor.
        dtype: The result's dtype (None: inferred, as Keras).

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.saturate_cast(np.array([-1, 300]), 'uint8')
    Array([  0, 255], dtype=uint8)
    """
    dtype = _dtype(dtype)
    x = jnp.asarray(x)
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
        x = jnp.clip(x, info.min, info.max)
    elif jnp.issubdtype(dtype, jnp.floating) and jnp.issubdtype(x.dtype, jnp.floating):
        info = jnp.finfo(dtype)
        x = jnp.clip(x, info.min, info.max)
    return x.astype(dtype)


def cond(pred, true_fn, false_fn):
    """Calls ``true_fn()`` or ``false_fn()`` depending on ``pred`` (``jax.lax.cond``; both are traced).

    Args:
        pred: A scalar boolean.
        true_fn: The function called when ``pred`` is true.
        false_fn: The function called when ``pred`` is false.

    >>> from highlevel import ops
    >>> ops.cond(ops.convert_to_tensor(True), lambda: 1.0, lambda: 2.0)
    Array(1., dtype=float32, weak_type=True)
    """
    return jax.lax.cond(pred, true_fn, false_fn)


def switch(index, branches, *operands):
    """Calls ``branches[index](*operands)`` (``jax.lax.switch``; the index is clamped to the branches).

    Args:
        index: Which branch to run (an integer).
        branches: The functions to choose from.
        *operands: The arguments passed to the branch.

    >>> from highlevel import ops
    >>> ops.switch(1, [lambda x: x + 1, lambda x: x * 10], ops.ones(2))
    Array([10., 10.], dtype=float32)
    """
    return jax.lax.switch(index, branches, *operands)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs`` (``jax.lax.scan``).

    Args:
        f: The function.
        init: The initial carry.
        xs: The values looped over, along their first axis (None: ``length`` steps without input).
        length: The number of iterations (when ``xs`` is None).
        reverse: Whether to scan from the end.
        unroll: How many iterations to unroll.

    >>> from highlevel import ops
    >>> ops.scan(lambda c, x: (c + x, c * x), 0.0, ops.arange(1.0, 4.0))
    (Array(6., dtype=float32), Array([0., 2., 9.], dtype=float32))
    """
    return jax.lax.scan(f, init, xs=xs, length=length, reverse=reverse, unroll=unroll)


def associative_scan(f, elems, reverse=False, axis=0):
    """A parallel prefix scan with an associative ``f`` (``jax.lax.associative_scan``).

    Args:
        f: The function.
        elems: The tensor(s) to scan.
        reverse: Whether to scan from the end.
        axis: The axis to scan along.

    >>> from highlevel import ops
    >>> ops.associative_scan(lambda a, b: a + b, ops.arange(1, 5))
    Array([ 1,  3,  6, 10], dtype=int32)
    """
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def map(f, xs):
    """Applies ``f`` to each slice of ``xs`` along its first axis (sequentially).

    Args:
        f: The function.
        xs: The tensor(s) to map over.

    >>> from highlevel import ops
    >>> ops.map(lambda v: v * 2, ops.arange(3))
    Array([0, 2, 4], dtype=int32)
    """
    return jax.lax.map(f, xs)


def vectorized_map(function, elements):
    """Applies ``function`` to each slice along the first axis, vectorized (``jax.vmap``).

    Args:
        function: The function.
        elements: The tensors to map over (their first axis).

    >>> from highlevel import ops
    >>> ops.vectorized_map(lambda v: ops.sum(v), ops.ones((2, 3)))
    Array([3., 3.], dtype=float32)
    """
    return jax.vmap(function)(elements)


def fori_loop(lower, upper, body_fun, init_val):
    """Runs ``value = body_fun(i, value)`` for ``i`` in ``range(lower, upper)`` (``jax.lax.fori_loop``).

    Args:
        lower: The first index.
        upper: The end index (excluded).
        body_fun: ``body_fun(i, value) -> value``.
        init_val: The initial value.

    >>> from highlevel import ops
    >>> ops.fori_loop(0, 4, lambda i, v: v + i, 0)
    Array(6, dtype=int32, weak_type=True)
    """
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds (Keras's unpacked arguments).

    Args:
        cond: A function of the loop variables returning a boolean.
        body: A function of the loop variables returning their new values.
        loop_vars: The loop variables (a tensor, or a tuple/list of them).
        maximum_iterations: An upper bound on the iterations (None: none).

    >>> from highlevel import ops
    >>> ops.while_loop(lambda i: i < 10, lambda i: i * 3, 1)
    Array(27, dtype=int32, weak_type=True)
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    if maximum_iterations is not None:
        state = state + (0,)

        def test(args):
            return jnp.logical_and(cond(*args[:-1]), args[-1] < maximum_iterations)

        def step(args):
            out = body(*args[:-1])
            return (tuple(out) if is_tuple else (out,)) + (args[-1] + 1,)
    else:

        def test(args):
            return cond(*args)

        def step(args):
            out = body(*args)
            return tuple(out) if is_tuple else (out,)

    out = jax.lax.while_loop(test, step, state)
    if maximum_iterations is not None:
        out = out[:-1]
    return out if is_tuple else out[0]


def stop_gradient(variable):
    """The same values, with no gradient flowing back.

    Args:
        variable: The tensor to stop gradients through.

    >>> from highlevel import ops
    >>> ops.stop_gradient(ops.ones(2))
    Array([1., 1.], dtype=float32)
    """
    return jax.lax.stop_gradient(variable)


def custom_gradient(f):
    """Decorates ``f(*args) -> (value, grad_fn)`` so that ``grad_fn(upstream)`` gives its gradient (``jax.custom_gradient``).

    Args:
        f: The function.

    >>> from highlevel import ops
    >>> clipped = ops.custom_gradient(lambda x: (x, lambda g: ops.clip(g, -1.0, 1.0)))
    >>> float(__import__('jax').grad(lambda v: 5 * clipped(v))(2.0))
    1.0
    """
    return jax.custom_gradient(f)


def scatter(indices, values, shape):
    """A tensor of ``shape`` holding zeros, with ``values`` added at ``indices`` (``indices[..., d]`` indexes axis d).

    Args:
        indices: ``(n, rank)`` integer coordinates.
        values: The ``n`` values (repeated coordinates add).
        shape: The shape, a tuple of ints.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.scatter(np.array([[0, 1], [1, 0]]), np.array([5.0, 7.0]), (2, 2))
    Array([[0., 5.],
           [7., 0.]], dtype=float32)
    """
    values = jnp.asarray(values)
    zeros = jnp.zeros(tuple(shape), values.dtype)
    return zeros.at[tuple(jnp.moveaxis(jnp.asarray(indices), -1, 0))].add(values)


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with the entries at ``indices`` replaced by (or combined with) ``updates``.

    Args:
        inputs: Input tensor.
        indices: ``(n, rank)`` integer coordinates.
        updates: The ``n`` new values.
        reduction: None (overwrite) or "add", "max", "min", "mul".

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.scatter_update(ops.zeros((2, 3)), [[0, 1], [1, 2]], np.array([5.0, 6.0]))
    Array([[0., 5., 0.],
           [0., 0., 6.]], dtype=float32)
    """
    idx = tuple(jnp.transpose(jnp.asarray(indices)))
    at = jnp.asarray(inputs).at[idx]
    if reduction is None:
        return at.set(updates)
    ops = {"add": at.add, "max": at.max, "min": at.min, "mul": at.multiply}
    if reduction not in ops:
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', got {reduction!r}.")
    return ops[reduction](updates)


def slice(inputs, start_indices, shape):
    """The block of ``shape`` starting at ``start_indices`` (starts may be traced).

    Args:
        inputs: Input tensor.
        start_indices: The start index along each axis.
        shape: The block's shape.

    >>> from highlevel import ops
    >>> ops.slice(ops.arange(12).reshape(3, 4), (1, 1), (2, 2))
    Array([[ 5,  6],
           [ 9, 10]], dtype=int32)
    """
    return jax.lax.dynamic_slice(jnp.asarray(inputs), tuple(start_indices), tuple(shape))


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    Args:
        inputs: Input tensor.
        start_indices: The start index along each axis.
        updates: The values written.

    >>> from highlevel import ops
    >>> ops.slice_update(ops.zeros((3, 3)), (1, 1), ops.ones((2, 2)))
    Array([[0., 0., 0.],
           [0., 1., 1.],
           [0., 1., 1.]], dtype=float32)
    """
    return jax.lax.dynamic_update_slice(jnp.asarray(inputs), jnp.asarray(updates), tuple(start_indices))


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list.

    Args:
        x: Input tensor.
        num: The expected number of slices (None: the axis size).
        axis: The axis to unstack.

    >>> from highlevel import ops
    >>> ops.unstack(ops.arange(4).reshape(2, 2))
    [Array([0, 1], dtype=int32), Array([2, 3], dtype=int32)]
    """
    x = jnp.asarray(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} but axis {axis} has size {x.shape[axis]}.")
    return [jnp.squeeze(part, axis) for part in jnp.split(x, x.shape[axis], axis=axis)]

dispatch_namespace("core", globals(), __all__)   # calls on symbolic tensors become graph nodes
