"""Optimizers by Keras name, each compiled to an ``optax.GradientTransformation``.

``Adam(...).to_optax()`` gives a transformation whose updates follow Keras 3's update
rules (Keras's epsilon placement, momentum buffers that hold ``lr * grad``, decoupled
weight decay ``var -= var * weight_decay * lr`` before the update, Keras's gradient
clipping). It is wrapped in ``optax.inject_hyperparams``, so the learning rate is an
array in the optimizer state (``state.hyperparams["learning_rate"]``) that can change
between steps without recompiling, or a schedule evaluated from the step count.

The trainer binds an optimizer to its train state with ``optimizer._bind(getter,
setter)``; after that ``optimizer.learning_rate`` reads and writes the value in the
state.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

import jax
import numpy as np
import jax.numpy as jnp
import optax

from highlevel.optimizers import schedules
from highlevel.optimizers.schedules import LearningRateSchedule

__all__ = ["Optimizer", "MultiOptimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "OptaxOptimizer",
           "KerasOptimizerState", "schedules", "get", "serialize", "deserialize",
           "get_hyperparam", "set_hyperparam"]


class KerasOptimizerState(NamedTuple):
    """The inner state of a highlevel optimizer: the update count and per-weight slots.

    Args:
        count: The number of updates applied so far (an int32 scalar array).
        slots: Per-weight state by slot name (``"m"``, ``"v"``, ``"momentum"``, ...), each
            a pytree shaped like the parameters.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> state = hl.optimizers.KerasOptimizerState(count=jnp.zeros((), jnp.int32), slots={})
    >>> int(state.count)
    0
    """

    count: jax.Array
    slots: dict[str, Any]


def _tree_map(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def _clip_by_norm(g, clipnorm: float):
    # Keras's per-weight clipping, including its guard for an all-zero gradient.
    l2sum = jnp.sum(jnp.square(g))
    pred = l2sum > 0
    l2norm = jnp.where(pred, jnp.sqrt(jnp.where(pred, l2sum, 1.0)), l2sum)
    return g * clipnorm / jnp.maximum(l2norm, clipnorm)


def _clip_by_global_norm(grads, clipnorm: float):
    leaves = jax.tree_util.tree_leaves(grads)
    norm = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(jnp.float32))) for g in leaves))
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm)
    scale = scale + (norm - norm)  # NaN for a non-finite norm, as Keras
    return _tree_map(lambda g: g * scale.astype(g.dtype), grads)


class Optimizer:
    """Abstract: a Keras-style optimizer that compiles to optax with ``to_optax()``.

    Every optimizer takes these arguments (Keras's), plus its own.

    Args:
        learning_rate: a float, a ``hl.optimizers.schedules.LearningRateSchedule`` or any
            callable of the step count (an optax schedule).
        weight_decay: decoupled weight decay: ``var -= var * weight_decay * lr`` each step.
        clipnorm: clip each weight's gradient to this L2 norm.
        clipvalue: clip gradient entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm.
        name: the optimizer's name (Keras's default for each class).

    A subclass sets ``default_name`` and implements ``_init_slots(params)`` (its per-weight
    state) and ``_step(grads, slots, count, lr) -> (deltas, slots)``.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> opt = hl.optimizers.SGD(learning_rate=0.1)
    >>> isinstance(opt, hl.optimizers.Optimizer), opt.learning_rate
    (True, 0.1)
    """

    default_name = "optimizer"

    def __init__(self, learning_rate=0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None):
        set_clips = [k for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(f"Only one of clipnorm, clipvalue and global_clipnorm can be set, got "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}.")
        self._learning_rate = _check_learning_rate(type(self).__name__, learning_rate)
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.name = name or self.default_name
        self._getter: Callable[[], float] | None = None
        self._setter: Callable[[float], Any] | None = None

    # -- learning rate -----------------------------------------------------------------

    def _bind(self, getter: Callable[[], float], setter: Callable[[float], Any]) -> None:
        """Called by the trainer: from now on ``learning_rate`` reads/writes the train state."""
        self._getter, self._setter = getter, setter

    def _unbind(self) -> None:
        self._getter = self._setter = None

    @property
    def _is_scheduled(self) -> bool:
        return callable(self._learning_rate)

    @property
    def learning_rate(self) -> float:
        """The current learning rate (for a schedule: its value at the last step, or at 0)."""
        if self._getter is not None:
            value = self._getter()
            if value is not None:
                return float(value)
        if self._is_scheduled:
            return float(self._learning_rate(0))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._is_scheduled:
            raise TypeError(
                f"This optimizer ({self.name}) was created with a schedule as its learning_rate, "
                "so its learning rate cannot be set. To set it (e.g. from a callback), create the "
                "optimizer with a float learning_rate.")
        if callable(value):
            if self._getter is not None:
                raise ValueError(
                    "Cannot replace the learning rate by a schedule after compile(): the schedule "
                    "is part of the compiled step. Create the optimizer with the schedule and "
                    "compile again.")
            self._learning_rate = _check_learning_rate(type(self).__name__, value)
            return
        value = _check_learning_rate(type(self).__name__, value)
        if self._setter is not None:
            self._setter(value)
        self._learning_rate = value  # also the value a later compile() starts from

    # -- optax -------------------------------------------------------------------------

    def _init_slots(self, params) -> dict[str, Any]:
        """Per-weight state, a dict of pytrees shaped like ``params``."""
        raise NotImplementedError

    def _step(self, grads, slots, count, lr):
        """``(deltas, slots)``: this step's change of each weight (before weight decay)."""
        raise NotImplementedError

    def _transform(self, learning_rate) -> optax.GradientTransformation:
        def init_fn(params):
            return KerasOptimizerState(count=jnp.zeros([], jnp.int32),
                                       slots=self._init_slots(params))

        def update_fn(grads, state, params=None):
            if self.weight_decay and params is None:
                raise ValueError(f"{type(self).__name__} with weight_decay needs the parameters: "
                                 "call tx.update(grads, opt_state, params).")
            if self.clipnorm:
                grads = _tree_map(lambda g: _clip_by_norm(g, self.clipnorm), grads)
            elif self.global_clipnorm:
                grads = _clip_by_global_norm(grads, self.global_clipnorm)
            elif self.clipvalue:
                grads = _tree_map(lambda g: jnp.clip(g, -self.clipvalue, self.clipvalue), grads)
            deltas, slots = self._step(grads, state.slots, state.count, learning_rate)
            if self.weight_decay:
                wd = self.weight_decay
                deltas = _tree_map(
                    lambda d, p: d - p * jnp.asarray(wd, p.dtype) * learning_rate.astype(p.dtype),
                    deltas, params)
            return deltas, KerasOptimizerState(count=optax.safe_increment(state.count), slots=slots)

        return optax.GradientTransformation(init_fn, update_fn)

    def to_optax(self) -> optax.GradientTransformation:
        """The optax transformation, with ``hyperparams["learning_rate"]`` in its state.

        >>> tx = Adam(0.01).to_optax()
        >>> state = tx.init({"w": jnp.zeros(3)})
        >>> round(float(state.hyperparams["learning_rate"]), 6)
        0.01
        """
        def factory(learning_rate):
            return self._transform(learning_rate)

        lr = self._learning_rate
        return optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)(learning_rate=lr)

    # -- config ------------------------------------------------------------------------

    def _own_config(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif not callable(lr):
            lr = self.learning_rate  # the current value once compiled
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, **self._own_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            if key in config and config[key] == default:
                del config[key]  # Keras-only settings left at their defaults: nothing to do
        known = inspect.signature(cls.__init__).parameters
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"{cls.__name__}.from_config got unsupported keys {unknown}; it "
                             f"accepts {sorted(k for k in known if k != 'self')}.")
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, name={self.name!r})"


_KERAS_ONLY_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                        "loss_scale_factor": None, "gradient_accumulation_steps": None}


def _check_learning_rate(owner: str, value):
    if callable(value):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner} learning_rate must be a float, a LearningRateSchedule or a "
                        f"callable of the step, got {value!r}.") from None
    if value < 0:
        raise ValueError(f"{owner} learning_rate must be >= 0, got {value}.")
    return value


def _zeros_like(params):
    return _tree_map(jnp.zeros_like, params)


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
                 name=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
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
                 clipvalue=None, global_clipnorm=None, name=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
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
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a float; 0.004 by default), got None. "
                             "For Adam without weight decay use hl.optimizers.Adam.")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self._set_moments(beta_1, beta_2, epsilon, amsgrad)


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
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
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
                 global_clipnorm=None, name=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _init_slots(self, params):
        value = self.initial_accumulator_value
        return {"accumulator": _tree_map(lambda p: jnp.full_like(p, value), params)}

    def _step(self, grads, slots, count, lr):
        acc = _tree_map(lambda a, g: a + jnp.square(g), slots["accumulator"], grads)
        deltas = _tree_map(lambda g, a: -(lr.astype(g.dtype) * g) / jnp.sqrt(a + self.epsilon),
                           grads, acc)
        return deltas, {"accumulator": acc}

    def _own_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


# Raw optax -------------------------------------------------------------------------------

def _is_inject_state(node) -> bool:
    return isinstance(node, tuple) and isinstance(getattr(node, "hyperparams", None), dict)


def _find(node, name: str):
    if _is_inject_state(node) and name in node.hyperparams:
        return node.hyperparams[name]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, (tuple, list)) else ()
    for child in children:
        found = _find(child, name)
        if found is not None:
            return found
    return None


def get_hyperparam(opt_state, name: str = "learning_rate") -> jax.Array:
    """The array ``name`` of the first ``optax.inject_hyperparams`` state inside ``opt_state``.

    Raises ValueError when there is none (a transformation not built with
    ``optax.inject_hyperparams``).

    Args:
        opt_state: An optax state (any nesting of tuples, dicts and named tuples).
        name: The hyperparameter's name.

    Returns:
        Its current value, a scalar array.

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> state = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1).init({"w": jnp.ones(2)})
    >>> round(float(hl.optimizers.get_hyperparam(state)), 6)
    0.1
    """
    found = _find(opt_state, name)
    if found is None:
        raise ValueError(
            f"This optax state has no injected {name!r} hyperparameter, so it cannot be read or "
            f"set. Build the transformation with optax.inject_hyperparams, e.g. "
            f"optax.inject_hyperparams(optax.adam)({name}=1e-3), or use an hl.optimizers "
            "optimizer.")
    return found


def set_hyperparam(opt_state, value, name: str = "learning_rate"):
    """A copy of ``opt_state`` with the injected hyperparameter ``name`` set to ``value``.

    The new array keeps the old one's dtype, shape and weak type, so a compiled step that
    takes the state does not recompile.

    Args:
        opt_state: An optax state holding an ``optax.inject_hyperparams`` state.
        value: The new value (a float).
        name: The hyperparameter's name.

    Returns:
        The updated state; ``opt_state`` itself is unchanged.

    >>> import highlevel as hl, jax.numpy as jnp, optax
    >>> state = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1).init({"w": jnp.ones(2)})
    >>> state = hl.optimizers.set_hyperparam(state, 0.01)
    >>> round(float(hl.optimizers.get_hyperparam(state)), 6)
    0.01
    """
    get_hyperparam(opt_state, name)  # the clear error when it is missing
    done = []

    def replace(node):
        if done:
            return node
        if _is_inject_state(node) and name in node.hyperparams:
            done.append(True)
            old = node.hyperparams[name]
            # Made with NumPy and copied over: setting a value compiles nothing.
            new = jax.device_put(np.full(old.shape, value, dtype=old.dtype))
            return node._replace(hyperparams={**node.hyperparams, name: new})
        if isinstance(node, dict):
            return type(node)((k, replace(v)) for k, v in node.items())
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return type(node)(*(replace(c) for c in node))
        if isinstance(node, (tuple, list)):
            return type(node)(replace(c) for c in node)
        return node

    return replace(opt_state)


class OptaxOptimizer(Optimizer):
    """Wraps any ``optax.GradientTransformation`` as an optimizer.

    Its learning rate can be read (and set, once compiled) only when the transformation
    was built with ``optax.inject_hyperparams(...)(learning_rate=...)``.

    Args:
        tx: The optax transformation.
        name: The optimizer's name (default ``"optax"``).

    >>> import highlevel as hl, optax
    >>> opt = hl.optimizers.OptaxOptimizer(optax.inject_hyperparams(optax.sgd)(learning_rate=0.1))
    >>> round(opt.learning_rate, 6)
    0.1
    """

    default_name = "optax"

    def __init__(self, tx: optax.GradientTransformation, name: str | None = None):
        if not isinstance(tx, optax.GradientTransformation):
            raise TypeError(f"OptaxOptimizer wraps an optax.GradientTransformation, got {tx!r}.")
        self.tx = tx
        self.name = name or self.default_name
        self._learning_rate = None
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._getter = self._setter = None

    @property
    def learning_rate(self) -> float:
        if self._getter is not None:
            value = self._getter()
            if value is not None:
                return float(value)
        try:
            state = self.tx.init({"w": jnp.zeros((1,), jnp.float32)})
        except Exception:  # a transformation that cannot init on a probe parameter
            state = None
        return float(get_hyperparam(state, "learning_rate"))

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._setter is None:
            raise ValueError(
                "The learning rate of a raw optax transformation lives in its state: set it "
                "after compile() (the model's optimizer is then bound to the train state), or "
                "build the transformation with the learning rate you want.")
        self._setter(float(value))

    def to_optax(self) -> optax.GradientTransformation:
        return self.tx

    def get_config(self) -> dict[str, Any]:
        raise ValueError("A raw optax transformation has no config to save; use an hl.optimizers "
                         "optimizer (e.g. hl.optimizers.Adam) to save and restore the optimizer.")

    def __repr__(self) -> str:
        return f"OptaxOptimizer({self.tx!r})"


# Registry --------------------------------------------------------------------------------

_CLASSES = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}


def get(identifier) -> Optimizer:
    """An ``Optimizer`` from a Keras name, a config dict, an optimizer or an optax transformation.

    Args:
        identifier: A Keras name (case-insensitive: ``"adam"``, ``"SGD"``), a
            ``{"class_name", "config"}`` dict, an ``Optimizer`` or ``MultiOptimizer``
            (returned as is), an ``Optimizer`` class (instantiated with its defaults), or an
            ``optax.GradientTransformation`` (wrapped in :class:`OptaxOptimizer`).

    Returns:
        The optimizer.

    >>> import highlevel as hl
    >>> hl.optimizers.get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, (Optimizer, MultiOptimizer)):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}. Known optimizers: "
                             f"{', '.join(sorted(_CLASSES))}; or pass an hl.optimizers.Optimizer "
                             "or an optax.GradientTransformation.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer) and identifier is not Optimizer:
        return identifier()
    raise TypeError(f"An optimizer must be a name, a config dict, an hl.optimizers.Optimizer or "
                    f"an optax.GradientTransformation, got {identifier!r}.")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's config dict of an optimizer: ``{"class_name": ..., "config": ...}``.

    Args:
        optimizer: An optimizer, or anything :func:`get` accepts.

    Returns:
        The dict, which :func:`get` and :func:`deserialize` read back.

    >>> import highlevel as hl
    >>> config = hl.optimizers.serialize(hl.optimizers.SGD(0.1, momentum=0.9))
    >>> config["class_name"], config["config"]["momentum"]
    ('SGD', 0.9)
    """
    optimizer = get(optimizer)
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """The optimizer described by a ``{"class_name": ..., "config": ...}`` dict.

    Args:
        config: A dict as :func:`serialize` writes (the class name is case-insensitive).

    Returns:
        A new optimizer.

    >>> import highlevel as hl
    >>> hl.optimizers.deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}}).learning_rate
    0.01
    """
    if "class_name" not in config:
        raise ValueError(f"An optimizer config needs a 'class_name' key, got {config!r}.")
    cls = _CLASSES.get(str(config["class_name"]).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer {config['class_name']!r} in config. Known "
                         f"optimizers: {', '.join(sorted(_CLASSES))}.")
    return cls.from_config(config.get("config", {}))


from highlevel.optimizers.multi import MultiOptimizer  # noqa: E402 - it resolves optimizers with get()
