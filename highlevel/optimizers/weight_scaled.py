"""Lamb and Adafactor: update rules that scale each step by the weights' own size (Keras's)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.optimizers.base import Optimizer, _host_full_like, _tree_map, _zeros_like


class Lamb(Optimizer):
    """Lamb (Adam with a layer-wise trust ratio), as ``keras.optimizers.Lamb``.

    Each weight's bias-corrected Adam direction ``u`` is scaled by ``||w|| / ||u||`` (1 where
    either norm is 0) before ``w -= lr * ratio * u``.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_1: The decay rate of the first-moment estimate.
        beta_2: The decay rate of the second-moment estimate.
        epsilon: A small constant added to ``sqrt(v_hat)``.
        weight_decay: Decoupled weight decay: ``w -= w * weight_decay * lr`` each step, before
            the trust ratio reads ``w``.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm (only one of
            the three clipping arguments may be set).
        name: The optimizer's name (default: Keras's for the class).
        **kwargs: The arguments every optimizer takes (see ``hl.optimizers.Optimizer``):
            ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> tx = hl.optimizers.Lamb(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.array([3.0, 4.0])}
    >>> updates, _ = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [-0.3536  0.3536]
    """

    default_name = "lamb"
    _reads_weights = True

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _init_slots(self, params):
        return {"momentum": _zeros_like(params), "velocity": _zeros_like(params)}

    def _step_with_weights(self, grads, slots, count, lr, weights):
        b1, b2, eps = self.beta_1, self.beta_2, self.epsilon
        t = (count + 1).astype(jnp.float32)
        c1 = 1.0 - jnp.power(jnp.float32(b1), t)
        c2 = 1.0 - jnp.power(jnp.float32(b2), t)
        m = _tree_map(lambda m, g: m + (g - m) * (1 - b1), slots["momentum"], grads)
        v = _tree_map(lambda v, g: v + (jnp.square(g) - v) * (1 - b2), slots["velocity"], grads)

        def delta(m, v, w):
            update = (m / c1.astype(m.dtype)) / (jnp.sqrt(v / c2.astype(v.dtype)) + eps)
            w_norm = jnp.sqrt(jnp.sum(jnp.square(w)))
            u_norm = jnp.sqrt(jnp.sum(jnp.square(update)))
            ratio = jnp.where(w_norm > 0, jnp.where(u_norm > 0, w_norm / u_norm, 1.0), 1.0)
            return -(ratio * lr.astype(w.dtype) * update)

        return _tree_map(delta, m, v, weights), {"momentum": m, "velocity": v}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


def _zeros(like, shape):
    """Zeros of ``like``'s dtype in ``shape``, made on the host where ``like`` is concrete."""
    if isinstance(like, jax.core.Tracer):
        return jnp.zeros(shape, like.dtype)
    return jax.device_put(np.zeros(shape, like.dtype))


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.square(x)))


class Adafactor(Optimizer):
    """Adafactor, as ``keras.optimizers.Adafactor``.

    For a weight of rank >= 2 the second moment is factored into row and column averages
    over the last two axes (``r``, ``c``); smaller weights keep a full average ``v``. The
    decay is ``1 - t^beta_2_decay``, the step size ``max(epsilon_2, rms(w)) * min(lr,
    1/sqrt(t))``, and the update's RMS is clipped to ``clip_threshold``. Keras also keeps a
    full-size ``v`` for factored weights, which its next step never reads; this one does
    not, so the optimizer state of a matrix is a row and a column, as the paper intends.

    Args:
        learning_rate: A float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        beta_2_decay: The exponent of the second-moment decay ``1 - t^beta_2_decay``.
        epsilon_1: A small constant added to the squared gradients.
        epsilon_2: The smallest weight RMS the step size uses.
        clip_threshold: The largest RMS of the update (before the step size).
        relative_step: Keras's flag; the step size is ``min(lr, 1/sqrt(t))`` either way.
        weight_decay: Decoupled weight decay: ``w -= w * weight_decay * lr`` each step, before
            the step size reads ``w``.
        clipnorm: Clip each weight's gradient to this L2 norm.
        clipvalue: Clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: Clip all gradients together to this global L2 norm (only one of
            the three clipping arguments may be set).
        name: The optimizer's name (default: Keras's for the class).
        **kwargs: The arguments every optimizer takes (see ``hl.optimizers.Optimizer``):
            ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    >>> import highlevel as hl, jax.numpy as jnp, numpy as np
    >>> tx = hl.optimizers.Adafactor(learning_rate=0.1).to_optax()
    >>> params = {"w": jnp.ones((2, 2))}
    >>> updates, _ = tx.update({"w": jnp.array([[1.0, -2.0], [0.5, 1.0]])}, tx.init(params), params)
    >>> print(np.asarray(updates["w"]).round(4))
    [[-0.1  0.1]
     [-0.1 -0.1]]
    """

    default_name = "adafactor"
    _reads_weights = True

    def __init__(self, learning_rate=0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.beta_2_decay, self.epsilon_1 = float(beta_2_decay), float(epsilon_1)
        self.epsilon_2, self.clip_threshold = float(epsilon_2), float(clip_threshold)
        self.relative_step = bool(relative_step)

    def _init_slots(self, params):
        def factored(p, shape):
            return _zeros(p, shape if p.ndim >= 2 else ())

        return {"r": _tree_map(lambda p: factored(p, p.shape[:-1]), params),
                "c": _tree_map(lambda p: factored(p, p.shape[:-2] + p.shape[-1:]), params),
                "v": _tree_map(lambda p: _host_full_like(p, 0) if p.ndim < 2 else _zeros(p, ()), params)}

    def _step_with_weights(self, grads, slots, count, lr, weights):
        t = (count + 1).astype(jnp.float32)
        rho = jnp.minimum(lr, 1 / jnp.sqrt(t))
        beta_2_t = 1 - jnp.power(t, self.beta_2_decay)

        def one(g, w, r, c, v):
            dtype = w.dtype
            alpha = jnp.maximum(jnp.asarray(self.epsilon_2, dtype), _rms(w)) * rho.astype(dtype)
            b = beta_2_t.astype(dtype)
            square = jnp.square(g) + self.epsilon_1
            if w.ndim >= 2:
                r = b * r + (1 - b) * jnp.mean(square, axis=-1)
                c = b * c + (1 - b) * jnp.mean(square, axis=-2)
                second = jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1) * jnp.expand_dims(c, -2)
            else:
                v = second = b * v + (1 - b) * square
            u = g / jnp.sqrt(second)
            u = u / jnp.maximum(jnp.asarray(1.0, dtype), _rms(u) / self.clip_threshold)
            return -(alpha * u), r, c, v

        out = _tree_map(one, grads, weights, slots["r"], slots["c"], slots["v"])
        treedef = jax.tree_util.tree_structure(grads)
        parts = [treedef.unflatten(x) for x in zip(*treedef.flatten_up_to(out))]
        return parts[0], {"r": parts[1], "c": parts[2], "v": parts[3]}

    def _own_config(self):
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
