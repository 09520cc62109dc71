"""Adam and AdamW with Keras's update rules (epsilon placement, decoupled weight decay)."""

from __future__ import annotations

import jax.numpy as jnp

from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


def _adam_step(grads, slots, count, lr, beta_1, beta_2, epsilon, amsgrad):
    t = (count + 1).astype(jnp.float32)
    # Keras folds the bias corrections into the step size and adds epsilon to sqrt(v)
    # (its "epsilon hat"), which differs from optax.adam's placement.
    alpha = lr * jnp.sqrt(1 - jnp.power(jnp.float32(beta_2), t)) / (
        1 - jnp.power(jnp.float32(beta_1), t))
    m = _tree_map(lambda m, g: m + (g - m) * (1 - beta_1), slots["m"], grads)
    v = _tree_map(lambda v, g: v + (jnp.square(g) - v) * (1 - beta_2), slots["v"], grads)
    new = {"m": m, "v": v}
    if amsgrad:
        v = new["v_hat"] = _tree_map(jnp.maximum, slots["v_hat"], v)
    deltas = _tree_map(lambda m, v: -(m * alpha.astype(m.dtype)) / (jnp.sqrt(v) + epsilon), m, v)
    return deltas, new


class _AdamFamily(Optimizer):
    """Abstract: Adam's moments and update, shared by Adam and AdamW."""

    def _set_moments(self, beta_1, beta_2, epsilon, amsgrad) -> None:
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _init_slots(self, params):
        slots = {"m": _zeros_like(params), "v": _zeros_like(params)}
        if self.amsgrad:
            slots["v_hat"] = _zeros_like(params)
        return slots

    def _step(self, grads, slots, count, lr):
        return _adam_step(grads, slots, count, lr, self.beta_1, self.beta_2, self.epsilon,
                          self.amsgrad)

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class Adam(_AdamFamily):
    """Adam, as ``keras.optimizers.Adam``.

    Epsilon is added to ``sqrt(v)`` after the bias correction is folded into the step size,
    as Keras does (optax's ``adam`` places it differently).

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The decay rate of the first-moment (mean) estimate.
        beta_2: The decay rate of the second-moment (uncentered variance) estimate.
        epsilon: A small constant for numerical stability (Keras's "epsilon hat").
        amsgrad: Whether to use the AMSGrad variant (the running maximum of ``v``).
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
    >>> tx = hl.optimizers.Adam(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1  0.1]
    """

    default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self._set_moments(beta_1, beta_2, epsilon, amsgrad)


class AdamW(_AdamFamily):
    """Adam with decoupled weight decay (default 0.004), as ``keras.optimizers.AdamW``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        weight_decay: The decoupled weight decay, ``w -= w * weight_decay * lr`` each step
            (must not be None).
        beta_1: The decay rate of the first-moment (mean) estimate.
        beta_2: The decay rate of the second-moment (uncentered variance) estimate.
        epsilon: A small constant for numerical stability.
        amsgrad: Whether to use the AMSGrad variant.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm.
        name: The optimizer's name (default ``"adam_w"``, Keras's).
        **kwargs: The arguments every optimizer takes (see ``hl.optimizers.Optimizer``):
            ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> tx = hl.optimizers.AdamW(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1004  0.0996]
    """

    default_name = "adam_w"  # Keras's auto-generated name

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a float; 0.004 by default), got None. "
                             "For Adam without weight decay use hl.optimizers.Adam.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self._set_moments(beta_1, beta_2, epsilon, amsgrad)
