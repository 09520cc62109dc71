"""Learning-rate schedules by Keras name: ``schedule(step) -> learning rate``.

Each schedule is a pure ``jax.numpy`` function of the optimizer step (the number of
updates applied so far, starting at 0), so ``optax.inject_hyperparams`` evaluates it
inside the compiled step. Values follow ``keras.optimizers.schedules`` (float32).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from highlevel.utils.serialization import class_config, resolve_class


__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "CosineDecay", "serialize", "deserialize", "get"]


def _step(step) -> jax.Array:
    return jnp.asarray(step).astype(jnp.float32)


def _positive_steps(cls: str, decay_steps) -> None:
    if decay_steps <= 0:
        raise ValueError(f"{cls} needs decay_steps > 0, got decay_steps={decay_steps}.")


class LearningRateSchedule:
    """Abstract: ``schedule(step) -> float32 learning rate``, jit-traceable.

    A subclass implements ``__call__(step)`` with ``jax.numpy`` (the step may be a traced
    integer) and ``get_config()`` returning its constructor's arguments. An optimizer given
    a schedule as its ``learning_rate`` evaluates it at each step's update count.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class Halving(hl.optimizers.schedules.LearningRateSchedule):
    ...     def __call__(self, step):
    ...         return 0.5 ** jnp.asarray(step, jnp.float32)
    ...     def get_config(self):
    ...         return {}
    >>> float(Halving()(2))
    0.25
    """

    def __call__(self, step) -> jax.Array:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate``.
        decay_rate: the factor per ``decay_steps``.
        staircase: decay in whole ``decay_steps`` intervals (``floor`` the exponent).
        name: the schedule's name, kept in its config.

    >>> float(ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20))
    0.025...
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        _positive_steps("ExponentialDecay", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return jnp.float32(self.initial_learning_rate) * jnp.power(jnp.float32(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the number of steps per unit of decay.
        decay_rate: how fast the rate decays.
        staircase: decay in whole ``decay_steps`` intervals (``floor`` the step fraction).
        name: the schedule's name, kept in its config.

    >>> import highlevel as hl
    >>> float(hl.optimizers.schedules.InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0)(10))
    0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay"):
        _positive_steps("InverseTimeDecay", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _step(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return jnp.float32(self.initial_learning_rate) / (1.0 + jnp.float32(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` until ``boundaries[1]``, ...

    Args:
        boundaries: increasing step numbers.
        values: one more value than boundaries.
        name: the schedule's name, kept in its config.

    >>> s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> [float(s(t)) for t in (10, 11, 21)]
    [1.0, 0.5, 0.1...]
    """

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries ({list(boundaries)}) and {len(values)} values "
                f"({list(values)}).")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        # As Keras: boundaries take the step's dtype, and each interval adds its value.
        bounds = [jnp.asarray(b).astype(step.dtype) for b in self.boundaries]
        values = [jnp.float32(v) for v in self.values]
        result = (step <= bounds[0]).astype(jnp.float32) * values[0]
        result = result + (step > bounds[-1]).astype(jnp.float32) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)).astype(jnp.float32) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` as ``(1 - step / decay_steps) ** power``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the step where ``end_learning_rate`` is reached (and kept, unless ``cycle``).
        end_learning_rate: the final rate.
        power: the power of the polynomial (1: linear).
        cycle: restart the decay past ``decay_steps``, over a multiple of it.
        name: the schedule's name, kept in its config.

    >>> import highlevel as hl
    >>> s = hl.optimizers.schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)
    >>> [round(float(s(t)), 6) for t in (0, 5, 20)]
    [1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        _positive_steps("PolynomialDecay", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _step(step)
        decay_steps = jnp.float32(self.decay_steps)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        initial, end = jnp.float32(self.initial_learning_rate), jnp.float32(self.end_learning_rate)
        return (initial - end) * jnp.power(1.0 - p, jnp.float32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay to ``alpha`` times the initial (or warmed-up) rate, as Keras 3.

    An optional linear warmup comes first.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps of cosine decay (after warmup).
        alpha: the final rate as a fraction of the decayed-from rate.
        name: the schedule's name, kept in its config.
        warmup_target: if set, warm up linearly from ``initial_learning_rate`` to this rate
            over ``warmup_steps``, then decay from it.
        warmup_steps: steps of warmup.

    >>> round(float(CosineDecay(1.0, decay_steps=10)(5)), 6)
    0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0):
        _positive_steps("CosineDecay", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_from):
        fraction = step / jnp.float32(self.decay_steps)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.float32(math.pi) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = _step(step)
        initial = jnp.float32(self.initial_learning_rate)
        decay_steps = jnp.float32(self.decay_steps)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(step, decay_steps), initial)
        target = jnp.float32(self.warmup_target)
        warmup_steps = jnp.float32(self.warmup_steps)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        in_warmup = step < warmup_steps
        # The unused branch may divide by zero (warmup_steps == 0): keep it out of the result.
        safe_warmup = jnp.where(warmup_steps > 0, warmup_steps, 1.0)
        warm = (target - initial) * (step / safe_warmup) + initial
        return jnp.where(in_warmup, warm, self._decay(step - warmup_steps, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_CLASSES = {cls.__name__: cls for cls in (
    ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay, CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's config dict of a schedule: ``{"class_name": ..., "config": ...}``.

    Args:
        schedule: A :class:`LearningRateSchedule`.

    Returns:
        The dict, which :func:`deserialize` reads back.

    >>> import highlevel as hl
    >>> hl.optimizers.schedules.serialize(hl.optimizers.schedules.PiecewiseConstantDecay([5], [1.0, 0.1]))
    {'class_name': 'PiecewiseConstantDecay',
     'config': {'boundaries': [5], 'values': [1.0, 0.1], 'name': 'PiecewiseConstant'}}
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"Cannot serialize {schedule!r}: it is not an "
                         "hl.optimizers.schedules.LearningRateSchedule.")
    return class_config(schedule)


def schedule_classes() -> dict[str, type]:
    """The schedule classes by Keras class name (a copy): what a config may name."""
    return dict(_CLASSES)


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """The schedule described by a ``{"class_name": ..., "config": ...}`` dict.

    Args:
        config: A dict as :func:`serialize` writes.

    Returns:
        A new schedule.

    >>> import highlevel as hl
    >>> s = hl.optimizers.schedules.deserialize(
    ...     {"class_name": "CosineDecay", "config": {"initial_learning_rate": 1.0, "decay_steps": 10}})
    >>> round(float(s(10)), 6)
    0.0
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A schedule config is a dict with 'class_name' and 'config', got {config!r}.")
    cls = resolve_class(config, _CLASSES, "learning-rate schedule", ", ".join(sorted(_CLASSES)))
    return cls.from_config(config.get("config", {}))


def get(identifier) -> LearningRateSchedule:
    """A schedule from an instance (returned as is) or a config dict.

    Args:
        identifier: A :class:`LearningRateSchedule`, or a dict as :func:`serialize` writes.

    Returns:
        The schedule.

    >>> import highlevel as hl
    >>> type(hl.optimizers.schedules.get({"class_name": "ExponentialDecay", "config": {
    ...     "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}})).__name__
    'ExponentialDecay'
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"A learning-rate schedule must be a LearningRateSchedule or a config dict, "
                    f"got {identifier!r}.")
