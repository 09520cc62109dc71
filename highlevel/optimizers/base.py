"""The optimizer base class: Keras's arguments and gradient clipping, compiled to optax."""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from highlevel.optimizers import numerics, schedules
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
        use_ema: keep an exponential moving average of the weights; at the end of ``fit`` the
            weights take their averages (``hl.callbacks.SwapEMAWeights`` evaluates with them).
        ema_momentum: the average's momentum, ``average = m * average + (1 - m) * weight``
            (the first average is the first iterate).
        ema_overwrite_frequency: with ``use_ema``, the weights also take their averages every
            this many updates (None: only at the end of ``fit``).
        loss_scale_factor: a fixed loss scale: the train step multiplies the loss by it and
            the gradients are divided by it (``hl.optimizers.LossScaleOptimizer`` adapts one).
        gradient_accumulation_steps: apply the mean gradient of this many batches once every
            this many batches (an integer >= 2). ``iterations``, the update count of
            Adam's bias correction and the EMA count applied updates; a learning-rate
            schedule is read at the batch count, as Keras does.

    Keras's order: unscale, accumulate, clip, decay the weights, update, average. Every
    state this needs (accumulators, averages) is an array in the optimizer state, so none
    of it recompiles the step and exact resumption carries it.

    A subclass sets ``default_name`` and implements ``_init_slots(params)`` (its per-weight
    state) and ``_step(grads, slots, count, lr) -> (deltas, slots)``; an update rule that reads
    the weights sets ``_reads_weights = True`` and implements ``_step_with_weights(grads, slots,
    count, lr, weights)`` instead, which gets them after weight decay, as Keras's.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> opt = hl.optimizers.SGD(learning_rate=0.1, gradient_accumulation_steps=4, use_ema=True)
    >>> isinstance(opt, hl.optimizers.Optimizer), opt.learning_rate, opt.gradient_accumulation_steps
    (True, 0.1, 4)
    """

    default_name = "optimizer"

    def __init__(self, learning_rate=0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, *,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None):
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
        self._set_numerics(use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                           gradient_accumulation_steps)
        self._getter: Callable[[], float] | None = None
        self._setter: Callable[[float], Any] | None = None
        self._state_getter: Callable[[], Any] | None = None

    def _set_numerics(self, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                      gradient_accumulation_steps) -> None:
        numerics._check_args(gradient_accumulation_steps, use_ema, ema_momentum, ema_overwrite_frequency,
                             loss_scale_factor)
        self.use_ema = bool(use_ema)
        self.ema_momentum = float(ema_momentum)
        self.ema_overwrite_frequency = None if ema_overwrite_frequency is None else int(ema_overwrite_frequency)
        self.loss_scale_factor = None if loss_scale_factor is None else float(loss_scale_factor)
        self.gradient_accumulation_steps = (None if gradient_accumulation_steps is None
                                            else int(gradient_accumulation_steps))

    # -- learning rate -----------------------------------------------------------------

    def bind(self, getter: Callable[[], float], setter: Callable[[float], Any],
             state_getter: Callable[[], Any] | None = None) -> None:
        """Called by the trainer: from now on ``learning_rate`` reads/writes the train state, and
        ``iterations`` reads the optimizer state that ``state_getter()`` returns."""
        self._getter, self._setter = getter, setter
        self._state_getter = state_getter

    def unbind(self) -> None:
        self._getter = self._setter = self._state_getter = None

    @property
    def iterations(self) -> int:
        """The number of updates applied so far (0 before training), as Keras's ``optimizer.iterations``.

        With gradient accumulation it counts applied updates, not batches.
        """
        state = None if self._state_getter is None else self._state_getter()
        value = None if state is None else numerics.iterations(state)
        return 0 if value is None else int(np.max(np.asarray(jax.device_get(value))))

    def loss_scale(self, opt_state) -> jax.Array | None:
        """The factor the train step multiplies the loss by before differentiating (None: 1).

        The optimizer divides the gradients by the same factor. ``loss_scale_factor`` is a
        constant; ``LossScaleOptimizer`` reads its current scale from ``opt_state``.

        >>> import highlevel as hl
        >>> hl.optimizers.SGD(loss_scale_factor=128.0).loss_scale(None)
        128.0
        """
        return self.loss_scale_factor

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

    # An update rule that reads the weights sets this and implements ``_step_with_weights``.
    _reads_weights = False

    def _step_with_weights(self, grads, slots, count, lr, weights):
        """``(deltas, slots)`` for an update rule that reads the weights (after weight decay)."""
        raise NotImplementedError

    def _transform(self, learning_rate) -> optax.GradientTransformation:
        def init_fn(params):
            return KerasOptimizerState(count=jax.device_put(np.zeros((), np.int32)),
                                       slots=self._init_slots(params))

        def update_fn(grads, state, params=None):
            if self.weight_decay and params is None:
                raise ValueError(f"{type(self).__name__} with weight_decay needs the parameters: "
                                 "call tx.update(grads, opt_state, params).")
            if self._reads_weights and params is None:
                raise ValueError(f"{type(self).__name__} reads the weights, so it needs the parameters: "
                                 "call tx.update(grads, opt_state, params).")
            grads = self._clip(grads)
            decay = None
            if self.weight_decay:
                wd = self.weight_decay
                decay = _tree_map(lambda p: p * jnp.asarray(wd, p.dtype) * learning_rate.astype(p.dtype), params)
            if self._reads_weights:
                # Keras decays the weights before the update reads them.
                weights = params if decay is None else _tree_map(jnp.subtract, params, decay)
                deltas, slots = self._step_with_weights(grads, state.slots, state.count, learning_rate, weights)
            else:
                deltas, slots = self._step(grads, state.slots, state.count, learning_rate)
            if decay is not None:
                deltas = _tree_map(jnp.subtract, deltas, decay)
            return deltas, KerasOptimizerState(count=optax.safe_increment(state.count), slots=slots)

        return optax.GradientTransformation(init_fn, update_fn)

    def _clip(self, grads):
        """Keras's gradient clipping (``_clip_gradients``): at most one of the three is set."""
        if self.clipnorm:
            return _tree_map(lambda g: _clip_by_norm(g, self.clipnorm), grads)
        if self.global_clipnorm:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue:
            return _tree_map(lambda g: jnp.clip(g, -self.clipvalue, self.clipvalue), grads)
        return grads

    def _with_numerics(self, tx: optax.GradientTransformation, clip: bool = False) -> optax.GradientTransformation:
        """``tx`` inside ``numerics.wrap`` when accumulation, EMA or a loss scale factor is set."""
        clip = clip and bool(self.clipnorm or self.global_clipnorm or self.clipvalue)
        if not (self.gradient_accumulation_steps or self.use_ema or self.loss_scale_factor):
            if not clip:
                return tx
            clipping = optax.GradientTransformation(lambda params: optax.EmptyState(),
                                                    lambda grads, state, params=None: (self._clip(grads), state))
            return optax.chain(clipping, tx)
        return numerics.wrap(tx, gradient_accumulation_steps=self.gradient_accumulation_steps,
                             use_ema=self.use_ema, ema_momentum=self.ema_momentum,
                             ema_overwrite_frequency=self.ema_overwrite_frequency,
                             loss_scale_factor=self.loss_scale_factor, clip=self._clip if clip else None)

    def to_optax(self) -> optax.GradientTransformation:
        """The optax transformation, with ``hyperparams["learning_rate"]`` in its state.

        >>> from highlevel.optimizers import Adam
        >>> tx = Adam(0.01).to_optax()
        >>> state = tx.init({"w": jnp.zeros(3)})
        >>> round(float(state.hyperparams["learning_rate"]), 6)
        0.01
        """
        def factory(learning_rate):
            # Inside inject_hyperparams: a schedule is read at the batch count, as Keras's
            # ``_iterations``, while the update rule counts applied updates.
            return self._with_numerics(self._transform(learning_rate))

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
                "clipvalue": self.clipvalue, **self._numerics_config(), **self._own_config()}

    def _numerics_config(self) -> dict[str, Any]:
        return {"use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        for key, default in _KERAS_ONLY_DEFAULTS.items():
            if key in config and config[key] == default:
                del config[key]  # Keras-only settings left at their defaults: nothing to do
        known = _init_arguments(cls)
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"{cls.__name__}.from_config got unsupported keys {unknown}; it "
                             f"accepts {sorted(known)}.")
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, name={self.name!r})"


def _init_arguments(cls) -> set[str]:
    """The named arguments of ``cls(...)``, following ``**kwargs`` up to the base classes."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


# Keras's settings that highlevel has no use for, when left at their defaults.
_KERAS_ONLY_DEFAULTS: dict[str, Any] = {}


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
