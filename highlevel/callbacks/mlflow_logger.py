"""MLflowLogger: a fit as an MLflow run, through MLflow's own client (``pip install "highlevel[track]"``).

One MLflow run per highlevel run: parameters (a config flattened to dotted keys, and the
fit's), every epoch's logs as metrics at step ``epoch`` (and, when asked, the batch logs
every N steps), the trainer's throughput, tags for the versions, the devices and the git
commit, and at the end a file or folder as artifacts. A resumed fit continues the same
run (its id is in the callback's state, which ``BackupAndRestore`` keeps, or given as
``run_id``); epochs and steps the run holds already are not logged twice.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib.metadata
import logging
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from highlevel import backend as _backend
from highlevel.training.callback import Callback
from highlevel.utils.nested import flatten

__all__ = ["MLflowLogger", "default_tracking_uri"]

_LAST_EPOCH_TAG = "highlevel.last_epoch"
_LAST_STEP_TAG = "highlevel.last_step"
_MAX_KEY, _MAX_PARAM, _MAX_TAG = 250, 6000, 8000
_BAD_NAME = re.compile(r"[^/\w.\- :]")


def default_tracking_uri(folder: str | os.PathLike = "mlruns") -> str:
    """The tracking URI of a SQLite store in ``folder`` (``folder/mlflow.db``), as an absolute path.

    Args:
      folder: the folder of the database (created when the logger starts); artifacts go to
        ``folder/mlartifacts``.

    >>> default_tracking_uri("/tmp/runs")
    'sqlite:////tmp/runs/mlflow.db'
    """
    return "sqlite:///" + str(Path(os.fspath(folder)).absolute() / "mlflow.db")


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def _name(key: str) -> str:
    """A parameter or metric name MLflow accepts (its characters and length)."""
    return _BAD_NAME.sub("_", str(key))[:_MAX_KEY]


def _text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _git_commit(folder: str | os.PathLike) -> str | None:
    try:
        out = subprocess.run(["git", "-C", os.fspath(folder), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def _source_name() -> str:
    """What ran: the script, or ``highlevel train`` for ``python -m highlevel train``."""
    argv = sys.argv or [""]
    name = os.path.basename(argv[0] or "python")
    if name == "__main__.py":
        name = os.path.basename(os.path.dirname(argv[0])) + (f" {argv[1]}" if len(argv) > 1 else "")
    return name


@contextlib.contextmanager
def _quiet_store_setup():
    """MLflow creates a new SQLite store's tables with alembic, which logs each migration at INFO."""
    loggers = [logging.getLogger(name) for name in ("alembic", "mlflow.store.db.utils")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class MLflowLogger(Callback):
    """Logs a fit to MLflow: parameters, every epoch's metrics, tags, and files as artifacts.

    Metrics are the epoch logs (``loss``, ``val_accuracy``, ``learning_rate``, ...) at step
    ``epoch``, and the trainer's throughput of each epoch (``samples_per_second``,
    ``step_time``, ``train_time``, ``compile_time``, ``mfu`` where known;
    ``hl.training.Throughput``). With ``log_every_n_steps=N``, the batch logs are read from
    the device every N steps (the only per-step cost) and logged as ``batch_<metric>`` at the
    global step count, written with the next epoch's metrics. Parameters are ``params``
    (nested dicts flattened to dotted keys: a whole config), the optimizer and its learning
    rate, the epochs and the batch size; MLflow keeps the first value logged for a key, so
    a continued run keeps its parameters. Tags: ``highlevel.version``, ``jax.version``,
    ``flax.version``, ``optax.version``, ``jax.backend``, ``jax.devices``,
    ``mlflow.source.git.commit`` (of the current directory, when it is a git checkout) and
    ``tags``.

    Only process 0 logs. A run that ``fit`` leaves by an exception is marked ``FAILED``
    (``KILLED`` for an interruption); a resumed fit (``BackupAndRestore`` keeps this
    callback's run id, or pass ``run_id``) marks it ``RUNNING`` again and continues it,
    skipping the epochs and steps it holds already.

    Args:
      tracking_uri: where MLflow keeps its runs: any MLflow tracking URI
        (``"sqlite:///path/mlflow.db"``, ``"http://host:5000"``, ``"file:///path"``); by
        default a SQLite database ``mlruns/mlflow.db`` in the current directory. For a
        SQLite store, artifacts go to ``mlartifacts/`` next to the database.
      experiment_name: the MLflow experiment (created when missing).
      run_name: the MLflow run's name (MLflow picks one by default).
      run_id: continue this MLflow run instead of starting a new one.
      params: parameters to log (nested dicts and lists are flattened to dotted keys).
      tags: tags to set on the run (name -> string).
      log_every_n_steps: also log the batch logs every this many steps (None: per epoch only).
      artifacts: a file or folder logged as the run's artifacts when ``fit`` ends (a folder's
        entries whose names start with ``.`` are left out).
      end_run: end the run (``FINISHED``) when ``fit`` ends; False leaves it running for a
        later fit or for ``log_metrics``/``log_artifacts``, then ``end()``.

    >>> import tempfile, numpy as np, highlevel as hl
    >>> from mlflow import MlflowClient
    >>> uri = hl.callbacks.mlflow_logger.default_tracking_uri(tempfile.mkdtemp())
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> logger = hl.callbacks.MLflowLogger(uri, experiment_name="demo", params={"units": 1})
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, callbacks=[logger], verbose=0)
    >>> client = MlflowClient(uri)
    >>> [m.step for m in client.get_metric_history(logger.run_id, "loss")]
    [0, 1]
    >>> client.get_run(logger.run_id).data.params["units"], client.get_run(logger.run_id).info.status
    ('1', 'FINISHED')
    """

    chief_only = True   # over several processes, process 0 alone logs

    def __init__(self, tracking_uri: str | None = None, experiment_name: str = "highlevel",
                 run_name: str | None = None, run_id: str | None = None, params: Mapping[str, Any] | None = None,
                 tags: Mapping[str, Any] | None = None, log_every_n_steps: int | None = None,
                 artifacts: str | os.PathLike | None = None, end_run: bool = True):
        super().__init__()
        if tracking_uri is not None and (not isinstance(tracking_uri, str) or not tracking_uri):
            raise ValueError(f"MLflowLogger tracking_uri must be an MLflow tracking URI such as "
                             f"'sqlite:///runs/mlflow.db' or 'http://localhost:5000', got {tracking_uri!r}.")
        if not isinstance(experiment_name, str) or not experiment_name:
            raise ValueError(f"MLflowLogger experiment_name must be a non-empty string, got {experiment_name!r}.")
        if log_every_n_steps is not None and (isinstance(log_every_n_steps, bool) or
                                              not isinstance(log_every_n_steps, int) or log_every_n_steps < 1):
            raise ValueError(f"MLflowLogger log_every_n_steps must be a positive integer or None, got "
                             f"{log_every_n_steps!r}.")
        for what, value in (("params", params), ("tags", tags)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"MLflowLogger {what} must be a dict of name -> value, got {type(value).__name__}.")
        self.tracking_uri = tracking_uri or default_tracking_uri()
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.run_id = run_id
        #: The parameters given (``self.params`` is the fit's, as for every callback).
        self.run_params = dict(params or {})
        self.tags = {str(k): v for k, v in (tags or {}).items()}
        self.log_every_n_steps = log_every_n_steps
        self.artifacts = None if artifacts is None else os.fspath(artifacts)
        self.end_run = bool(end_run)
        self._client = None
        self._started = False
        self._last_epoch, self._last_step = -1, 0
        self._global_step = 0
        self._pending: list = []
        self._warned = False
        if log_every_n_steps is not None:
            # An instance hook: without log_every_n_steps the loop calls no per-batch hook at all.
            self.on_train_batch_end = self._batch_end

    # -- the MLflow run ------------------------------------------------------------------

    @property
    def client(self):
        """MLflow's ``MlflowClient`` on ``tracking_uri`` (made on first use)."""
        if self._client is None:
            try:
                from mlflow import MlflowClient
            except ImportError:
                raise ImportError("MLflowLogger needs MLflow: pip install 'highlevel[track]' (or pip install "
                                  "mlflow).") from None
            db = _sqlite_path(self.tracking_uri)
            if db is not None:
                db.parent.mkdir(parents=True, exist_ok=True)
            with _quiet_store_setup():
                client = MlflowClient(tracking_uri=self.tracking_uri)
                client.search_experiments(max_results=1)   # a new SQLite store creates its tables here
            self._client = client
        return self._client

    @property
    def last_epoch(self) -> int:
        """The last epoch the run holds metrics of (-1 before the first)."""
        return self._last_epoch

    def start(self) -> str:
        """Starts the MLflow run (or continues ``run_id``) now, if not started; returns its id.

        ``fit`` calls it at its first epoch; call it earlier to know the run's id before
        training (e.g. to write it down for a later resume).
        """
        if self._started:
            return self.run_id
        client = self.client
        try:
            with _quiet_store_setup():
                if self.run_id is not None:
                    self._continue(client)
                else:
                    self._create(client)
        except ImportError:
            raise
        except Exception as err:  # noqa: BLE001 - MLflow and its stores raise many kinds of errors
            if self.run_id is not None and "not found" in str(err).lower():
                raise ValueError(f"MLflowLogger: the tracking store {self.tracking_uri} has no run {self.run_id!r} "
                                 "to continue; pass run_id=None to start a new run.") from None
            raise RuntimeError(f"MLflowLogger could not start a run in {self.tracking_uri} ({type(err).__name__}: "
                               f"{str(err).splitlines()[0] if str(err) else ''}); check the tracking_uri.") from err
        self._started = True
        return self.run_id

    def _experiment_id(self, client) -> str:
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            if experiment.lifecycle_stage != "active":
                client.restore_experiment(experiment.experiment_id)
            return experiment.experiment_id
        db = _sqlite_path(self.tracking_uri)
        location = None
        if db is not None:   # next to the database, not in the current directory
            location = (db.parent / "mlartifacts" / _BAD_NAME.sub("_", self.experiment_name)).as_uri()
        return client.create_experiment(self.experiment_name, artifact_location=location)

    def _create(self, client) -> None:
        from mlflow.entities import Param, RunTag
        tags = {**self._system_tags(), **self.tags}
        run = client.create_run(self._experiment_id(client), run_name=self.run_name,
                                tags={k: _text(v, _MAX_TAG) for k, v in tags.items()})
        self.run_id = run.info.run_id
        params = {_name(k): _text(v, _MAX_PARAM) for k, v in self._all_params().items()}
        client.log_batch(self.run_id, params=[Param(k, v) for k, v in params.items()],
                         tags=[RunTag(_LAST_EPOCH_TAG, "-1"), RunTag(_LAST_STEP_TAG, "0")])

    def _continue(self, client) -> None:
        from mlflow.entities import Param
        run = client.get_run(self.run_id)
        self._last_epoch = max(self._last_epoch, int(run.data.tags.get(_LAST_EPOCH_TAG, -1)))
        self._last_step = max(self._last_step, int(run.data.tags.get(_LAST_STEP_TAG, 0)))
        if run.info.status != "RUNNING":
            client.update_run(self.run_id, status="RUNNING")
        have = set(run.data.params)
        new = {_name(k): _text(v, _MAX_PARAM) for k, v in self._all_params().items()}
        new = {k: v for k, v in new.items() if k not in have}   # MLflow keeps a parameter's first value
        if new:
            client.log_batch(self.run_id, params=[Param(k, v) for k, v in new.items()])

    def _all_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        model = self.model
        optimizer = getattr(getattr(model, "trainer", None), "optimizer", None)
        if optimizer is not None:
            out["optimizer"] = getattr(optimizer, "name", None) or type(optimizer).__name__
            try:
                lr = optimizer.learning_rate
            except (TypeError, ValueError, AttributeError):
                lr = None
            if isinstance(lr, (int, float)):
                out["learning_rate"] = float(lr)
        fit = self.params or {}
        for key, name in (("epochs", "epochs"), ("batch_size", "batch_size"), ("steps", "steps_per_epoch")):
            if fit.get(key) is not None:
                out[name] = fit[key]
        out.update(flatten(self.run_params))
        return out

    @staticmethod
    def _system_tags() -> dict[str, str]:
        import flax
        import jax
        import optax
        try:
            version = importlib.metadata.version("highlevel")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        tags = {"highlevel.version": version, "jax.version": jax.__version__,
                "flax.version": flax.__version__, "optax.version": optax.__version__,
                "python.version": platform.python_version(), "jax.backend": _backend.name(),
                "jax.devices": ", ".join(str(d) for d in jax.devices()),
                "jax.process_count": str(jax.process_count()), "mlflow.source.name": _source_name()}
        commit = _git_commit(os.getcwd())
        if commit:
            tags["mlflow.source.git.commit"] = commit
        with contextlib.suppress(Exception):
            tags["mlflow.user"] = getpass.getuser()
        return tags

    # -- logging ---------------------------------------------------------------------------

    def _safely(self, what: str, fn) -> None:
        """Runs an MLflow call; a failure warns (once) rather than stopping training."""
        try:
            fn()
        except Exception as err:  # noqa: BLE001
            if not self._warned:
                warnings.warn(f"MLflowLogger could not {what} in {self.tracking_uri}: {type(err).__name__}: {err}",
                              RuntimeWarning, stacklevel=3)
                self._warned = True

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Logs metrics at ``step`` (test metrics after ``fit``, for instance); starts the run if needed.

        Args:
          metrics: name -> number.
          step: the MLflow step.
        """
        from mlflow.entities import Metric
        self.start()
        now = int(time.time() * 1000)
        batch = [Metric(_name(k), float(v), now, int(step)) for k, v in metrics.items()]
        self._safely("log metrics", lambda: self.client.log_batch(self.run_id, metrics=batch))

    def log_artifacts(self, path: str | os.PathLike) -> None:
        """Logs a file, or a folder's entries (except names starting with ``.``), as the run's artifacts.

        Args:
          path: the file or folder.
        """
        path = Path(os.fspath(path))
        self.start()
        if not path.exists():
            raise FileNotFoundError(f"MLflowLogger: no file or folder {path} to log as artifacts.")

        def log() -> None:
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path))
                return
            for entry in sorted(path.iterdir()):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    self.client.log_artifacts(self.run_id, str(entry), artifact_path=entry.name)
                else:
                    self.client.log_artifact(self.run_id, str(entry))

        self._safely("log artifacts", log)

    def end(self, status: str = "FINISHED") -> None:
        """Ends the run with ``status`` (``FINISHED``, ``FAILED`` or ``KILLED``).

        Args:
          status: MLflow's run status.
        """
        if self._started:
            self._flush()
            self._safely("end the run", lambda: self.client.set_terminated(self.run_id, status=status))

    def _flush(self, epoch: int | None = None, logs: Mapping[str, float] | None = None) -> None:
        from mlflow.entities import Metric, RunTag
        now = int(time.time() * 1000)
        metrics, self._pending = list(self._pending), []
        tags = [RunTag(_LAST_STEP_TAG, str(self._last_step))]
        if epoch is not None and epoch > self._last_epoch:
            values = dict(logs or {})
            values.update({k: v for k, v in self._throughput().items() if k not in values})
            metrics += [Metric(_name(k), float(v), now, int(epoch)) for k, v in values.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)]
            self._last_epoch = int(epoch)
            tags.append(RunTag(_LAST_EPOCH_TAG, str(epoch)))
        if metrics or epoch is not None:
            self._safely("log metrics", lambda: self.client.log_batch(self.run_id, metrics=metrics, tags=tags))

    def _throughput(self) -> dict[str, float]:
        meter = getattr(getattr(self.model, "trainer", None), "throughput", None)
        return dict(getattr(meter, "last", None) or {})

    # -- hooks -----------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # The run starts at the first epoch: BackupAndRestore, which runs last, may hand back a
        # resumed run's id (set_state) after this hook.
        self._pending = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start()

    def _batch_end(self, batch, logs=None):
        self._global_step += 1
        step = self._global_step
        if step % self.log_every_n_steps or step <= self._last_step or logs is None:
            return
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        self._pending += [Metric(_name(f"batch_{k}"), float(v), now, step) for k, v in logs.items()]  # one read
        self._last_step = step

    def on_epoch_end(self, epoch, logs=None):
        self.start()
        self._flush(int(epoch), logs)

    def on_train_end(self, logs=None):
        self.start()
        self._flush()
        if self.artifacts is not None:
            self.log_artifacts(self.artifacts)
        if self.end_run:
            self.end("FINISHED")

    def on_train_exception(self, exception: BaseException) -> None:
        if not self._started:
            return
        interrupted = isinstance(exception, (KeyboardInterrupt, SystemExit)) or \
            type(exception).__name__ == "TrainingPreempted"
        self.end("KILLED" if interrupted else "FAILED")

    def get_state(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "global_step": int(self._global_step), "last_step": int(self._last_step)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._global_step = int(state.get("global_step", 0))
        run_id = state.get("run_id")
        if run_id and self.run_id != run_id:
            if self._started:
                warnings.warn(f"MLflowLogger: the backup continues MLflow run {run_id!r}, but this logger has "
                              f"already started run {self.run_id!r}; it keeps logging to {self.run_id!r}.",
                              RuntimeWarning, stacklevel=2)
                return
            self.run_id = run_id
        self._last_step = max(self._last_step, int(state.get("last_step", 0)))
