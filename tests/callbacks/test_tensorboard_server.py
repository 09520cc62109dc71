"""A configured run's TensorBoard files, read by a TensorBoard server the test starts: the scalars
dashboard's HTTP endpoint serves the logged series, and the profile plugin lists the trace that
``trainer.profile`` asked for."""

import contextlib
import gzip
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from highlevel import config as cfg

pytest.importorskip("tensorboard")

CONFIG = """
seed: 0
data: {source: digits, batch_size: 64, limit: 320}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 3, verbose: 0}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body)


@contextlib.contextmanager
def _tensorboard(logdir):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
                             "--port", str(port), "--reload_interval", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/data/runs")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("TensorBoard did not start: " + proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _until(fetch, ready, timeout=60.0):
    """The server loads event files in the background: ask until the answer is complete."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if ready(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_tensorboard_serves_the_scalars_and_the_profile_of_a_configured_run(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG)
    run_dir = cfg.train(path, [f"output_dir={tmp_path}", "trainer.profile=[2,4]"])
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    with _tensorboard(run_dir / "tensorboard") as base:
        tags = _until(lambda: _get(f"{base}/data/plugin/scalars/tags"), lambda t: "epoch_loss" in t.get("train", {}))
        assert {"epoch_loss", "epoch_accuracy", "epoch_samples_per_second"} <= set(tags["train"])
        for run, tag, key in (("train", "epoch_loss", "loss"), ("validation", "epoch_accuracy", "val_accuracy")):
            series = _get(f"{base}/data/plugin/scalars/scalars?run={run}&tag={tag}")
            assert [step for _, step, _ in series] == [0, 1, 2]
            assert [value for _, _, value in series] == pytest.approx(history[key], rel=1e-6)
        assert _get(f"{base}/data/plugins_listing")["profile"]["enabled"]
        runs = _get(f"{base}/data/plugin/profile/runs")
        (trace,) = [r for r in runs if r.startswith("train/")]
        tools = _get(f"{base}/data/plugin/profile/run_tools?run={trace}")
        assert "trace_viewer@" in tools or "trace_viewer" in tools
