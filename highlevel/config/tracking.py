"""A configured run's loggers: the ``loggers:`` section (TensorBoard, CSV, MLflow) and ``trainer.profile``.

``loggers: [tensorboard, csv, {mlflow: {tracking_uri: ...}}]`` (the default: ``[tensorboard]``)

- ``tensorboard``: ``hl.callbacks.TensorBoard`` into ``RUN_DIR/tensorboard``; ``trainer.profile:
  [a, b]`` traces steps a to b there for TensorBoard's Profile tab;
- ``csv``: ``hl.callbacks.CSVLogger`` into ``RUN_DIR/history.csv`` (continued by a resumed run);
- ``mlflow``: ``hl.callbacks.MLflowLogger``, one MLflow run per run directory, in a SQLite
  store ``OUTPUT_DIR/mlflow.db`` by default (any ``tracking_uri`` works), in the experiment
  named after the config (``experiment_name`` to change it), with the resolved config
  flattened as parameters; at the end the test metrics (``test_<metric>``) and the run
  directory's files as artifacts. The run's id is kept in ``RUN_DIR/mlflow.json``, so a
  resumed run (and a fine-tuning phase) continues the same MLflow run.

Each logger takes its callback's arguments, e.g. ``{tensorboard: {histogram_freq: 1}}`` or
``{mlflow: {log_every_n_steps: 50}}``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from highlevel.config.check import _accepted, split_entry
from highlevel.config.errors import ConfigError, did_you_mean
from highlevel.distribute.processes import is_chief, on_chief

__all__ = ["LOGGERS", "check_loggers", "build_loggers", "finish_loggers", "MLFLOW_FILE"]

#: logger name -> (callback class name, its path argument, the file or folder in the run directory).
LOGGERS = {"tensorboard": ("TensorBoard", "log_dir", "tensorboard"),
           "csv": ("CSVLogger", "filename", "history.csv"),
           "mlflow": ("MLflowLogger", None, None)}
#: Where a run directory keeps its MLflow run (tracking URI, experiment and run id).
MLFLOW_FILE = "mlflow.json"
# Set by the run itself, not by the config.
_RESERVED = {"tensorboard": ("profile_batch",), "mlflow": ("run_id", "end_run", "artifacts", "params")}


def _class(name: str):
    from highlevel import callbacks
    return getattr(callbacks, LOGGERS[name][0])


def check_loggers(entries: list, profile=None) -> list:
    """Checks the ``loggers:`` section (names, arguments, ``trainer.profile`` needing tensorboard).

    Args:
      entries: the section: names or ``{name: {argument: value}}``.
      profile: ``trainer.profile`` (None, a step or ``[start, stop]``).

    Returns:
      ``entries``, unchanged.

    >>> check_loggers(["tensorboard", {"mlflow": {"experiment_name": "sweep"}}], profile=[10, 20])
    ['tensorboard', {'mlflow': {'experiment_name': 'sweep'}}]
    """
    seen = set()
    for i, entry in enumerate(entries):
        name, args = split_entry(entry, f"loggers[{i}]", "logger")
        if name not in LOGGERS:
            raise ConfigError(f"loggers[{i}]: unknown logger {name!r}{did_you_mean(name, LOGGERS)} "
                              f"Known loggers: {', '.join(LOGGERS)}.")
        if name in seen:
            raise ConfigError(f"loggers[{i}]: {name} is listed twice; list each logger once.")
        seen.add(name)
        if name == "mlflow" and importlib.util.find_spec("mlflow") is None:
            raise ConfigError(f"loggers[{i}]: the mlflow logger needs MLflow, which is not installed: "
                              "pip install 'highlevel[track]' (or pip install mlflow).")
        owned = [a for a in (LOGGERS[name][1], *_RESERVED.get(name, ())) if a and a in args]
        if owned:
            raise ConfigError(f"loggers[{i}].{name}: {owned[0]!r} is set by the run itself"
                              + (" (use trainer.profile)" if owned[0] == "profile_batch" else "") + "; remove it.")
        allowed = _accepted(_class(name))[0] - {LOGGERS[name][1], *_RESERVED.get(name, ())}
        for arg in args:
            if arg not in allowed:
                raise ConfigError(f"loggers[{i}].{name}: {LOGGERS[name][0]} has no argument {arg!r}"
                                  f"{did_you_mean(arg, allowed)} It takes: {', '.join(sorted(allowed))}.")
    if profile is not None and "tensorboard" not in seen:
        raise ConfigError("trainer.profile writes its trace for TensorBoard, which is not among the loggers: "
                          "add tensorboard to loggers.")
    return entries


def _mlflow_record(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / MLFLOW_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def build_loggers(config, run_dir: Path) -> list:
    """The callbacks of ``config.loggers`` for a run in ``run_dir`` (an MLflow run is started now).

    Args:
      config: the ``RunConfig``.
      run_dir: the run directory (it exists).

    Returns:
      The callbacks, in the order listed.
    """
    from highlevel import callbacks
    out = []
    for i, entry in enumerate(config.loggers):
        name, args = split_entry(entry, f"loggers[{i}]", "logger")
        if name == "tensorboard":
            out.append(callbacks.TensorBoard(str(run_dir / "tensorboard"), profile_batch=_profile(config), **args))
        elif name == "csv":
            path = run_dir / LOGGERS["csv"][2]
            out.append(callbacks.CSVLogger(str(path), append=path.exists(), **args))
        else:
            out.append(_mlflow_logger(config, run_dir, args))
    return out


def _profile(config):
    profile = config.trainer.profile
    if profile is None:
        return 0
    return int(profile) if isinstance(profile, int) else (int(profile[0]), int(profile[1]))


def _mlflow_logger(config, run_dir: Path, args: dict[str, Any]):
    from highlevel import callbacks
    from highlevel.callbacks.mlflow_logger import default_tracking_uri
    from highlevel.utils.nested import flatten
    record = _mlflow_record(run_dir)
    args = dict(args)
    args.setdefault("tracking_uri", default_tracking_uri(config.output_dir))
    args.setdefault("experiment_name", config.name or "highlevel")
    args.setdefault("run_name", run_dir.name)
    tags = {"highlevel.run_dir": str(run_dir.absolute()), **dict(args.pop("tags", None) or {})}
    params = flatten(config.model_dump(mode="json"))
    run_id = record["run_id"] if record and record.get("tracking_uri") == args["tracking_uri"] else None
    try:
        logger = callbacks.MLflowLogger(params=params, tags=tags, run_id=run_id, end_run=False, **args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"loggers.mlflow: {err}") from None
    if is_chief():   # over several processes, process 0 alone logs
        try:
            logger.start()
        except (ValueError, RuntimeError) as err:
            raise ConfigError(f"loggers.mlflow: {err}") from None
        if record is None or record.get("run_id") != logger.run_id:
            (run_dir / MLFLOW_FILE).write_text(json.dumps(
                {"tracking_uri": logger.tracking_uri, "experiment_name": logger.experiment_name,
                 "run_id": logger.run_id}, indent=2))
    return logger


def finish_loggers(config, run_dir: Path, metrics: dict[str, Any]) -> None:
    """After ``metrics.json``: the MLflow run gets the test metrics and the run directory's files
    as artifacts, and ends (``FINISHED``).

    Args:
      config: the ``RunConfig``.
      run_dir: the run directory.
      metrics: what ``metrics.json`` holds (``test``, ``epochs``, ...).
    """
    record = _mlflow_record(run_dir)
    if record is None or not any(split_entry(e, "loggers", "logger")[0] == "mlflow" for e in config.loggers):
        return

    def finish() -> None:
        from highlevel import callbacks
        logger = callbacks.MLflowLogger(record["tracking_uri"], experiment_name=record["experiment_name"],
                                        run_id=record["run_id"])
        logger.start()
        logger.log_metrics({f"test_{k}": v for k, v in (metrics.get("test") or {}).items()},
                           step=max(logger.last_epoch, 0))
        logger.log_artifacts(run_dir)
        logger.end("FINISHED")

    on_chief(finish, "log the run to MLflow")
