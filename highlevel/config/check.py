"""Checks the named parts of a config against what is registered, with key paths.

Layers, optimizers, schedules, callbacks, losses and metrics are looked up by
their registered names only (nothing is imported from a config string), and
their arguments are checked against the constructors' signatures.
"""

from __future__ import annotations

import inspect
from typing import Any

from highlevel.config.errors import ConfigError, did_you_mean

__all__ = ["check_semantics", "split_entry", "callback_classes", "NESTED_LAYER_ARGS"]

_LAYER_BASE_ARGS = ("name", "trainable", "dtype", "input_shape", "input_dim")

#: Layer arguments that hold layers (wrappers and recurrent cells): written in a config as a
#: layer entry (``{LSTMCell: {units: 8}}``), or a list of them for ``cells``.
NESTED_LAYER_ARGS = ("layer", "backward_layer", "cell", "cells")


def split_entry(entry: Any, where: str, what: str) -> tuple[str, dict[str, Any]]:
    """``{Name: {args}}`` or ``{class_name: Name, config: {args}}`` (or a bare name) as (name, args)."""
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and "class_name" in entry:
        extra = set(entry) - {"class_name", "config", "name", "inbound_nodes"}
        if extra:
            raise ConfigError(f"{where}: unknown keys {sorted(extra)} beside class_name/config.")
        return str(entry["class_name"]), dict(entry.get("config") or {})
    if isinstance(entry, dict) and len(entry) == 1:
        name, args = next(iter(entry.items()))
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ConfigError(f"{where}.{name}: the arguments of a {what} must be a mapping "
                              f"(e.g. {{units: 64}}), got {args!r}.")
        return str(name), dict(args)
    raise ConfigError(f"{where}: a {what} is written as {{Name: {{argument: value}}}} (one key), got {entry!r}.")


def _accepted(cls) -> tuple[set[str], bool]:
    names, open_kwargs = set(), False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names, open_kwargs
    return names, True


def _check_args(cls, args: dict[str, Any], where: str, extra_ok: tuple[str, ...] = ()) -> None:
    allowed, _ = _accepted(cls)
    allowed |= set(extra_ok)
    for arg in args:
        if arg not in allowed:
            raise ConfigError(f"{where}: {cls.__name__} has no argument {arg!r}{did_you_mean(arg, allowed)} "
                              f"It takes: {', '.join(sorted(allowed))}.")


def check_layer(entry: Any, where: str) -> None:
    from highlevel.layers.base import layer_classes
    known_layers = layer_classes()
    name, args = split_entry(entry, where, "layer")
    cls = known_layers.get(name)
    if cls is None:
        raise ConfigError(f"{where}: unknown layer {name!r}{did_you_mean(name, known_layers)} "
                          f"Known layers: {', '.join(sorted(known_layers))}.")
    refusal = getattr(cls, "config_refusal", None)   # a layer a config may never build (Lambda)
    if refusal:
        raise ConfigError(f"{where}.{name}: {refusal}")
    if name in ("Sequential",):
        for i, layer in enumerate(args.get("layers", [])):
            check_layer(layer, f"{where}.layers[{i}]")
        return
    if name in ("Model", "Functional"):
        for i, layer in enumerate(args.get("layers", [])):
            check_layer({"class_name": layer.get("class_name"), "config": layer.get("config")},
                        f"{where}.layers[{i}]")
        return
    _check_args(cls, args, f"{where}.{name}", _LAYER_BASE_ARGS)
    for arg in NESTED_LAYER_ARGS:
        value = args.get(arg)
        if isinstance(value, list):
            for i, item in enumerate(value):
                check_layer(item, f"{where}.{name}.{arg}[{i}]")
        elif isinstance(value, (dict, str)):
            check_layer(value, f"{where}.{name}.{arg}")


def _check_model(model: dict[str, Any], where: str = "model") -> None:
    if "class_name" in model:
        check_layer(model, where)
        return
    if "application" in model:
        _check_application(model, where)
        return
    if "layers" in model:
        allowed = {"layers", "name", "input_shape"}
        unknown = set(model) - allowed
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(key, allowed)} A layer-list model "
                              "takes: layers, name, input_shape.")
        if not isinstance(model["layers"], list) or not model["layers"]:
            raise ConfigError(f"{where}.layers: a non-empty list of layers is needed, got {model['layers']!r}.")
        for i, layer in enumerate(model["layers"]):
            check_layer(layer, f"{where}.layers[{i}]")
        return
    if "nodes" in model or "inputs" in model:
        allowed = {"inputs", "nodes", "outputs", "name"}
        unknown = set(model) - allowed
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(key, allowed)} A functional model "
                              "takes: inputs, nodes, outputs, name.")
        for key in ("inputs", "nodes", "outputs"):
            if key not in model:
                raise ConfigError(f"{where}.{key}: a functional model needs inputs, nodes and outputs.")
        if not isinstance(model["inputs"], dict):
            raise ConfigError(f"{where}.inputs: a mapping of input names to {{shape: [...]}} is needed.")
        known = set(model["inputs"])
        for i, node in enumerate(model["nodes"]):
            path = f"{where}.nodes[{i}]"
            if not isinstance(node, dict) or not {"name", "layer"} <= set(node):
                raise ConfigError(f"{path}: a node is {{name: ..., layer: {{Name: {{args}}}}, inputs: [...]}}.")
            check_layer(node["layer"], f"{path}.layer")
            inputs = node.get("inputs", [])
            for ref in (inputs if isinstance(inputs, list) else [inputs]):
                if ref not in known:
                    raise ConfigError(f"{path}.inputs: {ref!r} is not an input or an earlier node"
                                      f"{did_you_mean(ref, known)} Known so far: {', '.join(sorted(known))}.")
            known.add(node["name"])
        outputs = model["outputs"]
        for ref in (outputs if isinstance(outputs, list) else list(outputs.values()) if isinstance(outputs, dict) else [outputs]):
            if ref not in known:
                raise ConfigError(f"{where}.outputs: {ref!r} is not a node{did_you_mean(ref, known)}")
        return
    raise ConfigError(f"{where}: write the model as {{layers: [...]}} (a Sequential stack), "
                      "{inputs, nodes, outputs} (a functional graph), or a model.get_config() dict "
                      "({class_name, config}).")


def _check_application(model: dict[str, Any], where: str) -> None:
    from highlevel import applications
    allowed = {"application", "layers", "name", "input_shape", "trainable", "unfreeze_top", "freeze_batch_norm"}
    unknown = set(model) - allowed
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(key, allowed)} A pretrained model takes: "
                          f"{', '.join(sorted(allowed))}.")
    name, args = split_entry(model["application"], f"{where}.application", "application")
    known = applications.names()
    if name not in known:
        raise ConfigError(f"{where}.application: unknown network {name!r}{did_you_mean(name, known)} "
                          f"Known: {', '.join(known)}.")
    accepted = set(inspect.signature(applications.get(name)).parameters)
    for arg in args:
        if arg not in accepted:
            raise ConfigError(f"{where}.application.{name}: {name} has no argument {arg!r}"
                              f"{did_you_mean(arg, accepted)} It takes: {', '.join(sorted(accepted))}.")
    if "input_shape" in args:
        raise ConfigError(f"{where}.application.{name}.input_shape: give the input shape as {where}.input_shape "
                          "(or let it come from the data).")
    for key in ("trainable", "freeze_batch_norm"):
        if key in model and not isinstance(model[key], bool):
            raise ConfigError(f"{where}.{key}: true or false, got {model[key]!r}.")
    top = model.get("unfreeze_top")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 0):
        raise ConfigError(f"{where}.unfreeze_top: a number of blocks >= 0, got {top!r}.")
    for i, layer in enumerate(model.get("layers", [])):
        check_layer(layer, f"{where}.layers[{i}]")


def callback_classes() -> dict[str, type]:
    from highlevel import callbacks
    from highlevel.training.callback import Callback
    return {name: getattr(callbacks, name) for name in callbacks.__all__
            if isinstance(getattr(callbacks, name), type) and issubclass(getattr(callbacks, name), Callback)
            and name not in ("Callback", "History", "CallbackList")}


def _check_optimizer(opt: Any, where: str = "optimizer") -> None:
    from highlevel import optimizers
    from highlevel.optimizers import schedules
    name, args = (opt, {}) if isinstance(opt, str) else (opt.get("name"), {k: v for k, v in opt.items() if k != "name"})
    if name is None:
        raise ConfigError(f"{where}.name: the optimizer's name is required (e.g. adam, sgd).")
    known = optimizers.optimizer_classes()
    cls = known.get(str(name).lower())
    if cls is None:
        raise ConfigError(f"{where}: unknown optimizer {name!r}{did_you_mean(str(name).lower(), known)} "
                          f"Known optimizers: {', '.join(sorted(known))}.")
    _check_args(cls, args, where)
    lr = args.get("learning_rate")
    if isinstance(lr, dict):
        sname, sargs = split_entry(lr, f"{where}.learning_rate", "schedule")
        known_schedules = schedules.schedule_classes()
        scls = known_schedules.get(sname)
        if scls is None:
            raise ConfigError(f"{where}.learning_rate: unknown schedule {sname!r}"
                              f"{did_you_mean(sname, known_schedules)} Known schedules: "
                              f"{', '.join(sorted(known_schedules))}.")
        _check_args(scls, sargs, f"{where}.learning_rate.{sname}")


def check_semantics(config, source: str) -> None:
    """Checks the model, optimizer, losses, metrics, augmentation and callbacks of ``config``."""
    try:
        _check_model(config.model)
        _check_optimizer(config.optimizer)
        for i, entry in enumerate(config.data.augmentation):
            check_layer(entry, f"data.augmentation[{i}]")
        known = callback_classes()
        for i, entry in enumerate(config.callbacks):
            name, args = split_entry(entry, f"callbacks[{i}]", "callback")
            if name not in known:
                raise ConfigError(f"callbacks[{i}]: unknown callback {name!r}{did_you_mean(name, known)} "
                                  f"Known callbacks: {', '.join(sorted(known))}.")
            _check_args(known[name], args, f"callbacks[{i}].{name}")
        if config.loss is None:
            raise ConfigError("loss: a loss is required to train (e.g. loss: sparse_categorical_crossentropy).")
        from highlevel.config.build import build_losses, build_metrics
        build_losses(config.loss)
        build_metrics(config.metrics)
        if config.data.source in ("npz", "image_folder", "csv") and not config.data.path:
            raise ConfigError(f"data.path: the {config.data.source} source needs a path.")
        if config.data.source == "csv" and not config.data.target:
            raise ConfigError("data.target: the csv source needs the target column's name.")
        if config.data.source == "image_folder" and not config.data.image_size:
            raise ConfigError("data.image_size: the image_folder source needs [height, width].")
        if config.data.source == "timeseries" and not config.data.series:
            raise ConfigError("data.series: the timeseries source needs a series name (co2, sunspots).")
        if config.fine_tune is not None:
            if "application" not in config.model:
                raise ConfigError("fine_tune: a second phase unfreezes a pretrained network's top blocks, so the "
                                  "model must be written as {application: {Name: {...}}, layers: [...]}.")
            opt = config.optimizer
            if isinstance(opt, dict) and isinstance(opt.get("learning_rate"), dict):
                raise ConfigError("fine_tune: the optimizer's learning_rate must be a number (fine_tune scales it "
                                  "by learning_rate_factor), not a schedule.")
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
