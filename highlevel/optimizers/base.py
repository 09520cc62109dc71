"""The optimizer base class: Keras's arguments and gradient clipping, compiled to optax."""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from highlevel.optimizers import schedules
from highlevel.optimizers.schedules import LearningRateSchedule


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

    def bind(self, getter: Callable[[], float], setter: Callable[[float], Any]) -> None:
        """Called by the trainer: from now on ``learning_rate`` reads/writes the train state."""
        self._getter, self._setter = getter, setter

    def unbind(self) -> None:
        self._getter = self._setter = None

    @property
    def is_scheduled(self) -> bool:
        return callable(self._learning_rate)

    @property
    def learning_rate(self) -> float:
        """The current learning rate (for a schedule: its value at the last step, or at 0)."""
        if self._getter is not None:
            value = self._getter()
            if value is not None:
                return float(value)
        if self.is_scheduled:
            return float(self._learning_rate(0))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self.is_scheduled:
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
            return KerasOptimizerState(count=jax.device_put(np.zeros((), np.int32)),
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

        >>> from highlevel.optimizers import Adam
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


def _host_full_like(a, value):
    """``jnp.full_like(a, value)``, made with NumPy and copied to ``a``'s devices where ``a`` is
    concrete (``jnp.zeros_like`` compiles a program per new shape: ~25 ms each on a CPU)."""
    if isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer) and a.is_fully_addressable:
        # Placed as ``a`` is, committed or not (a committed copy of an uncommitted weight
        # would give the compiled step a second signature, and a second compilation).
        return jax.device_put(np.full(a.shape, value, a.dtype), a.sharding if a.committed else None)
    return jnp.full_like(a, value)


def _zeros_like(params):
    return _tree_map(lambda p: _host_full_like(p, 0), params)
