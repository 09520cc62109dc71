"""SIGTERM/SIGINT stop a configured run after the current step with a backup; --resume continues it
exactly, with a complete record (CSV, metrics.json, TensorBoard); a run directory is locked while trained."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import highlevel as hl
from highlevel import config as cfg
from highlevel.cli import main

REPO = Path(__file__).resolve().parents[1]

CONFIG = """
seed: 0
data: {source: digits, batch_size: 16}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 32, activation: relu}
    - Dropout: {rate: 0.2}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.003}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 3, verbose: 2, validation_split: 0.1}
callbacks: [{CSVLogger: {filename: history.csv}}]
"""

main_thread_only = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                      reason="signal handlers are installed from the main thread only")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A run never interrupted: its directory."""
    folder = tmp_path_factory.mktemp("reference")
    path = folder / "run.yaml"
    path.write_text(CONFIG)
    return cfg.train(path, [f"output_dir={folder / 'runs'}"])


def _weights(run_dir: Path) -> list:
    return hl.models.load_model(run_dir / "checkpoints" / "last").get_weights()


def _csv_rows(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.reader(f))


def _epoch_scalars(run_dir: Path, tag: str = "epoch_loss") -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    events.Reload()
    return sorted((e.step, e.value) for e in events.Scalars(tag))


def _assert_same_record(run_dir: Path, reference: Path) -> None:
    for a, b in zip(_weights(run_dir), _weights(reference)):
        np.testing.assert_array_equal(a, b)
    assert _csv_rows(run_dir) == _csv_rows(reference)          # every epoch once, the same numbers
    ours, theirs = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, reference))
    assert ours["epochs"] == theirs["epochs"] == 3
    assert ours["history"] == theirs["history"] and ours["test"] == theirs["test"]
    assert _epoch_scalars(run_dir) == _epoch_scalars(reference)  # TensorBoard continues: steps 0, 1, 2 once


class _SignalAt(hl.callbacks.Callback):
    """Sends this process ``signum`` after a given step of a given epoch."""

    def __init__(self, signum, epoch, step):
        super().__init__()
        self.signum, self.epoch, self.step, self._epoch = signum, epoch, step, -1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self._epoch, batch) == (self.epoch, self.step):
            os.kill(os.getpid(), self.signum)


@main_thread_only
def test_a_signal_mid_epoch_stops_with_a_backup_and_resume_continues_exactly(tmp_path, monkeypatch, reference,
                                                                             capsys):
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG)
    from highlevel.config import run as run_module
    real = run_module.build_callbacks
    monkeypatch.setattr(run_module, "build_callbacks",
                        lambda entries, d: real(entries, d) + [_SignalAt(signal.SIGINT, 1, 20)])
    run_dir = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run_dir)]) == cfg.EXIT_PREEMPTED
    err = capsys.readouterr().err
    assert f"stopped: SIGINT received: training stopped in epoch 2 after step 21, with a backup in " \
           f"{run_dir / 'backup'}" in err and f"Continue with: highlevel train --resume {run_dir}" in err
    assert "SIGINT received: training stopped in epoch 2 after step 21" in (run_dir / "log.txt").read_text()
    assert (run_dir / "backup" / "latest").is_dir() and not (run_dir / "metrics.json").exists()
    assert not (run_dir / ".lock").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back
    assert len(_csv_rows(run_dir)) == 2                                     # header and epoch 1
    monkeypatch.setattr(run_module, "build_callbacks", real)
    assert main(["train", "--resume", str(run_dir)]) == 0
    _assert_same_record(run_dir, reference)
    assert not (run_dir / "backup").exists() and not (run_dir / ".lock").exists()


_SLOW_RUN = """
import sys, time
import highlevel as hl
from highlevel.config import run as run_module
from highlevel.cli import main

class Slow(hl.callbacks.Callback):
    # 10 ms a step; says when epoch 2 is 10 steps in (the file RUN_DIR.mid), for the test to send its signal.

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.01)
        if (self.epoch, batch) == (1, 10):
            open(sys.argv[-1] + ".mid", "w").close()

real = run_module.build_callbacks
run_module.build_callbacks = lambda entries, d: real(entries, d) + [Slow()]
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_from_outside_then_resume_gives_the_same_run(tmp_path, reference, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, "train", str(path), "--run-dir", str(run_dir)],
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    log = run_dir / "log.txt"
    while time.time() < deadline and not (log.exists() and "Epoch 1/3" in log.read_text()):
        time.sleep(0.05)
    owner = json.loads((run_dir / ".lock").read_text())
    assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
    # A second process is refused while the first trains, naming it.
    assert main(["train", "--resume", str(run_dir)]) == 2
    assert f"is in use: process {proc.pid} on {socket.gethostname()} has been training in it" in \
        capsys.readouterr().err
    mid = Path(f"{run_dir}.mid")
    while time.time() < deadline and not mid.exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)                 # about 10 steps into epoch 2 (of about 80)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == cfg.EXIT_PREEMPTED, err[-3000:]
    assert "Traceback" not in err and "stopped: SIGTERM received: training stopped in epoch 2 after step" in err, err
    assert (run_dir / "backup" / "latest").is_dir() and not (run_dir / ".lock").exists()
    assert main(["train", "--resume", str(run_dir)]) == 0
    _assert_same_record(run_dir, reference)


def test_the_lock_names_a_living_owner_and_a_dead_ones_is_taken_over(tmp_path, capsys):
    from highlevel.utils.lock import DirectoryLock, LockedError
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from highlevel.utils.lock import "
                               "DirectoryLock; DirectoryLock(sys.argv[1]).acquire(); print('locked', flush=True); "
                               "time.sleep(60)", str(tmp_path)], env=dict(os.environ, PYTHONPATH=str(REPO)),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=rf"{tmp_path} is in use: process {holder.pid} on "
                                              rf"{socket.gethostname()} has been training in it since"):
            DirectoryLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without releasing: its lock file remains, naming it; the next process takes it over.
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == holder.pid
    with DirectoryLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".lock").exists()


def test_a_run_stopped_after_its_last_epoch_resumes_to_its_end_without_training_again(tmp_path, monkeypatch,
                                                                                      reference):
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG)
    real = hl.Sequential.evaluate

    def killed(self, *args, **kwargs):   # the process dies while testing, after the last epoch
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(hl.Sequential, "evaluate", killed)
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        cfg.train(path, [], run_dir=run_dir)
    monkeypatch.setattr(hl.Sequential, "evaluate", real)
    assert (run_dir / "backup" / "latest").is_dir() and not (run_dir / "metrics.json").exists()
    assert main(["train", "--resume", str(run_dir)]) == 0
    log = (run_dir / "log.txt").read_text()
    assert [log.count(f"Epoch {i}/3 - ") for i in (1, 2, 3)] == [1, 1, 1]   # no epoch trained twice
    _assert_same_record(run_dir, reference)
    assert not (run_dir / "backup").exists()
