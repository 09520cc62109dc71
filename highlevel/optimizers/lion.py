"""Lion, the sign-of-momentum optimizer, with Keras's update rule."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


class Lion(Optimizer):
    """Lion, as ``keras.optimizers.Lion``.

    ``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then ``m = beta_2 * m + (1 - beta_2) * g``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The interpolation between momentum and gradient inside the sign, in (0, 1].
        beta_2: The decay rate of the momentum.
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
    >>> tx = hl.optimizers.Lion(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(3)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0, 0.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1  0.1 -0. ]
    """

    default_name = "lion"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Lion's beta_1 must be in (0, 1] (at 0 it is sign SGD), got beta_1={beta_1}.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def _init_slots(self, params):
        return {"momentum": _zeros_like(params)}

    def _step(self, grads, slots, count, lr):
        b1, b2 = self.beta_1, self.beta_2
        deltas = _tree_map(lambda m, g: -(lr.astype(g.dtype) * jnp.sign(m * b1 + g * (1.0 - b1))),
                           slots["momentum"], grads)
        m = _tree_map(lambda m, g: m * b2 + g * (1.0 - b2), slots["momentum"], grads)
        return deltas, {"momentum": m}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
