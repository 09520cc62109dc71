"""MLflowLogger and the configs' loggers: checked through MLflow's own client on the tracking store."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import highlevel as hl
from highlevel import config as cfg
from highlevel.cli import main
from highlevel.utils.nested import flatten

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

BASE = """
seed: 0
data: {source: digits, batch_size: 64, limit: 320}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 16, activation: relu}
    - Dropout: {rate: 0.2}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 3, verbose: 0}
loggers: [tensorboard, csv, {mlflow: {log_every_n_steps: 2}}]
"""
# Timings differ from run to run; everything else a run logs is reproducible.
DETERMINISTIC = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def _config(tmp_path, text=BASE) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def _history(client, run_id, key):
    metrics = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
    return [m.step for m in metrics], [m.value for m in metrics]


def _record(run_dir: Path):
    record = json.loads((run_dir / "mlflow.json").read_text())
    return MlflowClient(record["tracking_uri"]), record["run_id"]


def test_configured_run_in_mlflow_params_metrics_artifacts_and_tags(tmp_path):
    run_dir = cfg.train(_config(tmp_path), [f"output_dir={tmp_path / 'runs'}", "trainer.log_throughput=true"])
    client, run_id = _record(run_dir)
    record = json.loads((run_dir / "mlflow.json").read_text())
    assert record["tracking_uri"] == f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"   # under output_dir
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == run_dir.name
    assert client.get_experiment(run.info.experiment_id).name == "sweep"
    # Every key of the resolved config, flattened, as MLflow keeps parameters (strings).
    resolved = flatten(yaml.safe_load((run_dir / "config.yaml").read_text()))
    params = run.data.params
    assert {k: params[k] for k in resolved} == {k: str(v) for k, v in resolved.items()}
    assert params["optimizer.learning_rate"] == "0.01" and params["model.layers.2.Dropout.rate"] == "0.2"
    # Each logged metric's history equals metrics.json's, epoch by epoch.
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"samples_per_second", "step_time", "compile_time"} <= set(metrics["history"])
    for key, values in metrics["history"].items():
        steps, logged = _history(client, run_id, key)
        assert steps == [0, 1, 2] and logged == pytest.approx(values, rel=1e-12), key
    for key, value in metrics["test"].items():
        assert run.data.metrics[f"test_{key}"] == pytest.approx(value, rel=1e-12)
    steps, _ = _history(client, run_id, "batch_loss")   # 5 steps an epoch (288 training rows, 64 a batch)
    assert steps == list(range(2, 16, 2))
    # The run directory's files, as artifacts (MLflow's own listing and download).
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "metrics.json", "history.csv", "log.txt", "tensorboard", "checkpoints"} <= names
    local = client.download_artifacts(run_id, "metrics.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == metrics
    tags = run.data.tags
    assert tags["highlevel.version"] == hl.__version__ and tags["jax.devices"] == "cpu:0"
    assert tags["jax.backend"] == hl.backend.name() and tags["highlevel.run_dir"] == str(run_dir.absolute())
    assert {"jax.version", "flax.version", "optax.version"} <= set(tags)


def test_git_commit_tag(tmp_path, monkeypatch):
    import subprocess
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b.c", "-c", "user.name=a"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "train.py").write_text("print()\n")
    subprocess.run(git + ["add", "train.py"], check=True)
    subprocess.run(git + ["commit", "-qm", "first"], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo)
    logger = hl.callbacks.MLflowLogger(experiment_name="git")
    run_id = logger.start()
    assert MlflowClient(logger.tracking_uri).get_run(run_id).data.tags["mlflow.source.git.commit"] == head
    assert logger.tracking_uri == f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}"   # the default store


def test_resumed_configured_run_continues_the_same_mlflow_run(tmp_path, monkeypatch):
    path = _config(tmp_path, BASE.replace("epochs: 3", "epochs: 4"))
    reference = cfg.train(path, [f"output_dir={tmp_path / 'ref'}"])

    class Crash(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("simulated crash at the end of epoch 2")

    from highlevel.config import run as run_module
    real = run_module.build_callbacks
    monkeypatch.setattr(run_module, "build_callbacks", lambda entries, d: real(entries, d) + [Crash()])
    with pytest.raises(KeyboardInterrupt):
        cfg.train(path, [f"output_dir={tmp_path / 'crashed'}"])
    monkeypatch.setattr(run_module, "build_callbacks", real)
    (crashed,) = [d for d in (tmp_path / "crashed").iterdir() if d.is_dir() and d.name.startswith("sweep")]
    client, run_id = _record(crashed)
    assert client.get_run(run_id).info.status == "KILLED"
    assert _history(client, run_id, "loss")[0] == [0]     # the crash came before epoch 2 was logged
    assert main(["train", "--resume", str(crashed)]) == 0
    assert _record(crashed)[1] == run_id   # the same run continued, no second one started:
    assert [r.info.run_id for r in client.search_runs([client.get_run(run_id).info.experiment_id])] == [run_id]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    expected = json.loads((reference / "metrics.json").read_text())
    for key in DETERMINISTIC:   # the resumed run equals one never interrupted, each epoch logged once
        steps, values = _history(client, run_id, key)
        assert steps == [0, 1, 2, 3] and values == pytest.approx(expected["history"][key], rel=1e-12), key
    assert run.data.metrics["test_accuracy"] == pytest.approx(expected["test"]["accuracy"], rel=1e-12)
    assert _history(client, run_id, "batch_loss")[0] == list(range(2, 21, 2))


def _data(rng):
    x = rng.standard_normal((64, 4)).astype(np.float32)
    return x, x @ np.array([[1.0], [-1.0], [0.5], [2.0]], np.float32)


def _linear():
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_backup_resume_logs_each_epoch_and_step_once(tmp_path, rng):
    """The crash comes after the logger wrote epoch 2 but before the backup of it: the resumed
    fit runs epoch 2 again, and MLflow keeps the value it has."""
    x, y = _data(rng)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    class Crash(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("preempted")

    def fit(*extra):
        hl.utils.set_random_seed(0)
        model = _linear()
        logger = hl.callbacks.MLflowLogger(uri, experiment_name="resume", log_every_n_steps=3)
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0,
                            callbacks=[logger, *extra, hl.callbacks.BackupAndRestore(tmp_path / "backup")])
        return logger, history

    with pytest.raises(RuntimeError, match="preempted"):
        fit(Crash())
    client = MlflowClient(uri)
    (first,) = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    assert first.info.status == "FAILED" and _history(client, first.info.run_id, "loss")[0] == [0, 1]
    logger, history = fit()
    assert logger.run_id == first.info.run_id      # BackupAndRestore handed back the run's id
    steps, values = _history(client, logger.run_id, "loss")
    assert steps == [0, 1, 2] and values[2] == pytest.approx(history.history["loss"][-1])
    assert _history(client, logger.run_id, "batch_loss")[0] == [3, 6, 9, 12]
    assert client.get_run(logger.run_id).info.status == "FINISHED"


def test_only_process_zero_logs(monkeypatch, tmp_path):
    import jax
    logger = hl.callbacks.MLflowLogger(f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    assert hl.callbacks.CallbackList([logger]).callbacks == []
    assert not (tmp_path / "mlflow.db").exists()


def test_a_failing_fit_marks_the_run_failed_and_files_become_artifacts(tmp_path, rng):
    x, y = _data(rng)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"

    class Boom(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ValueError("boom")

    logger = hl.callbacks.MLflowLogger(uri, experiment_name="fail", params={"a": {"b": [1, 2]}}, tags={"team": "x"})
    with pytest.raises(ValueError, match="boom"):
        _linear().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Boom(), logger])
    run = MlflowClient(uri).get_run(logger.run_id)
    assert run.info.status == "FAILED" and run.data.tags["team"] == "x"
    assert run.data.params["a.b.0"] == "1" and run.data.params["epochs"] == "2"
    logger = hl.callbacks.MLflowLogger(uri, experiment_name="fail", artifacts=tmp_path / "notes")
    _linear().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[logger])
    assert [a.path for a in MlflowClient(uri).list_artifacts(logger.run_id)] == ["a.txt"]


@pytest.mark.parametrize("kwargs, match", [
    ({"tracking_uri": ""}, "tracking_uri must be an MLflow tracking URI"),
    ({"experiment_name": ""}, "experiment_name must be a non-empty string"),
    ({"log_every_n_steps": 0}, "log_every_n_steps must be a positive integer or None, got 0"),
    ({"params": [1]}, "params must be a dict of name -> value, got list"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        hl.callbacks.MLflowLogger(**kwargs)


def test_an_unknown_run_id_is_named(tmp_path):
    logger = hl.callbacks.MLflowLogger(f"sqlite:///{tmp_path / 'mlflow.db'}", run_id="0123456789abcdef")
    with pytest.raises(ValueError, match="has no run '0123456789abcdef' to continue; pass run_id=None"):
        logger.start()


def test_a_missing_mlflow_is_named_before_anything_is_written(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(cfg.ConfigError, match=r"loggers\[2\]: the mlflow logger needs MLflow, which is not "
                                              r"installed: pip install 'highlevel\[track\]'"):
        cfg.train(_config(tmp_path), [f"output_dir={tmp_path / 'runs'}"])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("section, match", [
    ("loggers: [tensorboard, mlfow]", r"loggers\[1\]: unknown logger 'mlfow'; did you mean 'mlflow'\?"),
    ("loggers: [{mlflow: {trackng_uri: x}}]", r"MLflowLogger has no argument 'trackng_uri'; did you mean 'tracking_uri'"),
    ("loggers: [{tensorboard: {profile_batch: 3}}]", r"'profile_batch' is set by the run itself \(use trainer.profile\)"),
    ("loggers: [csv]\ntrainer: {profile: [2, 3]}", "trainer.profile writes its trace for TensorBoard, which is not among"),
    ("trainer: {profile: [5, 2]}", r"trainer.profile: write the steps to trace as one step or \[first, last\]"),
    ("loggers: [csv, csv]", r"loggers\[1\]: csv is listed twice"),
])
def test_logger_config_errors_name_the_place_and_the_fix(tmp_path, section, match):
    text = BASE.replace("trainer: {epochs: 3, verbose: 0}\n", "").replace(
        "loggers: [tensorboard, csv, {mlflow: {log_every_n_steps: 2}}]\n", "") + section + "\n"
    with pytest.raises(cfg.ConfigError, match=match):
        cfg.load_config(_config(tmp_path, text))
