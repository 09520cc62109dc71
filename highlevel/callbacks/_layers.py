"""What the layer-hyperparameter callbacks share: finding layers and scheduling a value per epoch.

``select_layers`` and ``all_layers`` find a model's layers (nested models included);
``schedule_arity`` checks a ``schedule(epoch[, value])``; the abstract
``LayerValueScheduler`` sets one float hyperparameter of some layers each epoch. Used by
``DropoutScheduler``, ``BatchNormMomentumScheduler``, ``FreezeBatchNorm`` and
``PreciseBatchNorm``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Sequence

from flax import nnx

from highlevel.layers.base import Layer
from highlevel.training.callback import Callback

__all__ = ["LayerValueScheduler", "all_layers", "schedule_arity", "select_layers"]


def all_layers(model) -> list[Layer]:
    """Every layer of ``model``, nested models included (the model itself first)."""
    if hasattr(model, "flatten_layers"):   # a Layer, or an Ensemble (its members' shared layout)
        return list(model.flatten_layers())
    return [node for _, node in nnx.iter_graph(model) if isinstance(node, Layer)]


def _names(layers: Sequence[Layer]) -> str:
    return ", ".join(repr(layer.name) for layer in layers) or "none"


def select_layers(model, layers, layer_type: type, owner: str) -> list[Layer]:
    """The ``layer_type`` layers of ``model`` that ``layers`` names.

    ``layers`` is None (all of them, searched recursively), or a layer, a layer name,
    or a list of them; a named layer that is not a ``layer_type`` (a nested model, a
    block) stands for the ``layer_type`` layers inside it.
    """
    kind = layer_type.__name__
    everything = all_layers(model)
    available = [layer for layer in everything if isinstance(layer, layer_type)]
    model_name = getattr(model, "name", type(model).__name__)
    if layers is None:
        if not available:
            raise ValueError(f"{owner} found no {kind} layers in model '{model_name}': add a {kind} layer "
                             f"to the model, or remove the {owner} callback.")
        return available
    items = [layers] if isinstance(layers, (str, Layer)) else list(layers)
    chosen: list[Layer] = []
    for item in items:
        if isinstance(item, str):
            matches = [layer for layer in everything if layer.name == item]
            if not matches:
                raise ValueError(f"{owner} was given layers=[{item!r}], but model '{model_name}' has no layer "
                                 f"named {item!r}. Its {kind} layers are: {_names(available)}.")
        elif isinstance(item, Layer):
            if not any(layer is item for layer in everything):
                raise ValueError(f"{owner} was given layer '{item.name}', which is not part of model "
                                 f"'{model_name}'. Its {kind} layers are: {_names(available)}.")
            matches = [item]
        else:
            raise TypeError(f"{owner} layers must be layer names or layers (or a list of them), got "
                            f"{type(item).__name__} {item!r}.")
        found = [inner for match in matches for inner in all_layers(match) if isinstance(inner, layer_type)]
        if not found:
            raise ValueError(f"{owner} was given layer {matches[0].name!r}, a {type(matches[0]).__name__} that "
                             f"is not a {kind} and holds none. The model's {kind} layers are: "
                             f"{_names(available)}.")
        for layer in found:
            if not any(layer is seen for seen in chosen):
                chosen.append(layer)
    return chosen


def schedule_arity(schedule, owner: str, value_name: str) -> int:
    """2 if ``schedule(epoch, value)`` is a valid call, 1 if only ``schedule(epoch)`` is."""
    if not callable(schedule):
        raise TypeError(f"{owner} needs a callable schedule(epoch, {value_name}) -> {value_name}, "
                        f"got {type(schedule).__name__} {schedule!r}.")
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # some builtins and C callables have none: try the full form
        return 2
    for arity, args in ((2, (0, 0.0)), (1, (0,))):
        try:
            signature.bind(*args)
            return arity
        except TypeError:
            pass
    raise TypeError(f"{owner}'s schedule must take (epoch, {value_name}) or (epoch) as positional "
                    f"arguments; its signature is {signature}.")


class LayerValueScheduler(Callback):
    """Abstract: sets one float hyperparameter of some layers to ``schedule(epoch, value)`` each epoch.

    Subclasses set the class attributes below. The values live in the train state as
    arrays, so changing them never recompiles the step.
    """

    _layer_type: type = Layer
    _attribute = ""       # the layer's property, e.g. "rate"
    _value_name = ""      # how the docs call it, e.g. "rate"
    _log_prefix = ""      # epoch-log key: f"{_log_prefix}/{layer.name}"
    _range = ""           # for messages, e.g. "[0, 1)"

    def __init__(self, schedule: Callable[..., float], layers=None, verbose: int = 0):
        super().__init__()
        self._owner = type(self).__name__
        self._arity = schedule_arity(schedule, self._owner, self._value_name)
        self.schedule = schedule
        self.layers_arg = layers
        self.verbose = verbose
        self._layers: list[Layer] | None = None
        self._keys: list[str] = []
        self._scheduled_epoch: int | None = None   # the epoch whose values are in place (for resuming)
        self._restored: dict[str, Any] | None = None

    @staticmethod
    def _in_range(value: float) -> bool:
        raise NotImplementedError

    # -- selecting layers and checking values ---------------------------------------

    def _resolve(self) -> list[Layer]:
        if self._layers is None:
            layers = select_layers(self.model, self.layers_arg, self._layer_type, self._owner)
            keys, used = [], set()
            for layer in layers:
                key, n = f"{self._log_prefix}/{layer.name}", 1
                while key in used:  # two nested layers may share a name
                    key, n = f"{self._log_prefix}/{layer.name}_{n}", n + 1
                used.add(key)
                keys.append(key)
            self._layers, self._keys = layers, keys
        return self._layers

    def _check(self, value, layer: Layer, epoch: int | None) -> float:
        when = "" if epoch is None else f" at epoch {epoch}"
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{self._owner}'s schedule returned {value!r} ({type(value).__name__}){when} for "
                            f"{self._layer_type.__name__} layer '{layer.name}'; it must return a float "
                            f"{self._value_name} in {self._range}.") from None
        if isinstance(value, bool) or math.isnan(number) or not self._in_range(number):
            raise ValueError(f"{self._owner}'s schedule returned {value!r}{when} for "
                             f"{self._layer_type.__name__} layer '{layer.name}', but a {self._value_name} "
                             f"must be in {self._range}. Fix the schedule.")
        return number

    def _set(self, layer: Layer, value: float) -> None:
        setattr(layer, self._attribute, value)

    # -- hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._layers = None  # the model may have changed since the last fit
        self._resolve()
        if self._restored is not None:
            self._apply_restored()

    def on_epoch_begin(self, epoch, logs=None):
        layers = self._resolve()
        if self._scheduled_epoch == epoch:
            # Resumed inside an epoch whose values set_state put back: scheduling again
            # would apply a relative schedule (rate * 2) twice.
            return
        for layer in layers:
            current = getattr(layer, self._attribute)
            new = self.schedule(epoch, current) if self._arity == 2 else self.schedule(epoch)
            new = self._check(new, layer, epoch)
            self._set(layer, new)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self._owner} setting the {self._value_name} of "
                      f"{self._layer_type.__name__} layer '{layer.name}' to {getattr(layer, self._attribute)}.",
                      flush=True)
        self._scheduled_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for key, layer in zip(self._keys, self._resolve()):
            logs[key] = getattr(layer, self._attribute)

    def on_train_end(self, logs=None):
        self._scheduled_epoch = None
        self._restored = None

    # -- resuming (BackupAndRestore) ----------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        if self._layers is None or self._scheduled_epoch is None:
            return {}
        return {"epoch": self._scheduled_epoch,
                "values": {key: getattr(layer, self._attribute) for key, layer in zip(self._keys, self._layers)}}

    def set_state(self, state: dict[str, Any]) -> None:
        self._restored = dict(state) if state else None
        if self._restored is not None and self.model is not None:
            self._resolve()
            self._apply_restored()

    def _apply_restored(self) -> None:
        state, self._restored = self._restored, None
        values = state.get("values", {})
        for key, layer in zip(self._keys, self._layers):
            if key in values:
                self._set(layer, self._check(values[key], layer, None))
        self._scheduled_epoch = state.get("epoch")
