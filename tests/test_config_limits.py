"""Configs are bounded and checked whole: alias bombs, huge or binary files, overrides, every mistake at once.

``validate`` runs every check ``train`` runs before training (the data, the model built
from it, the data against the model) and reports all mistakes, each with its key path;
nothing is written before the config is valid.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from highlevel import config as cfg
from highlevel.cli import main

REPO = Path(__file__).resolve().parents[1]

BASE = """
seed: 0
data: {source: digits, batch_size: 32}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 1, verbose: 0, steps_per_epoch: 2}
"""

BOMB = BASE + """
lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
""" + "".join(f"l{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)) + \
    "callbacks: [{EarlyStopping: {baseline: *i}}]\n"


def _write(tmp_path, text, name="run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


_UNDER_4GB = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from highlevel.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["validate"], ["validate", "trainer.epochs=2"], ["show"], ["train"]],
                         ids=["validate", "validate_override", "show", "train"])
def test_an_alias_bomb_is_refused_in_seconds_under_4_gb(tmp_path, command):
    path = _write(tmp_path, BOMB + f"output_dir: {tmp_path / 'runs'}\n")
    assert yaml.compose(path.read_text()) is not None  # a few hundred bytes of valid YAML
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _UNDER_4GB, command[0], str(path), *command[1:]],
                          env=dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO)), capture_output=True,
                          text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "refused: it holds more than 100,000 values once its aliases (*name) are expanded" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert elapsed < 30, elapsed
    assert not (tmp_path / "runs").exists()


def test_large_deep_recursive_and_binary_files_are_refused(tmp_path):
    with pytest.raises(cfg.ConfigError, match=r"refused: the file has 2,\d{3},\d{3} bytes, more than the 1,048,576"):
        cfg.load_config(_write(tmp_path, BASE + "notes: '" + "x" * (2 << 20) + "'\n"))
    with pytest.raises(cfg.ConfigError, match="refused: it nests deeper than 50 levels"):
        cfg.load_config(_write(tmp_path, BASE + "deep: " + "[" * 60 + "]" * 60 + "\n"))
    with pytest.raises(cfg.ConfigError, match=r"refused: an alias refers to a value that contains it \(line 1\)"):
        cfg.load_config(_write(tmp_path, "model: &m\n  layers: [*m]\n"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(cfg.ConfigError, match=r"binary.yaml: not a text file \(byte 0 is not UTF-8\)"):
        cfg.load_config(binary)
    with pytest.raises(cfg.ConfigError, match=r"not readable as YAML \(unacceptable character"):
        cfg.load_config(_write(tmp_path, "seed: 0\x00\n"))


def test_overrides_address_list_items_and_resolve_nothing(tmp_path):
    path = _write(tmp_path, BASE + "name: plain\n")
    config = cfg.load_config(path, ["model.layers.1.Dense.units=8", "model.layers[2].Dense.units=10",
                                    "data.preprocessing.resize=[32, 32]", "output_dir=${oc.env:HOME}"])
    assert config.model["layers"][1] == {"Dense": {"units": 8, "activation": "relu"}}
    assert config.output_dir == "${oc.env:HOME}"   # interpolations are never resolved: no environment leaks
    with pytest.raises(cfg.ConfigError, match=r"model\.layers\[1\]\.Dense: Dense units must be a positive integer, "
                                              r"got -3"):
        cfg.load_config(path, ["model.layers.1.Dense.units=-3"])
    with pytest.raises(cfg.ConfigError, match=r"cannot set model\.layers\.7\.Dense\.units: .*must exist already"):
        cfg.load_config(path, ["model.layers.7.Dense.units=3"])
    # An alias bomb in an override's value: 20 x 9 x 9 x 9 values from about 300 characters.
    nested = "&b [&a [" + ", ".join(["x"] * 9) + "], " + ", ".join(["[*a, *a, *a, *a, *a, *a, *a, *a, *a]"] * 9) + "]"
    with pytest.raises(cfg.ConfigError, match=r"the value of seed: refused: it holds more than 100,000 values"):
        cfg.load_config(path, ["seed=[" + ", ".join([nested] + ["[*b, *b, *b, *b, *b, *b, *b, *b, *b]"] * 20) + "]"])
    assert cfg.load_config(path, ["metrics=[&m accuracy, *m]"]).metrics == ["accuracy", "accuracy"]  # small is fine


def test_validate_reports_every_mistake_with_its_key_path(tmp_path, capsys):
    text = BASE.replace("Dense: {units: 16, activation: relu}", "Dense: {units: -5, activation: rellu}") \
        .replace("- Flatten: {}", "- Conv2D: {filters: 4, kernel_size: three}\n    - Dropout: {rate: 1.5}") \
        .replace("learning_rate: 0.01", "learning_rate: fast") + "callbacks: [{EarlyStopping: {patience: 2}}, " \
        "{ReduceLROnPlateau: {factor: 2.0}}]\n"
    path = _write(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    expected = [r"model\.layers\[0\]\.Conv2D: .*kernel_size.* got 'three'",
                r"model\.layers\[1\]\.Dropout: .*rate in \[0, 1\).*got 1\.5",
                r"model\.layers\[2\]\.Dense: Dense units must be a positive integer, got -5",
                r"optimizer: Adam learning_rate must be a float.*got 'fast'",
                r"callbacks\[1\]\.ReduceLROnPlateau: .*factor >= 1\.0"]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected):
        assert line.startswith(("error: " + str(path), str(path))) and __import__("re").search(pattern, line), line
    for value in ("units: 0", "activation: rellu"):
        one = _write(tmp_path, BASE.replace("units: 16, activation: relu", value if "units" in value else
                                            "units: 16, " + value), f"{value[:5]}.yaml")
        with pytest.raises(cfg.ConfigError, match=r"model\.layers\[1\]\.Dense: "):
            cfg.check(one)
    with pytest.raises(cfg.ConfigError, match=r"optimizer: Adam learning_rate must be >= 0, got -1"):
        cfg.check(path, ["optimizer.learning_rate=-1", "model.layers=[{Flatten: {}}, {Dense: {units: 10}}]",
                         "callbacks=[]"])


def test_validate_builds_the_model_and_checks_the_data(tmp_path):
    # A layer stack that cannot be built on the data's shape: the schema cannot know, the build does.
    path = _write(tmp_path, BASE.replace("- Flatten: {}", "- Conv1D: {filters: 4, kernel_size: 3}"))
    with pytest.raises(cfg.ConfigError, match=r"model"):
        cfg.check(path)
    # Labels 0-9 but 5 output units: refused before training, naming the array and the index.
    path = _write(tmp_path, BASE.replace("Dense: {units: 10}", "Dense: {units: 5}"), "five.yaml")
    with pytest.raises(cfg.ConfigError, match=r"data \(digits\): y\[\d+\] is \d, outside \[0, 5\) for the 5 classes"):
        cfg.check(path)
    out = tmp_path / "runs"
    with pytest.raises(cfg.ConfigError, match=r"outside \[0, 5\)"):
        cfg.train(path, [f"output_dir={out}"])
    assert not out.exists()


@pytest.mark.parametrize("arrays, match", [
    ({}, r"has the arrays \[\]; expected either .x. and .y."),
    ({"x": np.zeros((0, 4)), "y": np.zeros(0)}, r"no training samples|empty"),
    ({"x": np.ones((20, 4)), "y": np.array(["cat", "dog"] * 10)}, r"the labels \(y\) hold <U3 values, not numbers"),
    ({"x": np.ones((20, 4)), "y": np.full(20, 7)}, r"y\[0\] is 7, outside \[0, 3\)"),
    ({"x": np.full((20, 4), np.nan), "y": np.zeros(20, int)}, r"x\[0, 0\] is nan"),
])
def test_bad_npz_data_is_one_sentence_and_writes_nothing(tmp_path, arrays, match):
    data = tmp_path / "d.npz"
    np.savez(data, **arrays)
    text = f"""
data: {{source: npz, path: {data}, batch_size: 4}}
model: {{layers: [{{Dense: {{units: 3}}}}]}}
loss: {{SparseCategoricalCrossentropy: {{from_logits: true}}}}
trainer: {{epochs: 1, verbose: 0}}
output_dir: {tmp_path / 'runs'}
"""
    path = _write(tmp_path, text)
    with pytest.raises(cfg.ConfigError, match=match) as err:
        cfg.train(path)
    assert "\n" not in str(err.value) and str(data) in str(err.value)
    assert not (tmp_path / "runs").exists()


def test_run_names_and_output_dirs_that_cannot_hold_the_run_are_refused(tmp_path, monkeypatch):
    path = _write(tmp_path, BASE)
    with pytest.raises(cfg.ConfigError, match=r"name: a run name is one folder name inside output_dir"):
        cfg.load_config(path, ["name=../../x"])
    for name in ("a$b", "a{x}", "a:b", "two words", ".hidden"):
        with pytest.raises(cfg.ConfigError, match=r"name: a run name is one folder name inside output_dir"):
            cfg.load_config(path, [f"name={name}"])
    assert cfg.load_config(path, ["name=exp-1_b.2"]).name == "exp-1_b.2"
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(cfg.ConfigError, match=r"output_dir: .*a_file is a file, not a folder"):
        cfg.check(path, [f"output_dir={blocker / 'runs'}"])
    with pytest.raises(cfg.ConfigError, match=r"cannot create the run directory .*a_file is a file, not a folder"):
        cfg.train(path, [f"output_dir={blocker / 'runs'}"])
    # A read-only folder (simulated: the tests may run as root, whom permissions do not stop).
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real_access(p, mode) and Path(p) != read_only)
    with pytest.raises(cfg.ConfigError, match=r"output_dir: .*read_only is not writable"):
        cfg.check(path, [f"output_dir={read_only}"])
    monkeypatch.setattr(os, "access", real_access)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if read_only in self.parents:
            raise OSError(30, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert main(["train", str(path), f"output_dir={read_only}"]) == 2
    assert os.listdir(read_only) == []


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path):
    """Each run's directory is claimed when it is chosen: two `highlevel train` started together (a
    sweep launched in parallel) do not both pick NAME-TIMESTAMP, the second then refused as 'in use'."""
    from highlevel.config.run import _new_run_dir
    config = cfg.load_config(_write(tmp_path, BASE), [f"output_dir={tmp_path / 'runs'}"])
    first, second = _new_run_dir(config), _new_run_dir(config)
    assert first != second and first.is_dir() and second.is_dir()
    assert second.parent == first.parent and not any(second.iterdir())
