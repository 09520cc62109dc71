"""From a validated RunConfig to data, a model, an optimizer and callbacks."""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from highlevel.config.check import NESTED_LAYER_ARGS, callback_classes, split_entry
from highlevel.config.errors import ConfigError, did_you_mean

__all__ = ["Data", "build_data", "apply_preprocessing", "build_model", "build_optimizer", "build_callbacks",
           "build_losses", "build_metrics"]


@dataclasses.dataclass
class Data:
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    stats: dict[str, Any]   # what predict needs to preprocess new inputs the same way


def _load_source(cfg, seed: int):
    from highlevel import datasets
    source = cfg.source
    if source == "digits":
        return datasets.digits.load_data(test_split=cfg.test_split, seed=seed)
    if source == "xor":
        return datasets.synthetic.xor(repeats=max(1, cfg.samples // 4))
    if source == "linear_regression":
        return datasets.synthetic.linear_regression(cfg.weights, cfg.bias, cfg.samples, cfg.noise,
                                                    cfg.test_split, seed)
    if source in ("mnist", "fashion_mnist"):
        return getattr(datasets, source).load_data(path=cfg.path)
    if source == "npz":
        try:
            return datasets.npz.load_data(cfg.path, test_split=cfg.test_split, seed=seed)
        except ValueError as err:   # its Python fix, x_key=/y_key=, is not a config key: say the config's
            text = str(err).replace("Pass x_key=... and y_key=... to name yours.",
                                    "Save the arrays under those names (np.savez(path, x=inputs, y=targets)).")
            raise ValueError(text) from None
    if source == "csv":
        return datasets.csv.load_data(cfg.path, target=cfg.target, features=cfg.features,
                                      test_split=cfg.test_split, seed=seed)
    if source == "image_folder":
        train, test, _ = datasets.image_folder.load_data(cfg.path, image_size=tuple(cfg.image_size),
                                                         color_mode=cfg.color_mode,
                                                         validation_split=cfg.test_split, seed=seed)
        return train, test
    if source == "timeseries":
        series = np.asarray(datasets.timeseries.load_series(cfg.series, frequency=cfg.frequency), np.float32)
        if series.ndim == 1:
            series = series[:, None]
        n_train = int(len(series) * (1.0 - cfg.test_split))
        # What evaluate and predict take: windows of the series in its own units.
        stats = {"input_range": [float(series[:n_train].min()), float(series[:n_train].max())]}
        if cfg.preprocessing.standardize:
            mean, std = series[:n_train].mean(0), series[:n_train].std(0) + 1e-8
            series = (series - mean) / std
            stats.update(series_mean=mean.tolist(), series_std=std.tolist())
        x, y = datasets.timeseries.windows(series, cfg.window, horizon=cfg.horizon)
        (x_train, y_train), (x_test, y_test) = datasets.timeseries.split(x, y, cfg.test_split)
        return ((x_train, y_train), (x_test, y_test)), stats
    raise ConfigError(f"data.source: unknown source {source!r}.")


def apply_preprocessing(x, cfg, stats: dict[str, Any]):
    """The host-side preprocessing of ``cfg`` applied to new inputs (``stats`` from training).

    ``stats`` is what the run recorded in ``preprocessing.json``: the training statistics of
    ``standardize`` (``x_mean``/``x_std``, or a series' ``series_mean``/``series_std``).
    """
    x = np.asarray(x, np.float32)
    if "series_mean" in stats:
        x = (x - np.asarray(stats["series_mean"], np.float32)) / np.asarray(stats["series_std"], np.float32)
    if cfg.rescale is not None:
        x = x * np.float32(cfg.rescale)
    if cfg.expand_dims:
        x = x[..., None]
    if cfg.to_rgb or cfg.resize is not None or cfg.imagenet_mode is not None:
        from highlevel.datasets import images
        if cfg.to_rgb:
            x = images.to_rgb(x).astype(np.float32)
        if cfg.resize is not None:
            x = images.resize(x, cfg.resize)
        if cfg.imagenet_mode is not None:
            from highlevel.applications.imagenet_utils import preprocess_input
            x = preprocess_input(x, mode=cfg.imagenet_mode)
    if cfg.flatten:
        x = x.reshape(len(x), -1)
    if "x_mean" in stats:
        x = (x - np.asarray(stats["x_mean"], np.float32)) / np.asarray(stats["x_std"], np.float32)
    return x


def build_data(cfg, seed: int) -> Data:
    """Loads and preprocesses the configured data (train and test splits)."""
    try:
        loaded = _load_source(cfg, seed)
    except (FileNotFoundError, ValueError, ImportError) as err:
        raise ConfigError(f"data ({cfg.source}): {err}") from None
    extra_stats: dict[str, Any] = {}
    if cfg.source == "timeseries":
        loaded, extra_stats = loaded
    (x_train, y_train), (x_test, y_test) = loaded
    if cfg.limit is not None:
        x_train, y_train = x_train[:cfg.limit], y_train[:cfg.limit]
    if cfg.per_class is not None:
        from highlevel.datasets.images import balanced_subset
        try:
            x_train, y_train = balanced_subset(x_train, y_train, cfg.per_class, seed=seed)
        except ValueError as err:
            raise ConfigError(f"data.per_class: {err}") from None
    if cfg.test_limit is not None:
        x_test, y_test = x_test[:cfg.test_limit], y_test[:cfg.test_limit]
    stats: dict[str, Any] = dict(extra_stats)
    where = f"data ({cfg.source}{': ' + str(cfg.path) if cfg.path else ''})"
    for name, array in (("x", x_train), ("y", y_train), ("x_test", x_test), ("y_test", y_test)):
        kind = np.asarray(array[:0]).dtype if hasattr(array, "dtype") else np.asarray(array).dtype
        if not (np.issubdtype(kind, np.number) or kind == np.bool_):
            what = "labels" if name.startswith("y") else "inputs"
            raise ConfigError(f"{where}: the {what} ({name}) hold {kind} values, not numbers: encode them as "
                              "numbers first (labels as integers 0, 1, ..., e.g. with np.unique(y, "
                              "return_inverse=True)).")
    if len(x_train) == 0:
        raise ConfigError(f"{where}: there are no training samples (x has 0 rows); check the file and the "
                          "data.limit/per_class settings.")
    # What evaluate and predict take (preprocessing.json): inputs as the source gives them,
    # before this preprocessing.
    stats["input_shape"] = [int(d) for d in np.shape(x_train)[1:]]
    if "input_range" not in stats:
        raw = np.asarray(x_train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: refused by the data checks anyway
            bounds = [float(np.nanmin(raw)), float(np.nanmax(raw))] if raw.size else []
        stats["input_range"] = bounds if bounds and np.all(np.isfinite(bounds)) else None
    pre = cfg.preprocessing
    x_train = apply_preprocessing(x_train, pre, {})
    x_test = apply_preprocessing(x_test, pre, {})
    if pre.standardize and cfg.source != "timeseries":
        axes = tuple(range(x_train.ndim - 1))
        mean, std = x_train.mean(axes), x_train.std(axes) + 1e-8
        stats.update(x_mean=mean.tolist(), x_std=std.tolist())
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return Data(x_train, _targets(y_train), x_test, _targets(y_test), stats)


def _targets(y):
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int32)
    return y.astype(np.float32)


def _layer(entry: Any, where: str):
    from highlevel.layers.base import deserialize_layer, get_layer_class
    name, args = split_entry(entry, where, "layer")
    try:
        if isinstance(entry, dict) and "class_name" in entry:
            return deserialize_layer({"class_name": name, "config": args})
        for arg in NESTED_LAYER_ARGS:   # wrappers and recurrent cells hold layers
            value = args.get(arg)
            if isinstance(value, list):
                args[arg] = [_layer(item, f"{where}.{name}.{arg}[{i}]") for i, item in enumerate(value)]
            elif isinstance(value, (dict, str)):
                args[arg] = _layer(value, f"{where}.{name}.{arg}")
        return get_layer_class(name)(**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}.{name}: {err}") from None


def build_model(cfg_model: dict[str, Any], augmentation: list, input_shape: tuple):
    """The model of the config; augmentation layers run first, inside the compiled step."""
    import highlevel as hl
    if "class_name" in cfg_model:
        model = _layer(cfg_model, "model")
    elif "application" in cfg_model:
        model = _application_model(cfg_model, tuple(cfg_model.get("input_shape") or input_shape))
    elif "layers" in cfg_model:
        shape = tuple(cfg_model.get("input_shape") or input_shape)
        layers = [_layer(entry, f"model.layers[{i}]") for i, entry in enumerate(cfg_model["layers"])]
        try:
            model = hl.Sequential([hl.Input(shape)] + layers, name=cfg_model.get("name"))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"model: {err}") from None
    else:
        tensors = {}
        for name, spec in cfg_model["inputs"].items():
            spec = spec or {}
            tensors[name] = hl.Input(tuple(spec.get("shape", input_shape)), dtype=spec.get("dtype", "float32"),
                                     name=name)
        for i, node in enumerate(cfg_model["nodes"]):
            refs = node.get("inputs", [])
            args = [tensors[r] for r in refs] if isinstance(refs, list) else tensors[refs]
            if isinstance(args, list) and len(args) == 1:
                args = args[0]
            layer = _layer(node["layer"], f"model.nodes[{i}].layer")
            try:
                tensors[node["name"]] = layer(args)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"model.nodes[{i}] ({node['name']}): {err}") from None
        outs = cfg_model["outputs"]
        outputs = ({k: tensors[v] for k, v in outs.items()} if isinstance(outs, dict)
                   else [tensors[o] for o in outs] if isinstance(outs, list) else tensors[outs])
        inputs = [tensors[n] for n in cfg_model["inputs"]]
        model = hl.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=cfg_model.get("name"))
    if augmentation:
        layers = [_layer(entry, f"data.augmentation[{i}]") for i, entry in enumerate(augmentation)]
        model = hl.Sequential([hl.Input(tuple(input_shape))] + layers + [model], name=f"{model.name}_augmented")
    return model


def _application_model(cfg_model: dict[str, Any], shape: tuple):
    """A pretrained network from ``hl.applications``, frozen or partly unfrozen, and a new head."""
    import highlevel as hl
    name, args = split_entry(cfg_model["application"], "model.application", "application")
    try:
        base = hl.applications.get(name)(input_shape=shape, **args)
    except (TypeError, ValueError, FileNotFoundError, ImportError) as err:
        raise ConfigError(f"model.application.{name}: {err}") from None
    base.trainable = bool(cfg_model.get("trainable", True))
    head = [_layer(entry, f"model.layers[{i}]") for i, entry in enumerate(cfg_model.get("layers", []))]
    try:
        model = hl.Sequential([hl.Input(shape), base] + head, name=cfg_model.get("name"))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"model: {err}") from None
    if cfg_model.get("unfreeze_top") is not None:
        try:
            hl.applications.unfreeze_top(model, cfg_model["unfreeze_top"],
                                         freeze_batch_norm=cfg_model.get("freeze_batch_norm", True))
        except ValueError as err:
            raise ConfigError(f"model.unfreeze_top: {err}") from None
    return model


def build_optimizer(cfg_opt: Any, where: str = "optimizer"):
    from highlevel import optimizers
    from highlevel.optimizers import schedules
    if isinstance(cfg_opt, str):
        return optimizers.get(cfg_opt)
    args = {k: v for k, v in cfg_opt.items() if k != "name"}
    if str(cfg_opt.get("name")).lower() == "lossscaleoptimizer":
        inner = build_optimizer(args.pop("inner_optimizer", "adam"), f"{where}.inner_optimizer")
        try:
            return optimizers.LossScaleOptimizer(inner, **args)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: {err}") from None
    lr = args.get("learning_rate")
    if isinstance(lr, dict):
        sname, sargs = split_entry(lr, "optimizer.learning_rate", "schedule")
        args["learning_rate"] = schedules.schedule_classes()[sname](**sargs)
    try:
        return optimizers.optimizer_classes()[str(cfg_opt["name"]).lower()](**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from None


_PATH_ARGS = ("filename", "filepath", "log_dir", "backup_dir", "directory")


def build_callbacks(entries: list, run_dir: Path) -> list:
    """The configured callbacks; relative file arguments are placed inside the run directory."""
    known = callback_classes()
    out = []
    for i, entry in enumerate(entries):
        name, args = split_entry(entry, f"callbacks[{i}]", "callback")
        for key in _PATH_ARGS:
            if key in args and not Path(str(args[key])).is_absolute():
                args[key] = str(run_dir / str(args[key]))
        try:
            out.append(known[name](**args))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"callbacks[{i}].{name}: {err}") from None
    return out


def _entry_object(value: Any, registry: dict, getter, where: str):
    """A name, ``{class_name, config}`` or ``{Name: {args}}`` as an object from ``getter``."""
    if isinstance(value, dict) and "class_name" in value:
        name, args = split_entry(value, where, "entry")
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in registry and \
            isinstance(next(iter(value.values())), (dict, type(None))):
        name, args = split_entry(value, where, "entry")
    else:
        return None
    try:
        return getter({"class_name": name, "config": args})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}.{name}: {err}") from None


def _build_named(value: Any, where: str, module, what: str):
    """A name, an entry, or a list/dict of them (per output), checked against ``module``'s registry."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            module.get(value)
        except (TypeError, ValueError) as err:
            text = str(err)
            known = re.search(r"Known \w+: ([^;]+)", text)
            if known and text.startswith("Unknown "):
                # A config names registered ones only: the Python API's "or pass a hl.metrics.Metric or a
                # function" is no fix here; a close name is.
                hint = did_you_mean(value, re.findall(r"\w+", known.group(1))) or "."
                text = f"unknown {what} {value!r}{hint} Known {what}{'es' if what == 'loss' else 's'}: {known.group(1)}."
            raise ConfigError(f"{where}: {text}") from None
        return value
    classes = module.loss_classes() if what == "loss" else module.metric_classes()
    obj = _entry_object(value, classes, module.get, where)
    if obj is not None:
        return obj
    if isinstance(value, dict):
        return {k: _build_named(v, f"{where}.{k}", module, what) for k, v in value.items()}
    if isinstance(value, list):
        return [_build_named(v, f"{where}[{i}]", module, what) for i, v in enumerate(value)]
    raise ConfigError(f"{where}: a {what} is a name or {{Name: {{args}}}}, got {value!r}.")


def build_losses(value: Any, where: str = "loss"):
    """Losses of the config: a name, an entry, or a list/dict of them per output."""
    from highlevel import losses
    return _build_named(value, where, losses, "loss")


def build_metrics(value: Any, where: str = "metrics"):
    """Metrics of the config: names or entries, in a list (or a dict per output)."""
    from highlevel import metrics
    return _build_named(value, where, metrics, "metric")
