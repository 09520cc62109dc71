"""Adagrad with Keras's update rules."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.optimizers.base import _host_full_like, Optimizer, _tree_map


class Adagrad(Optimizer):
    """Adagrad, as ``keras.optimizers.Adagrad``: ``w -= lr * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        initial_accumulator_value: The starting value of the sum of squared gradients.
        epsilon: A small constant for numerical stability.
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
    >>> tx = hl.optimizers.Adagrad(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.0953  0.0988]
    """

    default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _init_slots(self, params):
        value = self.initial_accumulator_value
        return {"accumulator": _tree_map(lambda p: _host_full_like(p, value), params)}

    def _step(self, grads, slots, count, lr):
        acc = _tree_map(lambda a, g: a + jnp.square(g), slots["accumulator"], grads)
        deltas = _tree_map(lambda g, a: -(lr.astype(g.dtype) * g) / jnp.sqrt(a + self.epsilon),
                           grads, acc)
        return deltas, {"accumulator": acc}

    def _own_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


# Raw optax -------------------------------------------------------------------------------
