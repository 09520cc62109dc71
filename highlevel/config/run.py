"""Configured runs: ``train`` a config into a run directory, ``evaluate`` and ``predict`` from one.

A run directory holds the resolved ``config.yaml``, ``environment.json`` (versions
and devices), ``log.txt`` (what was printed), what the ``loggers`` write (``tensorboard/``
by default, ``history.csv``, ``mlflow.json``: see ``config/tracking.py``), ``checkpoints/best``
and ``checkpoints/last``, ``preprocessing.json`` and, at the end, ``metrics.json``
(final train, validation and test metrics, and the history). While a run is
unfinished it also holds ``backup/``, from which ``train --resume`` continues it
exactly.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import platform
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from highlevel.distribute.processes import barrier, is_chief, on_chief, process_count
from highlevel.config.build import (apply_preprocessing, build_callbacks, build_data, build_losses,
                                    build_metrics, build_model, build_optimizer)
from highlevel.config.errors import ConfigError
from highlevel.config.loading import load_config, validate
from highlevel.config.schema import RunConfig
from highlevel.config.tracking import build_loggers, finish_loggers

__all__ = ["train", "resume", "evaluate", "predict", "environment"]


def environment() -> dict[str, Any]:
    """Versions of the stack and the devices, for reproducing a run."""
    import flax
    import jax
    import optax

    import highlevel
    return {"highlevel": highlevel.__version__, "jax": jax.__version__, "jaxlib": jax.lib.__version__
            if hasattr(jax.lib, "__version__") else None, "flax": flax.__version__, "optax": optax.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "devices": [str(d) for d in jax.devices()], "backend": jax.default_backend(),
            "started": datetime.datetime.now().isoformat(timespec="seconds")}


class _Tee:
    """Writes to the terminal and to the run's log file."""

    def __init__(self, stream, log):
        self._stream, self._log = stream, log

    def write(self, text):
        self._log.write(text)
        return self._stream.write(text)

    def flush(self):
        self._log.flush()
        self._stream.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _logging_to(path: Path):
    if not is_chief():  # over several processes, process 0 alone keeps the log
        yield
        return
    with open(path, "a") as log:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err


def _new_run_dir(config: RunConfig) -> Path:
    """A fresh ``output_dir/name-YYYYmmdd-HHMMSS``; over several processes, process 0's choice."""
    if process_count() > 1:
        from jax.experimental import multihost_utils
        chosen = np.zeros(4096, np.uint8)
        if is_chief():
            text = str(_new_run_dir_here(config)).encode()
            chosen[:len(text)] = np.frombuffer(text, np.uint8)
        chosen = np.asarray(multihost_utils.broadcast_one_to_all(chosen))
        return Path(bytes(chosen).rstrip(b"\0").decode())
    return _new_run_dir_here(config)


def _new_run_dir_here(config: RunConfig) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.output_dir) / f"{config.name}-{stamp}"
    run_dir, i = base, 1
    while run_dir.exists():
        run_dir, i = Path(f"{base}-{i}"), i + 1
    return run_dir


def _prepare(config: RunConfig):
    """Everything that can fail on a valid-looking config, before anything is written."""
    import highlevel as hl
    hl.utils.set_random_seed(config.seed)
    data = build_data(config.data, config.seed)
    distribution = hl.distribute.get(config.trainer.distribution)
    if distribution is not None and distribution.data_processes > 1:
        # Each process trains and tests on its own block of rows (equal blocks for all).
        data.x_train, data.y_train = hl.distribute.shard((data.x_train, data.y_train))
        data.x_test, data.y_test = hl.distribute.shard((data.x_test, data.y_test))
    model = build_model(config.model, config.data.augmentation, tuple(data.x_train.shape[1:]))
    try:
        model.compile(optimizer=build_optimizer(config.optimizer), loss=build_losses(config.loss),
                      loss_weights=config.loss_weights, metrics=build_metrics(config.metrics),
                      steps_per_execution=config.trainer.steps_per_execution,
                      distribution=distribution)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"compile: {err}") from None
    model.trainer.log_throughput = config.trainer.log_throughput
    return data, model


def _callbacks(config: RunConfig, run_dir: Path, backup: str) -> list:
    import highlevel as hl
    monitor = "val_loss" if config.trainer.validation_split > 0 else "loss"
    return build_callbacks(config.callbacks, run_dir) + [
        *build_loggers(config, run_dir),
        hl.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "best"), monitor=monitor, save_best_only=True),
        hl.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "last")),
        hl.callbacks.BackupAndRestore(str(run_dir / backup)),
    ]


def _fit(config: RunConfig, run_dir: Path, data, model) -> dict[str, Any]:
    trainer = config.trainer
    fit_args = dict(batch_size=config.data.batch_size, validation_split=trainer.validation_split,
                    shuffle=trainer.shuffle, steps_per_epoch=trainer.steps_per_epoch, verbose=trainer.verbose)
    phase_one = run_dir / "phase1"
    with _logging_to(run_dir / "log.txt"):
        if config.fine_tune is not None and (phase_one / "history.json").exists():
            # Resuming a run whose first phase finished: its weights and history were kept.
            model.load_weights(phase_one / "weights")
            history = json.loads((phase_one / "history.json").read_text())
        else:
            history = model.fit(data.x_train, data.y_train, epochs=trainer.epochs,
                                callbacks=_callbacks(config, run_dir, "backup"), **fit_args).history
            if config.fine_tune is not None:
                model.save_weights(phase_one / "weights")
                on_chief(lambda: (phase_one / "history.json").write_text(json.dumps(history)), "write history.json")
        if config.fine_tune is not None:
            _prepare_fine_tune(config, model)
            more = model.fit(data.x_train, data.y_train, epochs=trainer.epochs + config.fine_tune.epochs,
                             initial_epoch=trainer.epochs, callbacks=_callbacks(config, run_dir, "backup_fine_tune"),
                             **fit_args).history
            history = {k: list(history.get(k, [])) + list(more.get(k, [])) for k in {**history, **more}}
        test = model.evaluate(data.x_test, data.y_test, batch_size=config.data.batch_size, verbose=0,
                              return_dict=True)
        print("test: " + " - ".join(f"{k}: {v:.4f}" for k, v in test.items()), flush=True)
    last = {k: v[-1] for k, v in history.items()}
    metrics = {"train": {k: v for k, v in last.items() if not k.startswith("val_")},
               "validation": {k[4:]: v for k, v in last.items() if k.startswith("val_")},
               "test": test, "epochs": len(next(iter(history.values()), [])), "history": history}
    on_chief(lambda: (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2)), "write metrics.json")
    finish_loggers(config, run_dir, metrics)
    return metrics


def _prepare_fine_tune(config: RunConfig, model) -> None:
    """Unfreezes the top blocks and compiles again with the learning rate scaled down."""
    import highlevel as hl
    ft = config.fine_tune
    hl.utils.set_random_seed(config.seed + 1)  # the same phase-two start, resumed or not
    hl.applications.unfreeze_top(model, ft.unfreeze_top, freeze_batch_norm=ft.freeze_batch_norm)
    optimizer = build_optimizer(config.optimizer)
    if not isinstance(optimizer.learning_rate, float):
        raise ConfigError("fine_tune: the optimizer's learning rate must be a number to scale by "
                          "learning_rate_factor, not a schedule.")
    optimizer.learning_rate = optimizer.learning_rate * ft.learning_rate_factor
    model.compile(optimizer=optimizer, loss=build_losses(config.loss), loss_weights=config.loss_weights,
                  metrics=build_metrics(config.metrics), steps_per_execution=config.trainer.steps_per_execution,
                  distribution=hl.distribute.get(config.trainer.distribution))


def train(config_path: str | Path, overrides: Sequence[str] = (), run_dir: str | Path | None = None) -> Path:
    """Validates, then trains a config into a new run directory; returns the directory."""
    config = load_config(config_path, overrides)
    data, model = _prepare(config)
    run_dir = Path(run_dir) if run_dir is not None else _new_run_dir(config)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(f"{run_dir} already holds files; choose another run directory, or resume it with "
                          f"highlevel train --resume {run_dir}.")
    barrier("run directory checked")  # by every process, before process 0 writes into it

    def start() -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        (run_dir / "environment.json").write_text(json.dumps(environment(), indent=2))
        (run_dir / "preprocessing.json").write_text(json.dumps(data.stats))

    on_chief(start, f"create the run directory {run_dir}")
    _fit(config, run_dir, data, model)
    return run_dir


def _run_config(run_dir: Path) -> RunConfig:
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no config.yaml, so this is not a highlevel run directory.")
    from highlevel.config.loading import read_yaml
    return validate(read_yaml(path), source=str(path))


def resume(run_dir: str | Path) -> Path:
    """Continues an interrupted run exactly (BackupAndRestore underneath)."""
    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    if (run_dir / "metrics.json").exists():
        raise ConfigError(f"{run_dir} finished already (metrics.json is there); there is nothing to resume.")
    data, model = _prepare(config)
    _fit(config, run_dir, data, model)
    return run_dir


def _load_arrays(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file.")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            for name in (key, f"{key}_test", f"{key}_train"):
                if name in f:
                    return f[name]
            raise ConfigError(f"{path}: no array named {key!r} (or {key}_test); it holds {sorted(f.files)}.")
    if path.suffix == ".csv":
        return np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    raise ConfigError(f"{path}: expected a .npy, .npz or .csv file.")


def _trained_model(run_dir: Path):
    import highlevel as hl
    last = run_dir / "checkpoints" / "last"
    if not last.exists():
        raise ConfigError(f"{run_dir}: no checkpoints/last; train the run first (highlevel train CONFIG).")
    return hl.models.load_model(last)


def evaluate(run_dir: str | Path, data_path: str | Path | None = None) -> dict[str, float]:
    """The trained model's metrics on the run's test split, or on ``data_path`` (.npz with x and y)."""
    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    model = _trained_model(run_dir)
    if data_path is None:
        data = build_data(config.data, config.seed)
        x, y = data.x_test, data.y_test
    else:
        stats = json.loads((run_dir / "preprocessing.json").read_text())
        x = apply_preprocessing(_load_arrays(Path(data_path), "x"), config.data.preprocessing, stats)
        y = _load_arrays(Path(data_path), "y")
    return model.evaluate(x, y, batch_size=config.data.batch_size, verbose=0, return_dict=True)


def predict(run_dir: str | Path, input_path: str | Path, output: str | Path | None = None) -> Path:
    """Predictions for the inputs in ``input_path`` (.npy, .npz or .csv), saved as .npy."""
    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    model = _trained_model(run_dir)
    stats = json.loads((run_dir / "preprocessing.json").read_text())
    x = apply_preprocessing(_load_arrays(Path(input_path), "x"), config.data.preprocessing, stats)
    predictions = model.predict(x, batch_size=config.data.batch_size, verbose=0)
    output = Path(output) if output is not None else run_dir / "predictions.npy"
    np.save(output, predictions)
    return output
