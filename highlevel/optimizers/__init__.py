"""Optimizers by Keras name, each compiled to an ``optax.GradientTransformation``.

``Adam(...).to_optax()`` gives a transformation whose updates follow Keras 3's update
rules (Keras's epsilon placement, momentum buffers that hold ``lr * grad``, decoupled
weight decay ``var -= var * weight_decay * lr`` before the update, Keras's gradient
clipping). It is wrapped in ``optax.inject_hyperparams``, so the learning rate is an
array in the optimizer state (``state.hyperparams["learning_rate"]``) that can change
between steps without recompiling, or a schedule evaluated from the step count.

The trainer binds an optimizer to its train state with ``optimizer.bind(getter,
setter)``; after that ``optimizer.learning_rate`` reads and writes the value in the
state.
"""

from __future__ import annotations

import inspect
from typing import Any

import optax

from highlevel.optimizers import schedules
from highlevel.utils.serialization import class_config, resolve_class


__all__ = ["Optimizer", "MultiOptimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor", "ScheduleFreeAdamW", "Muon", "OptimizerMap", "OptaxOptimizer",
           "LossScaleOptimizer", "KerasOptimizerState", "LossScaleState", "NumericsState", "schedules", "numerics",
           "get", "serialize", "deserialize", "get_hyperparam", "set_hyperparam", "iterations", "has_ema",
           "ema_weights", "swap_ema_weights", "set_ema_weights"]

from highlevel.optimizers.adagrad import Adagrad
from highlevel.optimizers.adaptive import Adadelta, Adamax, Nadam
from highlevel.optimizers.adam import Adam, AdamW
from highlevel.optimizers.base import KerasOptimizerState, Optimizer
from highlevel.optimizers.ftrl import Ftrl
from highlevel.optimizers.hyperparams import get_hyperparam, set_hyperparam
from highlevel.optimizers import numerics
from highlevel.optimizers.lion import Lion
from highlevel.optimizers.loss_scale_optimizer import LossScaleOptimizer, LossScaleState
from highlevel.optimizers.muon import Muon
from highlevel.optimizers.numerics import (NumericsState, ema_weights, has_ema, iterations, set_ema_weights,
                                           swap_ema_weights)
from highlevel.optimizers.optax_optimizer import OptaxOptimizer
from highlevel.optimizers.rmsprop import RMSprop
from highlevel.optimizers.schedule_free import ScheduleFreeAdamW
from highlevel.optimizers.sgd import SGD
from highlevel.optimizers.weight_scaled import Adafactor, Lamb


_CLASSES = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam,
                                                   Ftrl, Lion, Lamb, Adafactor, ScheduleFreeAdamW, Muon,
                                                   LossScaleOptimizer)}


def optimizer_classes() -> dict[str, type]:
    """The optimizer classes by lower-case Keras name (a copy): what a config may name."""
    return dict(_CLASSES)


def get(identifier) -> Optimizer:
    """An ``Optimizer`` from a Keras name, a config dict, an optimizer or an optax transformation.

    Args:
        identifier: A Keras name (case-insensitive: ``"adam"``, ``"SGD"``), a
            ``{"class_name", "config"}`` dict, an ``Optimizer`` or ``MultiOptimizer``
            (returned as is), an ``OptimizerMap`` (made a ``MultiOptimizer``), an
            ``Optimizer`` class (instantiated with its defaults), or an
            ``optax.GradientTransformation`` (wrapped in :class:`OptaxOptimizer`).

    Returns:
        The optimizer.

    >>> import highlevel as hl
    >>> hl.optimizers.get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, (Optimizer, MultiOptimizer)):
        return identifier
    if isinstance(identifier, OptimizerMap):
        return MultiOptimizer(identifier)
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
    return class_config(optimizer)


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
    if cls is None or config.get("registered_name"):
        cls = resolve_class(config, {}, "optimizer", ", ".join(sorted(_CLASSES)))
    return cls.from_config(config.get("config", {}))


from highlevel.optimizers.multi import MultiOptimizer  # noqa: E402 - it resolves optimizers with get()
from highlevel.optimizers.optimizer_map import OptimizerMap  # noqa: E402
