"""Output specs by tracing (``jax.eval_shape``), and building sublayers first where tracing cannot.

What ``Layer.compute_output_spec`` and the functional graph's symbolic calls use to learn a
layer's output shapes (and masks) without running it.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import errors as _flax_errors

from highlevel.layers.base import Layer, TensorSpec, call_context

__all__ = ["eval_output_specs"]

# Size given to unknown dimensions (batch excepted, which gets 1) when a layer is built by
# running it once on zeros.
_BUILD_RUN_SIZE = 32


def _unbuilt_sublayers(layer: Layer) -> bool:
    return any(not sub.built for sub in layer.flatten_layers(include_self=False))


def _build_by_run(fn, specs) -> None:
    """Runs ``fn`` once on zeros (batch 1, other unknown sizes ``_BUILD_RUN_SIZE``), outside any
    trace, so that the layers it calls create their weights (flax refuses new variables on a
    module from inside a jax trace)."""
    zeros = [np.zeros(tuple((1 if i == 0 else _BUILD_RUN_SIZE) if d is None else d for i, d in enumerate(s.shape)),
                      s.dtype) for s in specs]
    fn(*zeros)


def eval_output_specs(layer: Layer, fn, specs: Sequence[TensorSpec]):
    """The output ``TensorSpec``\\ s of ``fn(*arrays)`` for inputs described by ``specs``, without FLOPs.

    ``fn`` is traced with ``jax.eval_shape``; unknown dimensions (None) are traced at two sizes
    (128 and 193, larger than any kernel) and output dimensions that differ come back None.
    Weights cannot be created inside a trace, so when ``layer`` holds sublayers that are not
    built yet (a custom layer whose ``__init__`` makes ``Dense`` layers and whose ``call``
    uses them), ``fn`` first runs once on zeros, which builds them.

    Args:
      layer: the layer ``fn`` calls.
      fn: a function of arrays, one per spec.
      specs: the inputs' shapes (None for unknown) and dtypes.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> layer = hl.layers.Dense(4)
    >>> layer.build((None, 3))
    >>> from highlevel.layers.base import TensorSpec
    >>> eval_output_specs(layer, layer, [TensorSpec((None, 3), jnp.float32)])
    TensorSpec(shape=(None, 4), dtype=dtype('float32'))
    """
    specs = list(specs)

    def trace(substitute: int):
        structs = [jax.ShapeDtypeStruct(tuple(substitute if d is None else d for d in s.shape), s.dtype)
                   for s in specs]
        return jax.eval_shape(fn, *structs)

    if _unbuilt_sublayers(layer):
        _build_by_run(fn, specs)
    # Larger than any kernel and far apart, so that strided and windowed outputs differ; a
    # layer with longer windows (an audio spectrogram's 2048 samples) names its own sizes.
    small, large = getattr(layer, "_unknown_dim_sizes", (128, 193))
    try:
        first = trace(small)
    except _flax_errors.TraceContextError:
        # A layer made or built a sublayer inside ``call``: build everything eagerly, then trace.
        _build_by_run(fn, specs)
        first = trace(small)
    has_unknown = any(d is None for s in specs for d in s.shape)
    second = trace(large) if has_unknown else first

    def restore(a, b):
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return TensorSpec(shape, jnp.dtype(a.dtype))

    return jax.tree_util.tree_map(restore, first, second)


def output_spec(layer: Layer, input_shape, input_dtype=None, **call_kwargs):
    """The body of ``Layer.compute_output_spec``: the output ``TensorSpec``(s) of ``layer`` for
    inputs of ``input_shape`` (and ``input_dtype``, the compute dtype by default)."""
    def is_shape(s):
        return isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)

    if input_dtype is None:
        input_dtype = jax.tree_util.tree_map(lambda s: jnp.dtype(layer.compute_dtype), input_shape,
                                             is_leaf=is_shape)
    call_kwargs = {**call_kwargs, "training": False}
    shapes, treedef = jax.tree_util.tree_flatten(input_shape, is_leaf=is_shape)
    dtypes = treedef.flatten_up_to(input_dtype)

    def run(*arrays):
        with call_context(training=False):
            return layer(jax.tree_util.tree_unflatten(treedef, arrays), **call_kwargs)

    return eval_output_specs(layer, run, [TensorSpec(tuple(s), jnp.dtype(d)) for s, d in zip(shapes, dtypes)])
