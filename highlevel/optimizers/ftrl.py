"""FTRL-Proximal with Keras's update rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from highlevel.optimizers.base import Optimizer, _host_full_like, _tree_map, _zeros_like


class Ftrl(Optimizer):
    """Follow The Regularized Leader, as ``keras.optimizers.Ftrl``.

    The weights are set from the ``linear`` accumulator each step:
    ``w = (clip(linear, -l1, l1) - linear) / (accum^(-lr_power) / lr + 2 * l2)``, with
    ``l2 = l2_regularization_strength + beta / (2 * lr)``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        learning_rate_power: The power of the accumulated squared gradients, <= 0.
        initial_accumulator_value: The accumulators' starting value, >= 0.
        l1_regularization_strength: The L1 strength, >= 0.
        l2_regularization_strength: The L2 strength, >= 0 (stabilization).
        l2_shrinkage_regularization_strength: The L2 shrinkage strength (magnitude penalty),
            >= 0.
        beta: Keras's beta, added to the L2 strength as ``beta / (2 * lr)``.
        weight_decay: Decoupled weight decay: ``w -= w * weight_decay * lr`` each step, before
            the update reads ``w``.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm (only one of
            the three clipping arguments may be set).
        name: The optimizer's name (default: Keras's for the class).
        **kwargs: The arguments every optimizer takes (see ``hl.optimizers.Optimizer``):
            ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> tx = hl.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.5).to_optax()
    >>> params = {"w": jnp.zeros(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -0.2])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.0477  0.    ]
    """

    default_name = "ftrl"
    _reads_weights = True

    def __init__(self, learning_rate=0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        for arg, value, sign in (("initial_accumulator_value", initial_accumulator_value, 1),
                                 ("learning_rate_power", learning_rate_power, -1),
                                 ("l1_regularization_strength", l1_regularization_strength, 1),
                                 ("l2_regularization_strength", l2_regularization_strength, 1),
                                 ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, 1)):
            if value * sign < 0:
                raise ValueError(f"Ftrl's {arg} must be {'>=' if sign > 0 else '<='} 0, got {arg}={value}.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _init_slots(self, params):
        return {"accumulator": _tree_map(lambda p: _host_full_like(p, self.initial_accumulator_value), params),
                "linear": _zeros_like(params)}

    def _step_with_weights(self, grads, slots, count, lr, weights):
        power = -self.learning_rate_power
        l1, shrink = self.l1_regularization_strength, self.l2_shrinkage_regularization_strength

        def one(g, w, accum, linear):
            rate = lr.astype(w.dtype)
            l2 = self.l2_regularization_strength + self.beta / (2.0 * rate)
            new_accum = accum + jnp.square(g)
            linear = linear + (g + 2 * shrink * w) - (
                (jnp.power(new_accum, power) - jnp.power(accum, power)) / rate) * w
            quadratic = jnp.power(new_accum, power) / rate + 2 * l2
            new_w = (jnp.clip(linear, -l1, l1) - linear) / quadratic
            return new_w - w, new_accum, linear

        out = _tree_map(one, grads, weights, slots["accumulator"], slots["linear"])
        treedef = jax.tree_util.tree_structure(grads)
        deltas, accum, linear = (treedef.unflatten(x) for x in zip(*treedef.flatten_up_to(out)))
        return deltas, {"accumulator": accum, "linear": linear}

    def _own_config(self):
        return {"learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
