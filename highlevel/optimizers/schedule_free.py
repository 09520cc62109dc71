"""Schedule-free AdamW with Keras's update rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


def _copy(p):
    """A copy of ``p`` in its own buffer (the train step donates the state: no shared buffers)."""
    if isinstance(p, jax.core.Tracer) or not isinstance(p, jax.Array):
        return jnp.array(p, copy=True)
    return jax.device_put(np.asarray(jax.device_get(p)), p.sharding if p.committed else None)


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Defazio et al., 2024), as ``keras.optimizers.ScheduleFreeAdamW``.

    The weights are the interpolation ``y = (1 - beta_1) * z + beta_1 * x`` between the Adam
    iterate ``z`` (the ``momentum`` slot, starting at the weights) and its running average
    ``x`` (weight ``1/t``), so no learning-rate schedule is needed; ``warmup_steps`` ramps the
    rate linearly. As in Keras, training and evaluation both use ``y``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The interpolation between the iterate and its average.
        beta_2: The decay rate of the second-moment estimate.
        epsilon: A small constant added to ``sqrt(v_hat)``.
        warmup_steps: Scale the rate by ``min(t / warmup_steps, 1)`` (0: no warmup).
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
    >>> tx = hl.optimizers.ScheduleFreeAdamW(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1  0.1]
    """

    default_name = "schedule_free_adam_w"
    _reads_weights = True

    def __init__(self, learning_rate=0.0025, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 warmup_steps: int = 0, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        if int(warmup_steps) != warmup_steps or warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW's warmup_steps must be an integer >= 0, got {warmup_steps!r}.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.warmup_steps = int(warmup_steps)

    def _init_slots(self, params):
        return {"momentum": _tree_map(_copy, params), "velocity": _zeros_like(params)}

    def _step_with_weights(self, grads, slots, count, lr, weights):
        t = (count + 1).astype(jnp.float32)
        b1, b2 = jnp.float32(self.beta_1), jnp.float32(self.beta_2)   # cast first, as Keras
        if self.warmup_steps > 0:
            lr = lr * jnp.minimum(t / self.warmup_steps, 1.0)
        correction = 1 - jnp.power(b2, t)
        weight = 1.0 / t

        def one(g, y, z, v):
            dtype = y.dtype
            v = v + (jnp.square(g) - v) * (1 - b2).astype(dtype)
            new_z = z - (lr.astype(dtype) * g) / (jnp.sqrt(v / correction.astype(dtype)) + self.epsilon)
            x = (y - (1 - b1).astype(dtype) * z) / b1.astype(dtype)
            x = (1 - weight).astype(dtype) * x + weight.astype(dtype) * new_z
            new_y = (1 - b1).astype(dtype) * new_z + b1.astype(dtype) * x
            return new_y - y, new_z, v

        out = _tree_map(one, grads, weights, slots["momentum"], slots["velocity"])
        treedef = jax.tree_util.tree_structure(grads)
        deltas, z, v = (treedef.unflatten(x) for x in zip(*treedef.flatten_up_to(out)))
        return deltas, {"momentum": z, "velocity": v}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
