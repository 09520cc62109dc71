"""Configured runs: ``check`` a config, ``train`` it into a run directory, ``resume`` an interrupted run.

A run directory holds the resolved ``config.yaml``, ``environment.json`` (versions
and devices), ``log.txt`` (what was printed), what the ``loggers`` write (``tensorboard/``
by default, ``history.csv``, ``mlflow.json``: see ``config/tracking.py``), ``checkpoints/best``
and ``checkpoints/last``, ``preprocessing.json`` and, at the end, ``metrics.json``
(final train, validation and test metrics, and the history of every epoch). ``best``
holds the weights its monitored value was computed with (with an optimizer's ``use_ema``
and ``SwapEMAWeights``, the moving averages), ``last`` those ``fit`` ended with (with
``use_ema``, the averages), which the test metrics are computed with. While a
run is unfinished it also holds ``backup/``, from which ``train --resume`` continues
it exactly, and while a process trains in it, ``.lock`` (that process's pid and host),
which refuses a second one.

Everything that can be checked is checked before anything is written (``check``, which
``highlevel validate`` runs): the config, the data, the model built from them, and the
data against the model. SIGTERM or SIGINT stops training after the current step with a
backup (``TrainingPreempted``; the command exits with ``EXIT_PREEMPTED``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from highlevel.distribute.processes import barrier, is_chief, on_chief, process_count
from highlevel.config.build import build_callbacks, build_data, build_losses, build_metrics, build_model, \
    build_optimizer
from highlevel.config.errors import ConfigError
from highlevel.config.loading import load_config, validate
from highlevel.config.schema import RunConfig
from highlevel.training.callback import Callback
from highlevel.config.tracking import build_loggers, finish_loggers

__all__ = ["check", "train", "resume", "environment", "EXIT_PREEMPTED"]

#: The command's exit status when SIGTERM or SIGINT stopped training with a backup (EX_TEMPFAIL:
#: "try again later"); ``highlevel train --resume RUN_DIR`` continues the run.
EXIT_PREEMPTED = 75


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
        if self._log is not None:
            try:
                self._log.write(text)
            except (OSError, ValueError):  # a full disk, or the log closed by a failure: the terminal still gets every line
                self._log = None
        return self._stream.write(text)

    def flush(self):
        if self._log is not None:
            try:
                self._log.flush()
            except OSError:
                self._log = None
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
    log = open(path, "a")
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        try:
            log.close()
        except OSError:
            pass  # what could not be written is lost; the terminal had it


@contextlib.contextmanager
def _locked(run_dir: Path):
    """Holds the run directory's lock (process 0) while a process trains in it."""
    if not is_chief():
        yield
        return
    from highlevel.utils.lock import DirectoryLock, LockedError
    lock = DirectoryLock(run_dir, "training")
    try:
        lock.acquire()
    except LockedError as err:
        raise ConfigError(str(err)) from None
    try:
        yield
    finally:
        lock.release()


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
    """A fresh ``output_dir/name-YYYYmmdd-HHMMSS``, created empty here so that no other run takes it:
    runs started in the same second (a sweep launched in parallel) get ``-1``, ``-2``, ...

    A folder that cannot be created is returned as it is, for ``train`` to say why."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.output_dir) / f"{config.name}-{stamp}"
    run_dir, i = base, 1
    while True:
        try:
            run_dir.mkdir(parents=True)   # atomic: exactly one process creates it
            return run_dir
        except FileExistsError:
            if not run_dir.is_dir():
                return run_dir
            run_dir, i = Path(f"{base}-{i}"), i + 1
        except OSError:
            return run_dir


def _writable_problem(folder: Path) -> str | None:
    """Why ``folder`` (created if missing) could not be written into, or None."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def _check_data(config: RunConfig, data, model) -> None:
    """The training and test data against the model's inputs, outputs and loss (``training/checks.py``)."""
    from highlevel.training import checks
    names, shapes = checks.output_names_and_shapes(model)
    where = f"data ({config.data.source}{': ' + str(config.data.path) if config.data.path else ''})"
    for x, y, what in ((data.x_train, data.y_train, ""), (data.x_test, data.y_test, "test ")):
        try:
            if what == "" or len(x):
                checks.check_arrays(x, y, what=what)
            checks.check_training_data(x, y, output_names=names, output_shapes=shapes, loss=build_losses(config.loss),
                                       input_names=checks.input_names_of(model) if isinstance(x, dict) else None,
                                       what=what)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: {err}") from None


def _prepare(config: RunConfig):
    """Everything that can fail on a valid-looking config, before anything is written: the data,
    the model built and compiled, and the data checked against the model."""
    import highlevel as hl
    hl.utils.set_random_seed(config.seed)
    data = build_data(config.data, config.seed)
    distribution = hl.distribute.get(config.trainer.distribution)
    if distribution is not None and distribution.data_processes > 1:
        # Each process trains and tests on its own block of rows (equal blocks for all).
        data.x_train, data.y_train = hl.distribute.shard((data.x_train, data.y_train))
        data.x_test, data.y_test = hl.distribute.shard((data.x_test, data.y_test))
    with hl.mixed_precision.policy_scope(config.trainer.mixed_precision or hl.mixed_precision.global_policy()):
        model = build_model(config.model, config.data.augmentation, tuple(data.x_train.shape[1:]))
    try:
        model.compile(optimizer=build_optimizer(config.optimizer), loss=build_losses(config.loss),
                      loss_weights=config.loss_weights, metrics=build_metrics(config.metrics),
                      steps_per_execution=config.trainer.steps_per_execution,
                      distribution=distribution)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"compile: {err}") from None
    model.trainer.log_throughput = config.trainer.log_throughput
    _check_data(config, data, model)
    if config.fine_tune is not None:
        _check_fine_tune(config, model)
    return data, model


def _check_fine_tune(config: RunConfig, model) -> None:
    """``fine_tune.unfreeze_top`` against the built network's blocks, before the first phase trains."""
    import highlevel as hl
    count = sum(1 for name, _ in hl.applications.blocks(model) if name not in ("stem", "top"))
    if config.fine_tune.unfreeze_top > count:
        raise ConfigError(f"fine_tune.unfreeze_top: the network has {count} blocks, so the top "
                          f"{config.fine_tune.unfreeze_top} cannot be unfrozen; give at most {count}.")


def check(config_path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Runs every check ``train`` makes before it trains, and writes nothing.

    The config (keys, types, every named layer, optimizer, schedule, callback, loss and
    metric, each built from its values; all mistakes reported, each with its key path),
    the data (found and loaded), the model built and compiled from them, the data against
    the model (labels, shapes, values), and the output directory (writable).

    Args:
        config_path: the YAML run config.
        overrides: ``key.path=value`` overrides.

    Returns:
        The resolved config.

    Raises:
        ConfigError: one line per mistake, each naming the file and the key path.
    """
    config = load_config(config_path, overrides)
    _prepare(config)
    problem = _writable_problem(Path(config.output_dir))
    if problem is not None:
        raise ConfigError(f"{config_path}: output_dir: {problem}; choose a folder this process can write.")
    return config


class _Record(Callback):
    """The history of every epoch of the run; saved in the backup, so a resumed run's is complete."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []

    def on_train_begin(self, logs=None):
        self.history, self.epochs = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def get_state(self) -> dict[str, Any]:
        return {"history": self.history, "epochs": self.epochs}

    def set_state(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.epochs = list(state.get("epochs", []))


class _AveragesForCheckpoints(Callback):
    """Two of these bracket the run's checkpoints when ``SwapEMAWeights`` validates with the moving
    averages of the weights: the first (``opener=None``) puts the averages in the model at each
    epoch end, so that ``checkpoints/best`` holds the weights its ``val_loss`` was computed with;
    the second (``opener=`` the first) puts the trained weights back before the backup, so that
    the backup holds the trained weights and their averages as the step left them (``--resume``
    stays exact). A swap exchanges arrays (``hl.optimizers.swap_ema_weights``): done twice, it
    changes nothing."""

    def __init__(self, opener: "_AveragesForCheckpoints | None" = None):
        super().__init__()
        self.opener = opener
        self.swapped = False

    def _swap(self) -> None:
        import highlevel as hl
        trainer = self.model.trainer
        state = trainer.state
        averages, opt_state = hl.optimizers.swap_ema_weights(state.opt_state, state.params)
        trainer.state = state.replace(params=averages, opt_state=opt_state)

    def _close(self) -> None:
        if self.opener is not None and self.opener.swapped:
            self._swap()
            self.opener.swapped = False

    def on_epoch_end(self, epoch, logs=None):
        if self.opener is None:
            self._swap()
            self.swapped = True
        else:
            self._close()

    def on_train_exception(self, exception):
        self._close()   # a checkpoint that failed between the two: the trained weights back in the model


class _LastAtTrainEnd(Callback):
    """Writes ``checkpoints/last`` once more at the end of ``fit``: the weights fit ends with (with
    ``use_ema``, their moving averages, put in the model after the last epoch end), which the test
    metrics in ``metrics.json`` are computed with and ``highlevel evaluate`` loads. Placed before
    that checkpoint, whose ``on_train_end`` then waits for the write."""

    def __init__(self, last):
        super().__init__()
        self.last = last
        self.epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_end(self, logs=None):
        epoch = self.epoch if self.epoch is not None else max(int(self.params.get("epochs", 1)) - 1, 0)
        self.last.on_epoch_end(epoch, logs)   # an epoch-end save is its "save now"


def _callbacks(config: RunConfig, run_dir: Path, backup: str, continuing: bool = False) -> tuple[list, _Record]:
    import highlevel as hl
    monitor = "val_loss" if config.trainer.validation_split > 0 else "loss"
    own = build_callbacks(config.callbacks, run_dir)
    if continuing:  # a second phase continues the first one's CSV file
        for cb in own:
            if isinstance(cb, hl.callbacks.CSVLogger):
                cb.append = True
    record = _Record()
    # Kept until metrics.json is written: a run stopped after its last epoch resumes to its end.
    backup_cb = hl.callbacks.BackupAndRestore(str(run_dir / backup), delete_checkpoint=False)
    last = hl.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "last"))
    checkpoints = [
        hl.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "best"), monitor=monitor, save_best_only=True),
        _LastAtTrainEnd(last),
        last,
    ]
    # SwapEMAWeights validates with the averages but puts the trained weights back at once; with
    # swap_on_epoch=True (before the checkpoints in the list) the averages are in the model already.
    swaps = [cb for cb in own if isinstance(cb, hl.callbacks.SwapEMAWeights)]
    if monitor.startswith("val_") and swaps and not any(cb.swap_on_epoch for cb in swaps):
        opener = _AveragesForCheckpoints()
        checkpoints = [opener, *checkpoints, _AveragesForCheckpoints(opener)]
    return own + [
        record,
        *build_loggers(config, run_dir),
        *checkpoints,
        backup_cb,
        hl.callbacks.BackupOnSignal(backup_cb),
    ], record


def _write_json(path: Path, value) -> None:
    """``path`` written whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)


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
            callbacks, record = _callbacks(config, run_dir, "backup")
            model.fit(data.x_train, data.y_train, epochs=trainer.epochs, callbacks=callbacks, **fit_args)
            history = record.history
            if config.fine_tune is not None:
                model.save_weights(phase_one / "weights")
                on_chief(lambda: _write_json(phase_one / "history.json", history), "write history.json")
                on_chief(lambda: shutil.rmtree(run_dir / "backup", ignore_errors=True), "delete the backup")
        if config.fine_tune is not None:
            _prepare_fine_tune(config, model)
            callbacks, record = _callbacks(config, run_dir, "backup_fine_tune", continuing=True)
            model.fit(data.x_train, data.y_train, epochs=trainer.epochs + config.fine_tune.epochs,
                      initial_epoch=trainer.epochs, callbacks=callbacks, **fit_args)
            more = record.history
            history = {k: list(history.get(k, [])) + list(more.get(k, [])) for k in {**history, **more}}
        test = model.evaluate(data.x_test, data.y_test, batch_size=config.data.batch_size, verbose=0,
                              return_dict=True)
        print("test: " + " - ".join(f"{k}: {v:.4f}" for k, v in test.items()), flush=True)
    last = {k: v[-1] for k, v in history.items()}
    metrics = {"train": {k: v for k, v in last.items() if not k.startswith("val_")},
               "validation": {k[4:]: v for k, v in last.items() if k.startswith("val_")},
               "test": test, "epochs": len(next(iter(history.values()), [])), "history": history}
    on_chief(lambda: _write_json(run_dir / "metrics.json", metrics), "write metrics.json")
    for backup in ("backup", "backup_fine_tune"):  # the run is complete: nothing to resume
        on_chief(lambda: shutil.rmtree(run_dir / backup, ignore_errors=True), "delete the backup")
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


def _fit_and_name(config: RunConfig, run_dir: Path, data, model) -> None:
    """``_fit``; a stop on a signal carries the run directory to the command's message."""
    from highlevel.callbacks import TrainingPreempted
    try:
        _fit(config, run_dir, data, model)
    except TrainingPreempted as err:
        err.run_dir = str(run_dir)
        raise


def train(config_path: str | Path, overrides: Sequence[str] = (), run_dir: str | Path | None = None) -> Path:
    """Checks everything, then trains a config into a new run directory; returns the directory.

    Nothing is written before the config, the data and the model passed every check
    (``check``). The run directory is locked while training.
    """
    config = load_config(config_path, overrides)
    data, model = _prepare(config)
    run_dir = Path(run_dir) if run_dir is not None else _new_run_dir(config)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(f"{run_dir} already holds files; choose another run directory, or resume it with "
                          f"highlevel train --resume {run_dir}.")
    problem = _writable_problem(run_dir.parent)
    if problem is not None:
        raise ConfigError(f"{config_path}: cannot create the run directory {run_dir}: {problem}; choose a "
                          "writable output_dir (or --run-dir).")
    barrier("run directory checked")  # by every process, before process 0 writes into it

    def start() -> None:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"{config_path}: cannot create the run directory {run_dir} ({err.strerror}); "
                              "choose a writable output_dir (or --run-dir).") from None

    on_chief(start, f"create the run directory {run_dir}")
    with _locked(run_dir):
        def write() -> None:
            (run_dir / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
            _write_json(run_dir / "environment.json", environment())
            _write_json(run_dir / "preprocessing.json", data.stats)

        on_chief(write, f"write the run's files into {run_dir}")
        _fit_and_name(config, run_dir, data, model)
    return run_dir


def run_config(run_dir: Path) -> RunConfig:
    """The config a run directory was trained with (its ``config.yaml``)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no config.yaml, so this is not a highlevel run directory.")
    from highlevel.config.loading import read_yaml
    return validate(read_yaml(path), source=str(path))


def resume(run_dir: str | Path) -> Path:
    """Continues an interrupted run exactly (BackupAndRestore underneath); the run directory is
    locked while training, so a run still training is refused."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    with _locked(run_dir):
        if (run_dir / "metrics.json").exists():
            raise ConfigError(f"{run_dir} finished already (metrics.json is there); there is nothing to resume.")
        data, model = _prepare(config)
        on_chief(lambda: _drop_logs_of_an_unbacked_phase(config, run_dir), f"tidy the logs in {run_dir}")
        _fit_and_name(config, run_dir, data, model)
    return run_dir


def _drop_logs_of_an_unbacked_phase(config: RunConfig, run_dir: Path) -> None:
    """Removes what an interrupted process logged in the phase it is resumed in, when it left no
    backup of that phase (killed in the phase's first epoch after the loggers wrote it, before the
    backup was saved): the phase starts again from its beginning and would log that epoch twice.

    With a backup, the loggers themselves drop what was logged after it."""
    import csv

    import highlevel as hl
    from highlevel.config.tracking import LOGGERS
    phase_one = run_dir / "phase1" / "history.json"
    second = config.fine_tune is not None and phase_one.exists()
    backup = run_dir / ("backup_fine_tune" if second else "backup")
    if hl.callbacks.BackupAndRestore(str(backup)).has_backup():
        return
    first_epoch = config.trainer.epochs if second else 0
    tensorboard = run_dir / LOGGERS["tensorboard"][2]
    if not second:
        shutil.rmtree(tensorboard, ignore_errors=True)   # all of it the interrupted process's
    else:
        since = phase_one.stat().st_mtime   # when the first phase ended
        hl.callbacks.TensorBoard.forget_since(tensorboard, since, first_epoch)
    history = run_dir / LOGGERS["csv"][2]
    if history.exists():
        separators = [dict(args or {}).get("separator", ",") for entry in config.loggers
                      for name, args in ([(entry, None)] if isinstance(entry, str) else entry.items())
                      if name == "csv"]
        with open(history, newline="") as f:
            rows = list(csv.reader(f, delimiter=separators[0] if separators else ","))
        kept = rows[:1] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < first_epoch]
        if len(kept) == 1:
            history.unlink()   # as if never written: the phase writes its header again
        else:
            tmp = history.with_name(f".{history.name}.tmp-{os.getpid()}")
            with open(tmp, "w", newline="") as f:
                csv.writer(f, delimiter=separators[0] if separators else ",", lineterminator="\r\n").writerows(kept)
            os.replace(tmp, history)
