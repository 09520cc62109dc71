"""``highlevel runs``: three configured runs side by side, their differing keys and metrics."""

import json
import shutil

import pytest

from highlevel import config as cfg
from highlevel.cli import main
from highlevel.config import runs as runs_module

CONFIG = """
name: sweep
seed: 0
data: {source: digits, batch_size: 64, limit: 320}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 16, activation: relu}
    - Dropout: {rate: RATE}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 2, verbose: 0}
"""
GRID = [("0.001", "0.1"), ("0.01", "0.1"), ("0.01", "0.5")]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    runs = []
    for lr, rate in GRID:   # the learning rate by an override, the dropout rate written in the file
        path = folder / f"dropout-{rate}.yaml"
        path.write_text(CONFIG.replace("RATE", rate))
        runs.append(cfg.train(path, [f"output_dir={folder / 'runs'}", f"optimizer.learning_rate={lr}"]))
    return folder / "runs", runs


def _rows(text: str) -> dict[str, list[str]]:
    lines = [line.split() for line in text.splitlines() if line.strip() and not set(line.strip()) <= {"─", " "}]
    header = lines[0]
    return {"header": header, **{row[0]: row for row in lines[1:]}}


def test_the_table_shows_status_metrics_and_the_keys_that_differ(sweep, capsys):
    output_dir, runs = sweep
    assert main(["runs", str(output_dir)]) == 0
    rows = _rows(capsys.readouterr().out)
    header = rows["header"]
    assert header[:4] == ["run", "status", "epochs", "time"]
    assert header[-2:] == ["model.layers.2.Dropout.rate", "optimizer.learning_rate"]   # only these differ
    assert {"loss", "val_loss", "best_val_accuracy", "test_loss", "test_accuracy"} <= set(header)
    for run_dir, (lr, rate) in zip(runs, GRID):
        row = dict(zip(header, rows[run_dir.name]))
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert row["status"] == "finished" and row["epochs"] == "2"
        assert (row["optimizer.learning_rate"], row["model.layers.2.Dropout.rate"]) == (lr, rate)
        assert row["test_accuracy"] == f"{metrics['test']['accuracy']:.4g}"
        assert row["val_loss"] == f"{metrics['validation']['loss']:.4g}"
        assert row["best_val_accuracy"] == f"{max(metrics['history']['val_accuracy']):.4g}"


def test_sort_diff_and_json(sweep, capsys):
    output_dir, runs = sweep
    test_loss = {r.name: json.loads((r / "metrics.json").read_text())["test"]["loss"] for r in runs}
    assert main(["runs", str(output_dir), "--sort", "test_loss", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed] == sorted(test_loss, key=test_loss.get)      # lowest loss first
    assert listed[0]["differing"].keys() == {"optimizer.learning_rate", "model.layers.2.Dropout.rate"}
    assert main(["runs", str(output_dir), "--sort", "test_accuracy"]) == 0
    order = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:] if line.strip()]
    accuracy = {r.name: json.loads((r / "metrics.json").read_text())["test"]["accuracy"] for r in runs}
    assert order == sorted(accuracy, key=lambda n: -accuracy[n])                     # highest first
    assert main(["runs", str(output_dir), "--diff"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["header"] == ["config", "key", *(r.name for r in runs)]
    assert rows["optimizer.learning_rate"][1:] == ["0.001", "0.01", "0.01"]
    assert rows["model.layers.2.Dropout.rate"][1:] == ["0.1", "0.1", "0.5"]


def test_an_unfinished_run_and_mistakes(sweep, tmp_path, capsys):
    output_dir, runs = sweep
    copy = tmp_path / "runs"
    shutil.copytree(output_dir, copy)
    unfinished = copy / runs[0].name
    (unfinished / "metrics.json").unlink()
    summaries = {r.name: r for r in runs_module.list_runs(copy)}
    assert summaries[runs[0].name].status == "unfinished" and summaries[runs[0].name].final == {}
    assert summaries[runs[1].name].status == "finished"
    assert main(["runs", str(copy), "--sort", "val_acuracy"]) == 2
    assert "--sort val_acuracy: no run has that column" in capsys.readouterr().err
    assert main(["runs", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
