"""SGD with Keras's momentum and Nesterov rules."""

from __future__ import annotations


from highlevel.optimizers.base import Optimizer, _tree_map, _zeros_like


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as ``keras.optimizers.SGD``.

    ``m = momentum * m - lr * g``; ``w += m`` (Nesterov: ``w += momentum * m - lr * g``).

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        momentum: The momentum factor, in ``[0, 1]`` (0: plain gradient descent).
        nesterov: Whether to use Nesterov momentum.
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
    >>> tx = hl.optimizers.SGD(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.1  0.2]
    """

    default_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1], got {momentum}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _init_slots(self, params):
        return {"momentum": _zeros_like(params)} if self.momentum else {}

    def _step(self, grads, slots, count, lr):
        if not self.momentum:
            return _tree_map(lambda g: -g * lr.astype(g.dtype), grads), slots
        mu = self.momentum
        m = _tree_map(lambda m, g: m * mu - g * lr.astype(g.dtype), slots["momentum"], grads)
        if self.nesterov:
            deltas = _tree_map(lambda m, g: m * mu - g * lr.astype(g.dtype), m, grads)
        else:
            deltas = m
        return deltas, {"momentum": m}

    def _own_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}
