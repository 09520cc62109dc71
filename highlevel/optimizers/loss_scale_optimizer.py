"""Dynamic loss scaling around another optimizer, as ``keras.optimizers.LossScaleOptimizer``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from highlevel.optimizers.base import Optimizer, _tree_map

__all__ = ["LossScaleOptimizer", "LossScaleState"]


class LossScaleState(NamedTuple):
    """The state of a ``LossScaleOptimizer``: the inner optimizer's, the scale and the good-step count.

    Args:
        inner: The inner optimizer's state (left as it was by a skipped step).
        scale: The current loss scale (float32; Keras's ``dynamic_scale``).
        step_counter: Steps with finite gradients since the scale last changed (int32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> tx = hl.optimizers.LossScaleOptimizer(hl.optimizers.SGD(), initial_scale=8.0).to_optax()
    >>> state = tx.init({"w": jnp.zeros(2)})
    >>> float(state.scale), int(state.step_counter)
    (8.0, 0)
    """

    inner: Any
    scale: jax.Array
    step_counter: jax.Array


def _all_finite(grads) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves]))


def loss_scaling(inner: optax.GradientTransformation, initial_scale: float,
                 dynamic_growth_steps: int) -> optax.GradientTransformation:
    """Keras's dynamic loss scaling around ``inner`` (the gradients come scaled by ``state.scale``).

    Finite gradients: unscaled and passed to ``inner``; after ``dynamic_growth_steps`` such
    steps in a row the scale doubles. A non-finite gradient anywhere: the step is skipped
    (the weights and ``inner``'s state stay as they are) and the scale halves.
    """
    growth = int(dynamic_growth_steps)

    def init_fn(params):
        return LossScaleState(inner=inner.init(params),
                              scale=jax.device_put(np.asarray(initial_scale, np.float32)),
                              step_counter=jax.device_put(np.zeros((), np.int32)))

    def update_fn(grads, state, params=None):
        finite = _all_finite(grads)
        grow = state.step_counter == growth - 1
        # Both outcomes computed and one kept, by selects (cheaper than a lax.cond on XLA:CPU,
        # which copies the optimizer state through its branches); a non-finite update is dropped.
        unscaled = _tree_map(lambda g: g / state.scale.astype(g.dtype), grads)
        updates, inner_state = inner.update(unscaled, state.inner, params)
        updates = _tree_map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
        inner_state = _tree_map(lambda new, old: jnp.where(finite, new, old), inner_state, state.inner)
        scale = jnp.where(finite, jnp.where(grow, state.scale * 2.0, state.scale), state.scale * 0.5)
        counter = jnp.where(finite & ~grow, state.step_counter + 1, 0).astype(jnp.int32)
        return updates, LossScaleState(inner_state, scale, counter)

    return optax.GradientTransformation(init_fn, update_fn)


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around another optimizer, as ``keras.optimizers.LossScaleOptimizer``.

    The train step multiplies the loss by the current scale before differentiating, so that
    small float16 gradients do not underflow; this optimizer divides the gradients by it
    again. A step whose gradients are not all finite is skipped (weights, the inner
    optimizer's state and its ``iterations`` unchanged) and the scale halves; after
    ``dynamic_growth_steps`` finite steps in a row the scale doubles. ``compile`` wraps the
    optimizer in one by itself under the ``"mixed_float16"`` policy. The scale is an array
    in the optimizer state: it never recompiles the step and it is saved and restored.

    Args:
        inner_optimizer: The optimizer to wrap (anything ``hl.optimizers.get`` accepts).
        initial_scale: The first loss scale (a large one is soon lowered).
        dynamic_growth_steps: Double the scale after this many steps with finite gradients.
        name: The optimizer's name.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> opt = hl.optimizers.LossScaleOptimizer(hl.optimizers.SGD(0.1), initial_scale=4.0)
    >>> tx = opt.to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": jnp.array([4.0, jnp.inf])}, state, params)   # skipped
    >>> np.asarray(updates["w"]).tolist(), float(opt.loss_scale(state))
    ([0.0, 0.0], 2.0)
    >>> updates, state = tx.update({"w": jnp.array([2.0, 2.0])}, state, params)   # 2.0 / scale 2.0
    >>> print(np.asarray(updates["w"]).round(3))
    [-0.1 -0.1]
    """

    default_name = "loss_scale_optimizer"

    def __init__(self, inner_optimizer, initial_scale: float = 2.0 ** 15, dynamic_growth_steps: int = 2000,
                 name: str | None = None):
        from highlevel import optimizers as _optimizers
        inner = _optimizers.get(inner_optimizer)
        if isinstance(inner, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer got another LossScaleOptimizer to wrap: wrap the inner "
                             "optimizer once.")
        try:
            scale = float(initial_scale)
        except (TypeError, ValueError):
            scale = float("nan")
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"LossScaleOptimizer initial_scale must be a positive number, got {initial_scale!r}.")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, (int, np.integer)) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"LossScaleOptimizer dynamic_growth_steps must be an integer >= 1, got "
                             f"{dynamic_growth_steps!r}.")
        if getattr(inner, "loss_scale_factor", None) is not None:
            raise ValueError("LossScaleOptimizer's inner optimizer has a loss_scale_factor: the loss would be "
                             "scaled twice. Set loss_scale_factor=None on the inner optimizer.")
        self.inner_optimizer = inner
        self.initial_scale = scale
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.name = name or self.default_name
        # Keras's base arguments do not apply to the wrapper (they belong to the inner optimizer).
        self._learning_rate = None
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = False, 0.99, None
        self.loss_scale_factor = self.gradient_accumulation_steps = None
        self._getter = self._setter = self._state_getter = None

    # -- what the trainer and callbacks use ---------------------------------------------------

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    @property
    def is_scheduled(self) -> bool:
        return bool(getattr(self.inner_optimizer, "is_scheduled", False))

    def bind(self, getter, setter, state_getter=None) -> None:
        """The trainer's binding (see ``Optimizer.bind``), passed on to the inner optimizer."""
        self._state_getter = state_getter
        self.inner_optimizer.bind(getter, setter, state_getter)

    def unbind(self) -> None:
        self._state_getter = None
        self.inner_optimizer.unbind()

    def loss_scale(self, opt_state) -> jax.Array | float:
        """The current loss scale in ``opt_state`` (``initial_scale`` when there is no state yet)."""
        states = _find_state(opt_state)
        return self.initial_scale if states is None else states.scale

    def to_optax(self) -> optax.GradientTransformation:
        return loss_scaling(self.inner_optimizer.to_optax(), self.initial_scale, self.dynamic_growth_steps)

    def to_optax_for(self, model, trainable_paths) -> optax.GradientTransformation:
        """The transformation for ``model``'s weights (an inner ``MultiOptimizer`` needs the model)."""
        to_optax_for = getattr(self.inner_optimizer, "to_optax_for", None)
        inner = to_optax_for(model, trainable_paths) if to_optax_for is not None else self.inner_optimizer.to_optax()
        return loss_scaling(inner, self.initial_scale, self.dynamic_growth_steps)

    # -- config -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        from highlevel import optimizers as _optimizers
        return {"name": self.name, "inner_optimizer": _optimizers.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LossScaleOptimizer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"LossScaleOptimizer({self.inner_optimizer!r}, initial_scale={self.initial_scale})"


def _find_state(node) -> LossScaleState | None:
    if isinstance(node, LossScaleState):
        return node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, (tuple, list)) else ()
    for child in children:
        found = _find_state(child)
        if found is not None:
            return found
    return None
