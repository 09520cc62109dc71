"""RMSprop with Keras's update rules."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


class RMSprop(Optimizer):
    """RMSprop, as ``keras.optimizers.RMSprop``.

    Epsilon goes inside the square root; the momentum buffer, if any, accumulates
    ``lr * g / sqrt(...)``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        rho: The decay rate of the moving average of squared gradients.
        momentum: The momentum factor (0: none).
        epsilon: A small constant for numerical stability.
        centered: Whether to normalize by the estimated variance of the gradient (the
            moving average of squares minus the square of the moving average).
        weight_decay: Decoupled weight decay: ``w -= w * weight_decay * lr`` each step.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm (only one of
            the three clipping arguments may be set).
        name: The optimizer's name (default: Keras's for the class).
        **kwargs: The arguments every optimizer takes (see ``hl.optimizers.Optimizer``):
            ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> tx = hl.optimizers.RMSprop(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.3162  0.3162]
    """

    default_name = "rm_sprop"  # Keras's auto-generated name

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def _init_slots(self, params):
        slots = {"velocity": _zeros_like(params)}
        if self.momentum > 0:
            slots["momentum"] = _zeros_like(params)
        if self.centered:
            slots["average_gradient"] = _zeros_like(params)
        return slots

    def _step(self, grads, slots, count, lr):
        rho, eps = self.rho, self.epsilon
        new = {"velocity": _tree_map(lambda v, g: rho * v + (1 - rho) * jnp.square(g),
                                     slots["velocity"], grads)}
        if self.centered:
            new["average_gradient"] = _tree_map(lambda a, g: rho * a + (1 - rho) * g,
                                                slots["average_gradient"], grads)
            denominator = _tree_map(lambda v, a: v - jnp.square(a) + eps,
                                    new["velocity"], new["average_gradient"])
        else:
            denominator = _tree_map(lambda v: v + eps, new["velocity"])
        increment = _tree_map(lambda g, d: lr.astype(g.dtype) * g / jnp.sqrt(d), grads, denominator)
        if self.momentum > 0:
            mu = self.momentum
            new["momentum"] = _tree_map(lambda m, i: mu * m + i, slots["momentum"], increment)
            increment = new["momentum"]
        return _tree_map(jnp.negative, increment), new

    def _own_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}
