"""What Keras's optimizers do around their update rule, as one optax wrapper.

Keras 3 (``BaseOptimizer.apply`` and its JAX ``_backend_apply_gradients``), in this order:

1. unscale the gradients by ``loss_scale_factor``;
2. gradient accumulation: add the gradients to an accumulator; every
   ``gradient_accumulation_steps``-th batch apply ``(g + accumulated) / steps`` and reset
   it, otherwise leave the weights and the optimizer's state as they are;
3. clip (``clipnorm``/``clipvalue``/``global_clipnorm``), decay the weights and run the
   update rule (inside ``Optimizer._transform``; here only for a raw optax transformation);
4. EMA: ``average = m * average + (1 - m) * weight`` after every batch, with ``m = 0`` while
   no update has been applied yet (so the first average is the first iterate) and
   ``ema_momentum`` afterwards; every ``ema_overwrite_frequency``-th update the weights
   take the averages.

Everything this adds is an array in the optimizer's state (``NumericsState``), so none of
it recompiles the step, and snapshots, backups and saved models carry it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["NumericsState", "wrap", "iterations", "has_ema", "ema_weights", "swap_ema_weights",
           "set_ema_weights"]


class NumericsState(NamedTuple):
    """The state of :func:`wrap`: the inner optimizer's, and what Keras keeps beside it.

    Args:
        inner: The wrapped transformation's state.
        iterations: The number of updates applied so far (Keras's ``optimizer.iterations``:
            with gradient accumulation, batches // steps), an int32 scalar.
        accumulator: The sum of this cycle's gradients, shaped like the parameters (None
            without gradient accumulation).
        accumulated: The number of batches summed in ``accumulator`` (int32; None without).
        average: The exponential moving average of the weights (None without ``use_ema``).

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> tx = hl.optimizers.numerics.wrap(optax.sgd(0.1), use_ema=True)
    >>> state = tx.init({"w": jnp.ones(2)})
    >>> int(state.iterations), state.accumulator is None, state.average["w"].tolist()
    (0, True, [0.0, 0.0])
    """

    inner: Any
    iterations: jax.Array
    accumulator: Any = None
    accumulated: Any = None
    average: Any = None


def _int_zero():
    return jax.device_put(np.zeros((), np.int32))


def _tree_map(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def _check_args(gradient_accumulation_steps, use_ema, ema_momentum, ema_overwrite_frequency,
                loss_scale_factor) -> None:
    k = gradient_accumulation_steps
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2):
        raise ValueError(f"gradient_accumulation_steps must be an integer >= 2 (or None for no accumulation), "
                         f"got {k!r}.")
    if use_ema:
        if isinstance(ema_momentum, bool) or not isinstance(ema_momentum, (int, float)) or \
                not 0.0 <= float(ema_momentum) <= 1.0:
            raise ValueError(f"ema_momentum must be a number in [0, 1], got {ema_momentum!r}.")
        f = ema_overwrite_frequency
        if f is not None and (isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1):
            raise ValueError(f"ema_overwrite_frequency must be an integer >= 1 (or None: the averages replace the "
                             f"weights at the end of fit), got {f!r}.")
    if loss_scale_factor is not None:
        try:
            ok = np.isfinite(float(loss_scale_factor)) and float(loss_scale_factor) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"loss_scale_factor must be a positive number (or None), got {loss_scale_factor!r}.")


def wrap(inner: optax.GradientTransformation, *, gradient_accumulation_steps: int | None = None,
         use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
         loss_scale_factor: float | None = None,
         clip: Callable[[Any], Any] | None = None) -> optax.GradientTransformation:
    """``inner`` with Keras's gradient accumulation, EMA weights and loss-scale unscaling around it.

    Every ``hl.optimizers`` optimizer applies this inside its ``to_optax()`` when one of these
    arguments is set; use it directly around any optax transformation.

    Args:
        inner: The update rule (an optax transformation).
        gradient_accumulation_steps: Apply the mean of this many batches' gradients once,
            every this many batches (None: every batch).
        use_ema: Keep an exponential moving average of the weights.
        ema_momentum: The average's momentum: ``average = m * average + (1 - m) * weight``.
        ema_overwrite_frequency: Every this many applied updates, the weights take their
            averages (None: never during training).
        loss_scale_factor: Divide the gradients by this first (the loss was multiplied by it).
        clip: A function applied to the (accumulated) gradients before ``inner``.

    Returns:
        The transformation; its state is a :class:`NumericsState`. With EMA it needs the
        parameters: ``tx.update(grads, state, params)``.

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> tx = hl.optimizers.numerics.wrap(optax.sgd(1.0), gradient_accumulation_steps=2)
    >>> params = {"w": jnp.zeros(1)}
    >>> state = tx.init(params)
    >>> u1, state = tx.update({"w": jnp.array([1.0])}, state, params)   # accumulated, not applied
    >>> u2, state = tx.update({"w": jnp.array([3.0])}, state, params)   # the mean (1 + 3) / 2 applied
    >>> u1["w"].tolist(), u2["w"].tolist(), int(state.iterations)
    ([0.0], [-2.0], 1)
    """
    _check_args(gradient_accumulation_steps, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor)
    k = None if gradient_accumulation_steps is None else int(gradient_accumulation_steps)
    momentum = float(ema_momentum)
    frequency = None if ema_overwrite_frequency is None else int(ema_overwrite_frequency)
    factor = None if loss_scale_factor is None else float(loss_scale_factor)

    def init_fn(params):
        from highlevel.optimizers.base import _zeros_like
        return NumericsState(inner=inner.init(params), iterations=_int_zero(),
                             accumulator=_zeros_like(params) if k else None,
                             accumulated=_int_zero() if k else None,
                             average=_zeros_like(params) if use_ema else None)

    def update_fn(grads, state, params=None):
        if use_ema and params is None:
            raise ValueError("An optimizer with use_ema=True needs the parameters: call "
                             "tx.update(grads, opt_state, params).")
        if factor is not None:
            grads = _tree_map(lambda g: g / jnp.asarray(factor, g.dtype), grads)
        done = state.iterations
        if k:
            is_update = state.accumulated + 1 >= k
            summed = _tree_map(lambda g, a: g + a, grads, state.accumulator)
            mean = _tree_map(lambda s: s / k, summed)
            # The update is computed every batch and kept every k-th (as Keras's JAX optimizer): on
            # XLA:CPU these selects fuse into the elementwise passes, where a lax.cond copied the
            # optimizer state through its branches (the Adam update of the benchmark MLP cost
            # about 2x more that way).
            updates, inner_state = inner.update(clip(mean) if clip else mean, state.inner, params)
            updates = _tree_map(lambda u: jnp.where(is_update, u, jnp.zeros_like(u)), updates)
            inner_state = _tree_map(lambda new, old: jnp.where(is_update, new, old), inner_state, state.inner)
            accumulator = _tree_map(lambda s: jnp.where(is_update, jnp.zeros_like(s), s), summed)
            accumulated = jnp.where(is_update, 0, state.accumulated + 1).astype(jnp.int32)
            applied = done + is_update.astype(jnp.int32)
        else:
            updates, inner_state = inner.update(clip(grads) if clip else grads, state.inner, params)
            accumulator = accumulated = None
            applied = done + 1
        average = state.average
        if use_ema:
            new_params = optax.apply_updates(params, updates)
            m = jnp.where(done != 0, jnp.float32(momentum), jnp.float32(0.0))
            average = _tree_map(lambda a, p: m.astype(p.dtype) * a + (1 - m).astype(p.dtype) * p,
                                average, new_params)
            if frequency:
                overwrite = (done + 1) % frequency == 0
                updates = _tree_map(lambda u, a, p: jnp.where(overwrite, (a - p).astype(u.dtype), u),
                                    updates, average, params)
        return updates, NumericsState(inner_state, applied.astype(jnp.int32), accumulator, accumulated, average)

    return optax.GradientTransformation(init_fn, update_fn)


# -- reading and changing the state ------------------------------------------------------------


def _children(node):
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (tuple, list)):
        return list(node)
    return []


def _find_all(node, cls) -> list:
    if isinstance(node, cls):
        return [node]
    return [found for child in _children(node) for found in _find_all(child, cls)]


def _replace(node, fn):
    """``node`` rebuilt with ``fn`` applied to each ``NumericsState`` (only along paths to one)."""
    if isinstance(node, NumericsState):
        return fn(node)
    if not _find_all(node, NumericsState):
        return node
    if isinstance(node, dict):
        return type(node)((key, _replace(value, fn)) for key, value in node.items())
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return type(node)(*(_replace(child, fn) for child in node))
    return type(node)(_replace(child, fn) for child in node)


def iterations(opt_state) -> jax.Array | None:
    """The number of updates applied (Keras's ``optimizer.iterations``), read from an optimizer state.

    With gradient accumulation this counts applied updates (batches // steps); a step that
    a ``LossScaleOptimizer`` skipped does not count. None for a state that keeps no count.

    Args:
        opt_state: The state of an ``hl.optimizers`` optimizer's transformation.

    Returns:
        An int32 scalar array, or None.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> tx = hl.optimizers.SGD(0.1, gradient_accumulation_steps=2).to_optax()
    >>> params = {"w": jnp.ones(1)}
    >>> state = tx.init(params)
    >>> for _ in range(5):
    ...     _, state = tx.update({"w": jnp.ones(1)}, state, params)
    >>> int(hl.optimizers.iterations(state))
    2
    """
    from highlevel.optimizers.base import KerasOptimizerState
    found = _find_all(opt_state, NumericsState)
    if found:
        return found[0].iterations
    found = _find_all(opt_state, KerasOptimizerState)
    return found[0].count if found else None


def _averaged(state: NumericsState) -> bool:
    return state.average is not None


def has_ema(opt_state) -> bool:
    """Whether an optimizer state keeps moving averages of the weights (``use_ema=True``).

    Args:
        opt_state: An optimizer state.

    Returns:
        True when some part of the optimizer (a ``MultiOptimizer`` group, say) keeps averages.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> params = {"w": jnp.ones(1)}
    >>> hl.optimizers.has_ema(hl.optimizers.Adam(use_ema=True).to_optax().init(params))
    True
    """
    return any(_averaged(s) for s in _find_all(opt_state, NumericsState))


def _is_masked(x) -> bool:
    return isinstance(x, optax.MaskedNode)


def _take_average(average, params):
    """``params`` with every leaf that ``average`` holds (not masked out) replaced by it."""
    return jax.tree_util.tree_map(lambda a, p: p if _is_masked(a) else a, average, params, is_leaf=_is_masked)


def _copy(a):
    # A new buffer: the state must never hold one array twice (a step donates each once).
    if isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer):
        return jax.device_put(a, None if a.is_fully_addressable else a.sharding, may_alias=False)
    return a


def _put_params(average, params):
    """``average`` with every leaf it holds replaced by (a copy of) the parameter's."""
    return jax.tree_util.tree_map(lambda a, p: a if _is_masked(a) else _copy(p), average, params,
                                  is_leaf=_is_masked)


def ema_weights(opt_state, params):
    """The weights with their moving averages in place of the values (None without ``use_ema``).

    Args:
        opt_state: An optimizer state.
        params: The trainable weights (the tree the optimizer was initialized with).

    Returns:
        A tree like ``params``: each weight that an EMA optimizer updates is its average,
        the others are as given.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> tx = hl.optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5).to_optax()
    >>> params = {"w": jnp.zeros(1)}
    >>> state = tx.init(params)
    >>> for g in (-2.0, -2.0):
    ...     updates, state = tx.update({"w": jnp.array([g])}, state, params)
    ...     params = {"w": params["w"] + updates["w"]}
    >>> params["w"].tolist(), hl.optimizers.ema_weights(state, params)["w"].tolist()   # 0.5 * 2 + 0.5 * 4
    ([4.0], [3.0])
    """
    states = [s for s in _find_all(opt_state, NumericsState) if _averaged(s)]
    if not states:
        return None
    for s in states:
        params = _take_average(s.average, params)
    return params


def swap_ema_weights(opt_state, params):
    """``(averages, opt_state)``: the averaged weights, and the state now holding ``params`` as averages.

    Swapping twice gives back what was given; ``SwapEMAWeights`` swaps around evaluation.

    Args:
        opt_state: An optimizer state with moving averages (``use_ema=True``).
        params: The trainable weights.

    Returns:
        The averaged weights (a tree like ``params``) and the new optimizer state.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> tx = hl.optimizers.SGD(1.0, use_ema=True).to_optax()
    >>> params = {"w": jnp.ones(1)}
    >>> state = tx.init(params)
    >>> averages, state = hl.optimizers.swap_ema_weights(state, params)
    >>> averages["w"].tolist(), hl.optimizers.ema_weights(state, params)["w"].tolist()
    ([0.0], [1.0])
    """
    averages = ema_weights(opt_state, params)
    if averages is None:
        raise ValueError("This optimizer keeps no moving averages of the weights: create it with use_ema=True "
                         "(e.g. hl.optimizers.Adam(use_ema=True)).")
    return averages, set_ema_weights(opt_state, params)


def set_ema_weights(opt_state, params):
    """``opt_state`` with the moving averages set to copies of ``params`` (where it keeps averages).

    Args:
        opt_state: An optimizer state with moving averages.
        params: The values the averages take (a tree like the trainable weights).

    Returns:
        The new state.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> params = {"w": jnp.full(1, 7.0)}
    >>> state = hl.optimizers.set_ema_weights(hl.optimizers.Adam(use_ema=True).to_optax().init(params), params)
    >>> hl.optimizers.ema_weights(state, {"w": jnp.zeros(1)})["w"].tolist()
    [7.0]
    """
    def put(state: NumericsState) -> NumericsState:
        if not _averaged(state):
            return state
        return state._replace(average=_put_params(state.average, params))

    return _replace(opt_state, put)
