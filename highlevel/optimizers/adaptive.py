"""Adadelta, Adamax and Nadam with Keras's update rules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


class Adadelta(Optimizer):
    """Adadelta, as ``keras.optimizers.Adadelta``.

    Each step is ``lr * sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g``, with both running
    averages decayed by ``rho`` (Keras keeps the learning rate, default 0.001).

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        rho: The decay rate of both running averages.
        epsilon: A small constant added inside both square roots.
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
    >>> tx = hl.optimizers.Adadelta(learning_rate=1.0).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(6))
    [-0.001414  0.001414]
    """

    default_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _init_slots(self, params):
        return {"accumulated_grad": _zeros_like(params), "accumulated_delta_var": _zeros_like(params)}

    def _step(self, grads, slots, count, lr):
        rho, eps = self.rho, self.epsilon
        grad_avg = _tree_map(lambda a, g: rho * a + (1 - rho) * jnp.square(g), slots["accumulated_grad"], grads)
        delta = _tree_map(lambda d, a, g: -(jnp.sqrt(d + eps) * g) / jnp.sqrt(a + eps),
                          slots["accumulated_delta_var"], grad_avg, grads)
        delta_avg = _tree_map(lambda d, x: rho * d + (1 - rho) * jnp.square(x),
                              slots["accumulated_delta_var"], delta)
        deltas = _tree_map(lambda x: lr.astype(x.dtype) * x, delta)
        return deltas, {"accumulated_grad": grad_avg, "accumulated_delta_var": delta_avg}

    def _own_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as ``keras.optimizers.Adamax``.

    ``u = max(beta_2 * u, |g|)`` replaces Adam's second moment; the step is
    ``lr * m / ((1 - beta_1^t) * (u + epsilon))``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The decay rate of the first-moment estimate.
        beta_2: The decay rate of the exponentially weighted infinity norm.
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
    >>> tx = hl.optimizers.Adamax(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1  0.1]
    """

    default_name = "adamax"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _init_slots(self, params):
        return {"momentum": _zeros_like(params), "norm": _zeros_like(params)}

    def _step(self, grads, slots, count, lr):
        b1, b2, eps = self.beta_1, self.beta_2, self.epsilon
        t = (count + 1).astype(jnp.float32)
        correction = 1 - jnp.power(jnp.float32(b1), t)
        m = _tree_map(lambda m, g: m + (g - m) * (1 - b1), slots["momentum"], grads)
        u = _tree_map(lambda u, g: jnp.maximum(b2 * u, jnp.abs(g)), slots["norm"], grads)
        deltas = _tree_map(lambda m, u: -(lr.astype(m.dtype) * m) / (correction.astype(m.dtype) * (u + eps)),
                           m, u)
        return deltas, {"momentum": m, "norm": u}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum, as ``keras.optimizers.Nadam``.

    Keras's momentum schedule ``mu_t = beta_1 * (1 - 0.5 * 0.96^t)`` and its running product
    (a scalar in the optimizer state) set the Nesterov correction; epsilon is added to
    ``sqrt(v_hat)``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The decay rate of the first-moment estimate.
        beta_2: The decay rate of the second-moment estimate.
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
    >>> tx = hl.optimizers.Nadam(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1063  0.1063]
    """

    default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _init_slots(self, params):
        return {"momentum": _zeros_like(params), "velocity": _zeros_like(params),
                "u_product": jax.device_put(np.ones((), np.float32))}

    def _step(self, grads, slots, count, lr):
        b1, b2, eps = jnp.float32(self.beta_1), jnp.float32(self.beta_2), self.epsilon
        t = (count + 1).astype(jnp.float32)
        decay = jnp.float32(0.96)
        u_t = b1 * (1.0 - 0.5 * jnp.power(decay, t))
        u_t_1 = b1 * (1.0 - 0.5 * jnp.power(decay, t + 1))
        # Keras updates it before the weights, multiplying in this order.
        u_product = slots["u_product"] * b1 * (1.0 - 0.5 * jnp.power(decay, t))
        u_product_1 = u_product * u_t_1
        beta_2_power = jnp.power(b2, t)
        # 1 - beta in float32, as Keras (its betas are cast to the weights' dtype first).
        m = _tree_map(lambda m, g: m + (g - m) * (1 - b1).astype(m.dtype), slots["momentum"], grads)
        v = _tree_map(lambda v, g: v + (jnp.square(g) - v) * (1 - b2).astype(v.dtype), slots["velocity"], grads)

        def delta(m, v, g):
            m_hat = (u_t_1 * m) / (1 - u_product_1) + ((1 - u_t) * g) / (1 - u_product)
            v_hat = v / (1 - beta_2_power)
            return -(m_hat * lr.astype(m.dtype)) / (jnp.sqrt(v_hat) + eps)

        deltas = _tree_map(delta, m, v, grads)
        return deltas, {"momentum": m, "velocity": v, "u_product": u_product}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
