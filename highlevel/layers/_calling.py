"""How a layer call runs on arrays: the inputs cast to the compute dtype, the layer built for
them, the training flag, key and masks set, and ``call`` run under autocast and
rematerialisation, with the losses it adds collected.

``Layer`` (``highlevel/layers/base.py``) keeps the public methods (``__call__``,
``call_with_mask``, ``build_for_call``); this module holds the work behind them.
"""

from __future__ import annotations

import functools
import inspect

import jax

from highlevel import mixed_precision as _mixed_precision
from highlevel.layers import remat as _remat
from highlevel.layers._context import (_EAGER_LOSSES, _is_traced, call_context, current_context,
                                       keep_eager_losses)
from highlevel.layers._shapes import _as_shape
from highlevel.layers.input_spec import assert_input_compatibility
from highlevel.utils import global_state as _global_state


def _call_params(cls: type) -> frozenset:
    cache = _global_state.global_attribute("layer_call_params", dict)
    params = cache.get(cls)
    if params is None:
        params = cache[cls] = frozenset(inspect.signature(cls.call).parameters)
    return params


def _is_symbolic(inputs) -> bool:
    from highlevel.layers.symbolic import KerasTensor
    return any(isinstance(leaf, KerasTensor) for leaf in jax.tree_util.tree_leaves(
        inputs, is_leaf=lambda x: isinstance(x, KerasTensor)))


def _marks_built(build):
    """Wraps a subclass's ``build`` so that calling it directly also marks the layer built (as Keras)."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        # One input: its shape; several (``build(query_shape, value_shape)``): the first's.
        input_shape = args[0] if args else next(iter(kwargs.values()), None)
        if self.build_input_shape is None and input_shape is not None:
            self.build_input_shape = _as_shape(input_shape)
        return result
    return wrapper


def _positional_names(cls: type, count: int) -> list[str]:
    """The names ``call`` gives its first ``count`` positional arguments (``inputs``, ``value``...)."""
    names = []
    for param in list(inspect.signature(cls.call).parameters.values())[1:]:
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            names.append(param.name)
    return names[:count] + [f"arg_{i}" for i in range(len(names), count)]


def _has_arrays(tree) -> bool:
    return any(hasattr(leaf, "shape") and hasattr(leaf, "dtype") for leaf in jax.tree_util.tree_leaves(tree))


def invoke(layer, inputs, args, kwargs, with_mask: bool):
    """What ``layer(inputs, ...)`` and ``layer.call_with_mask`` run on arrays (``with_mask``: the
    latter, which also returns the output mask)."""
    inputs = jax.tree_util.tree_map(layer._cast_input, inputs)
    if args:
        args = jax.tree_util.tree_map(layer._cast_input, args)
    if layer.input_spec is not None:
        assert_input_compatibility(layer.input_spec, inputs, layer.name)
    if not layer.built:
        layer.build_for_call(inputs, args, kwargs)
    else:
        layer._check_input_shape(inputs)
    params = _call_params(type(layer))
    training = kwargs.pop("training", None)
    rng = kwargs.pop("rng", None)
    mask = kwargs.pop("mask", None)
    if mask is None and isinstance(inputs, (list, tuple, dict)):
        mask = jax.tree_util.tree_map(lambda _: None, inputs)  # Keras: one (None) mask per input
    ctx = current_context()
    if training is None:
        training = ctx.training if ctx is not None else False
    if "training" in params:
        kwargs["training"] = training

    def run():
        if with_mask and getattr(layer, "remat_mode", None) is not None and not jax.tree_util.tree_leaves(mask):
            # A rematerialised block (a model too) without masks: its whole call under jax.checkpoint.
            call = _remat.rematerialized_call(layer, inputs)
            out = regularize_activity(layer, autocast_call(layer, call, inputs, *args, **kwargs))
            return out, (layer.compute_mask(inputs, mask) if layer.supports_masking else None)
        if with_mask:
            result = autocast_call(layer, layer.masked_call, inputs, *args, mask=mask, **kwargs)
            regularize_activity(layer, result[0])
            return result
        if "mask" in params:
            kwargs["mask"] = mask
        call = _remat.rematerialized_call(layer, inputs)  # layer.call, or under jax.checkpoint
        return regularize_activity(layer, autocast_call(layer, call, inputs, *args, **kwargs))

    if ctx is None or rng is not None:
        # An outermost call (or one given its own key): ``rng`` keys the random layers inside
        # (dropout masks); in a trace without one, next_rng_key refuses rather than fix one
        # mask for every call. The context also collects the calls' ``add_loss`` values.
        traced = _is_traced((inputs, args))
        with call_context(training=training, rng=rng) as inner:
            inner.traced = rng is None and traced
            result = run()
        if ctx is not None:
            ctx.losses.extend(inner.losses)
        elif not traced and (inner.losses or len(_EAGER_LOSSES)):
            keep_eager_losses(layer, inner.losses)
        return result
    if training != ctx.training:
        # An explicit training flag (``base(x, training=False)``) holds for the layers inside.
        outer, ctx.training = ctx.training, training
        try:
            return run()
        finally:
            ctx.training = outer
    return run()


def build_for_call(layer, inputs, args=(), kwargs=None) -> None:
    """The body of ``Layer.build_for_call``."""
    from highlevel.layers.base import Layer  # base imports this module
    if layer.built:
        return
    shape_of = lambda x: tuple(x.shape) if hasattr(x, "shape") and hasattr(x, "dtype") else x
    shapes = jax.tree_util.tree_map(shape_of, inputs)
    kwargs = kwargs or {}
    tensor_args = {name: value for name, value in zip(_positional_names(type(layer), 1 + len(args))[1:], args)
                   if _has_arrays(value)}
    tensor_args.update({k: v for k, v in kwargs.items() if _has_arrays(v) and not k.endswith("mask")})
    if tensor_args and type(layer).build is not Layer.build:
        build_params = inspect.signature(layer.build).parameters
        first = _positional_names(type(layer), 1)[0]
        named = {f"{first}_shape": shapes,
                 **{f"{k}_shape": jax.tree_util.tree_map(shape_of, v) for k, v in tensor_args.items()}}
        wanted = [p for p in build_params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if wanted and all(p.name in named or p.default is not p.empty for p in wanted) \
                and any(p.name in named for p in wanted):
            layer.build(**{p.name: named[p.name] for p in wanted if p.name in named})
            layer.build_input_shape = shapes
            layer.built = True
            return
    layer.maybe_build(shapes)


def autocast_call(layer, call, inputs, *args, **kwargs):
    """``call``, with the weights read in the compute dtype under a mixed policy (Keras's AutocastScope)."""
    current = _mixed_precision.autocast_dtype()
    if not layer._dtype_policy.is_mixed and (current is None or current == layer.compute_dtype):
        return call(inputs, *args, **kwargs)
    with _mixed_precision.autocast_scope(layer.compute_dtype):
        return call(inputs, *args, **kwargs)


def regularize_activity(layer, outputs):
    if layer.activity_regularizer is not None:
        from highlevel.layers.activity import add_activity_loss
        add_activity_loss(layer.activity_regularizer, outputs, layer=layer)
    return outputs
