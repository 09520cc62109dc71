"""Checks the named parts of a config against what is registered, with key paths.

Layers, optimizers, schedules, callbacks, losses and metrics are looked up by
their registered names only (nothing is imported from a config string), their
arguments are checked against the constructors' signatures, and each is then
constructed from its values (unbuilt), so that ``units: -5``, ``activation: rellu``
or ``learning_rate: fast`` are found by ``validate`` too. Independent parts are
checked independently: every mistake is reported, each with its key path.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any

from highlevel.config.errors import ConfigError, did_you_mean

__all__ = ["check_semantics", "semantic_mistakes", "split_entry", "callback_classes", "check_layer", "Mistakes",
           "NESTED_LAYER_ARGS"]

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


#: The name a layer is constructed with to check its arguments (so that it takes no default name).
_CHECK_NAME = "config_check"
# Python's own words for a class constructed without a required argument.
_MISSING = re.compile(r"(\w+)\.__init__\(\) missing \d+ required (?:positional |keyword-only )?arguments?: (.+)")
# Python's own words for a string where a number was wanted, and what to write instead.
_CONVERSIONS = ((re.compile(r"could not convert string to float: (.+)"), "a number"),
                (re.compile(r"invalid literal for int\(\) with base 10: (.+)"), "an integer"))


def _construct(where: str, make, args: dict[str, Any] | None = None) -> Any:
    """Builds an object from its config values to check them (``units: -5``, ``activation: rellu``).

    A message naming the check's layer name, or Python's bare "could not convert string to
    float: 'abc'", is said in the config's terms: the argument and what it takes."""
    try:
        return make()
    except (TypeError, ValueError, KeyError) as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        text = text.replace(f" layer '{_CHECK_NAME}'", "").replace(f"'{_CHECK_NAME}'", "this layer")
        missing = _MISSING.fullmatch(text)
        if missing:
            names = re.findall(r"'(\w+)'", missing.group(2))
            named = where.rsplit(".", 1)[-1]   # the config's name (Conv2D), not the base class's (_Conv)
            named = named if named.isidentifier() else missing.group(1)
            text = (f"{named} needs the argument{'s' if len(names) > 1 else ''} "
                    f"{', '.join(names)}; give {'them' if len(names) > 1 else 'it'} a value, as in "
                    f"{{{named}: {{{names[0]}: ...}}}}.")
        for pattern, wanted in _CONVERSIONS:
            match = pattern.fullmatch(text)
            keys = [k for k, v in (args or {}).items() if match and repr(v) == match.group(1)]
            if keys:
                text = f"{keys[0]} must be {wanted}, got {match.group(1)}."
                break
        raise ConfigError(f"{where}: {text}") from None


class Mistakes:
    """Collects the mistakes of independent parts of a config, so that all are reported at once."""

    def __init__(self):
        self.items: list[str] = []

    @contextlib.contextmanager
    def check(self):
        try:
            yield
        except ConfigError as err:
            self.items.append(str(err))


def check_layer(entry: Any, where: str, mistakes: Mistakes | None = None) -> None:
    """Checks a layer entry's name, arguments and values (by constructing it, unbuilt)."""
    from highlevel.layers.base import layer_classes
    known_layers = layer_classes()
    mistakes = mistakes if mistakes is not None else _Raising()
    with mistakes.check():
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
                check_layer(layer, f"{where}.layers[{i}]", mistakes)
            return
        if name in ("Model", "Functional"):
            for i, layer in enumerate(args.get("layers", [])):
                if not isinstance(layer, dict):
                    raise ConfigError(f"{where}.layers[{i}]: a layer config is {{class_name, config}}, got {layer!r}.")
                check_layer({"class_name": layer.get("class_name"), "config": layer.get("config")},
                            f"{where}.layers[{i}]", mistakes)
            return
        _check_args(cls, args, f"{where}.{name}", _LAYER_BASE_ARGS)
        nested = False
        for arg in NESTED_LAYER_ARGS:
            value = args.get(arg)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    check_layer(item, f"{where}.{name}.{arg}[{i}]", mistakes)
                nested = True
            elif isinstance(value, (dict, str)):
                check_layer(value, f"{where}.{name}.{arg}", mistakes)
                nested = True
        if nested:
            return
        # An explicit name: constructing this check layer takes no default name from the model's layers.
        named = {**args, "name": args.get("name") or _CHECK_NAME}
        if isinstance(entry, dict) and "class_name" in entry:
            _construct(f"{where}.{name}", lambda: cls.from_config(named), args)
        else:
            _construct(f"{where}.{name}", lambda: cls(**named), args)
        _check_named_parts(args, f"{where}.{name}")


def _check_named_parts(args: dict[str, Any], where: str) -> None:
    """Initializers, regularizers and constraints named by a layer's arguments, which the layer
    itself looks up only when it is built (``kernel_initializer: glorot``)."""
    import highlevel as hl
    for key, value in args.items():
        kind = next((k for k in ("initializer", "regularizer", "constraint") if key.endswith(f"_{k}")), None)
        if kind is None or not isinstance(value, (str, dict)):
            continue
        module = getattr(hl, f"{kind}s")
        try:
            module.get(value)
        except (TypeError, ValueError, KeyError) as err:
            text = str(err).strip().splitlines()[0]
            known = re.search(r"Known \w+: ([^;]+)", text)
            hint = did_you_mean(value, re.findall(r"\w+", known.group(1))) if known and isinstance(value, str) else ""
            first, _, rest = text.partition(". ")
            raise ConfigError(f"{where}: {key}: {first}{hint or '.'} {rest}".rstrip()) from None


class _Raising(Mistakes):
    """Raises the first mistake (for callers that check one entry)."""

    @contextlib.contextmanager
    def check(self):
        yield


def _check_model(model: Any, mistakes: Mistakes, where: str = "model") -> None:
    if not isinstance(model, dict):
        raise ConfigError(f"{where}: write the model as a mapping: {{layers: [...]}}, {{inputs, nodes, outputs}} "
                          f"or {{class_name, config}}, got {model!r}.")
    if "class_name" in model:
        check_layer(model, where, mistakes)
        return
    if "application" in model:
        _check_application(model, where, mistakes)
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
            check_layer(layer, f"{where}.layers[{i}]", mistakes)
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
        if not isinstance(model["nodes"], list):
            raise ConfigError(f"{where}.nodes: a list of nodes is needed, got {model['nodes']!r}.")
        known = set(model["inputs"])
        for i, node in enumerate(model["nodes"]):
            path = f"{where}.nodes[{i}]"
            if not isinstance(node, dict) or not {"name", "layer"} <= set(node):
                raise ConfigError(f"{path}: a node is {{name: ..., layer: {{Name: {{args}}}}, inputs: [...]}}.")
            check_layer(node["layer"], f"{path}.layer", mistakes)
            inputs = node.get("inputs", [])
            for ref in (inputs if isinstance(inputs, list) else [inputs]):
                if ref not in known:
                    mistakes.items.append(f"{path}.inputs: {ref!r} is not an input or an earlier node"
                                          f"{did_you_mean(ref, known)} Known so far: {', '.join(sorted(map(str, known)))}.")
            known.add(node["name"])
        outputs = model["outputs"]
        for ref in (outputs if isinstance(outputs, list) else list(outputs.values()) if isinstance(outputs, dict) else [outputs]):
            if ref not in known:
                raise ConfigError(f"{where}.outputs: {ref!r} is not a node{did_you_mean(ref, known)}")
        return
    raise ConfigError(f"{where}: write the model as {{layers: [...]}} (a Sequential stack), "
                      "{inputs, nodes, outputs} (a functional graph), or a model.get_config() dict "
                      "({class_name, config}).")


def _check_application(model: dict[str, Any], where: str, mistakes: Mistakes) -> None:
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
        check_layer(layer, f"{where}.layers[{i}]", mistakes)


def callback_classes() -> dict[str, type]:
    """The callbacks a config may name: every public callback but those a run adds itself."""
    from highlevel import callbacks
    from highlevel.training.callback import Callback
    own = ("Callback", "History", "CallbackList", "BackupOnSignal")
    return {name: getattr(callbacks, name) for name in callbacks.__all__
            if isinstance(getattr(callbacks, name), type) and issubclass(getattr(callbacks, name), Callback)
            and name not in own}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The numerics arguments every optimizer takes: (test, what is allowed), checked with key paths.
_OPTIMIZER_VALUES = {
    "gradient_accumulation_steps": (lambda v: v is None or (_is_int(v) and v >= 2), "an integer >= 2 (or null)"),
    "use_ema": (lambda v: isinstance(v, bool), "true or false"),
    "ema_momentum": (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "ema_overwrite_frequency": (lambda v: v is None or (_is_int(v) and v >= 1), "an integer >= 1 (or null)"),
    "loss_scale_factor": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 (or null)"),
    "clipnorm": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 (or null)"),
    "global_clipnorm": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 (or null)"),
    "clipvalue": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 (or null)"),
    "weight_decay": (lambda v: v is None or (_is_number(v) and v >= 0), "a number >= 0 (or null)"),
    "initial_scale": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    "dynamic_growth_steps": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
}


def _check_optimizer_values(args: dict[str, Any], where: str) -> None:
    for key, value in args.items():
        test = _OPTIMIZER_VALUES.get(key)
        if test is not None and not test[0](value):
            raise ConfigError(f"{where}.{key}: must be {test[1]}, got {value!r}.")
    clips = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if args.get(k) is not None]
    if len(clips) > 1:
        raise ConfigError(f"{where}: set only one of clipnorm, clipvalue and global_clipnorm, got {', '.join(clips)}.")


def _check_optimizer(opt: Any, where: str = "optimizer") -> None:
    from highlevel import optimizers
    from highlevel.optimizers import schedules
    if not isinstance(opt, (str, dict)):
        raise ConfigError(f"{where}: a name (adam) or {{name: adam, learning_rate: ...}}, got {opt!r}.")
    name, args = (opt, {}) if isinstance(opt, str) else (opt.get("name"), {k: v for k, v in opt.items() if k != "name"})
    if name is None:
        raise ConfigError(f"{where}.name: the optimizer's name is required (e.g. adam, sgd).")
    known = optimizers.optimizer_classes()
    cls = known.get(str(name).lower())
    if cls is None:
        raise ConfigError(f"{where}: unknown optimizer {name!r}{did_you_mean(str(name).lower(), known)} "
                          f"Known optimizers: {', '.join(sorted(known))}.")
    _check_args(cls, args, where)
    _check_optimizer_values(args, where)
    if cls is optimizers.LossScaleOptimizer:
        inner = args.get("inner_optimizer", "adam")
        _check_optimizer(inner, f"{where}.inner_optimizer")
        if isinstance(inner, dict) and str(inner.get("name")).lower() == "lossscaleoptimizer":
            raise ConfigError(f"{where}.inner_optimizer: a LossScaleOptimizer cannot wrap another one.")
        if isinstance(inner, dict) and inner.get("loss_scale_factor") is not None:
            raise ConfigError(f"{where}.inner_optimizer.loss_scale_factor: the LossScaleOptimizer scales the loss "
                              "already; remove it.")
        from highlevel.config.build import build_optimizer   # build imports check at module level
        args = {**args, "inner_optimizer": _construct(f"{where}.inner_optimizer",
                                                      lambda: build_optimizer(inner, f"{where}.inner_optimizer"))}
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
        _construct(f"{where}.learning_rate.{sname}", lambda: scls(**sargs), sargs)
        args = {**args, "learning_rate": scls(**sargs)}
    _construct(where, lambda: cls(**args), args)


def _uses_ema(opt: Any) -> bool:
    if not isinstance(opt, dict):
        return False
    return bool(opt.get("use_ema")) or _uses_ema(opt.get("inner_optimizer"))


def _check_callbacks(entries: Any, mistakes: Mistakes, optimizer: Any = None) -> None:
    known = callback_classes()
    if not isinstance(entries, list):
        raise ConfigError(f"callbacks: a list of {{Name: {{argument: value}}}}, got {entries!r}.")
    for i, entry in enumerate(entries):
        with mistakes.check():
            name, args = split_entry(entry, f"callbacks[{i}]", "callback")
            if name not in known:
                raise ConfigError(f"callbacks[{i}]: unknown callback {name!r}{did_you_mean(name, known)} "
                                  f"Known callbacks: {', '.join(sorted(known))}.")
            _check_args(known[name], args, f"callbacks[{i}].{name}")
            if name == "SwapEMAWeights" and not _uses_ema(optimizer):
                raise ConfigError(f"callbacks[{i}].SwapEMAWeights: it swaps in the optimizer's moving averages, "
                                  "so the optimizer needs use_ema: true (e.g. optimizer: {name: adam, use_ema: true}).")
            _construct(f"callbacks[{i}].{name}", lambda: known[name](**args), args)


def _check_data(data: dict, mistakes: Mistakes) -> None:
    source = data.get("source", "digits")
    if source in ("npz", "image_folder", "csv") and not data.get("path"):
        mistakes.items.append(f"data.path: the {source} source needs a path.")
    if source == "csv" and not data.get("target"):
        mistakes.items.append("data.target: the csv source needs the target column's name.")
    if source == "image_folder" and not data.get("image_size"):
        mistakes.items.append("data.image_size: the image_folder source needs [height, width].")
    if source == "timeseries" and not data.get("series"):
        mistakes.items.append("data.series: the timeseries source needs a series name (co2, sunspots).")
    for i, entry in enumerate(data.get("augmentation") or []):
        check_layer(entry, f"data.augmentation[{i}]", mistakes)


def semantic_mistakes(config: dict[str, Any], skip: set[str] = frozenset()) -> list[str]:
    """Every mistake in the named parts of ``config`` (a config as a dict), each with its key path.

    Sections in ``skip`` (those the schema already refused) are not looked at.
    """
    from highlevel.config.build import build_losses, build_metrics
    mistakes = Mistakes()
    if "model" not in skip and "model" in config:
        with mistakes.check():
            _check_model(config["model"], mistakes)
    if "optimizer" not in skip:
        with mistakes.check():
            _check_optimizer(config.get("optimizer", "adam"))
    if "data" not in skip and isinstance(config.get("data", {}), dict):
        with mistakes.check():
            _check_data(config.get("data") or {}, mistakes)
    if "callbacks" not in skip:
        with mistakes.check():
            _check_callbacks(config.get("callbacks") or [], mistakes, config.get("optimizer"))
    if "loss" not in skip:
        with mistakes.check():
            if config.get("loss") is None:
                raise ConfigError("loss: a loss is required to train (e.g. loss: sparse_categorical_crossentropy).")
            build_losses(config["loss"])
    if "metrics" not in skip:
        with mistakes.check():
            build_metrics(config.get("metrics"))
    fine_tune = config.get("fine_tune")
    if fine_tune is not None and "fine_tune" not in skip:
        with mistakes.check():
            if "application" not in (config.get("model") or {}):
                raise ConfigError("fine_tune: a second phase unfreezes a pretrained network's top blocks, so the "
                                  "model must be written as {application: {Name: {...}}, layers: [...]}.")
            opt = config.get("optimizer")
            if isinstance(opt, dict) and isinstance(opt.get("learning_rate"), dict):
                raise ConfigError("fine_tune: the optimizer's learning_rate must be a number (fine_tune scales it "
                                  "by learning_rate_factor), not a schedule.")
    return list(dict.fromkeys(mistakes.items))


def check_semantics(config, source: str) -> None:
    """Checks the model, optimizer, losses, metrics, augmentation and callbacks of ``config`` (a RunConfig);
    raises one ConfigError listing every mistake, a line each."""
    found = semantic_mistakes(config.model_dump())
    if found:
        raise ConfigError("\n".join(f"{source}: {m}" for m in found))
