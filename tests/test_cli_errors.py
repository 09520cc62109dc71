"""The command answers bad input with one sentence naming the file and the fix, never a traceback;
evaluate and predict apply the run's preprocessing and refuse data outside its contract."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import highlevel as hl
from highlevel.cli import main

REPO = Path(__file__).resolve().parents[1]

DIGITS = """
seed: 0
data: {source: digits, batch_size: 32}
model:
  layers:
    - Flatten: {}
    - Dense: {units: 10}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 2, verbose: 0}
"""


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    (folder / "run.yaml").write_text(DIGITS)
    assert main(["train", str(folder / "run.yaml"), "--run-dir", str(folder / "run")]) == 0
    (_, _), (x, y) = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    return folder / "run", x[:20], y[:20]


def _one_sentence(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


def test_predict_and_evaluate_refuse_what_they_cannot_read(digits_run, tmp_path, capsys):
    run, x, y = digits_run
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert main(["predict", str(run), str(pickled)]) == 2
    _one_sentence(capsys, "pickled.npy: it holds Python objects (a pickled array), which highlevel never loads")
    pickled_npz = tmp_path / "pickled.npz"
    np.savez(pickled_npz, x=np.array([object()], dtype=object), y=y)
    assert main(["evaluate", str(run), "--data", str(pickled_npz)]) == 2
    _one_sentence(capsys, "pickled.npz: the array 'x' holds Python objects")
    (tmp_path / "junk.npy").write_bytes(pickle.dumps([1, 2, 3]))
    assert main(["predict", str(run), str(tmp_path / "junk.npy")]) == 2
    _one_sentence(capsys, "junk.npy")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5), np.float32))
    assert main(["predict", str(run), str(wrong)]) == 2
    _one_sentence(capsys, "each sample has shape (5,), but the run was trained on digits inputs of shape (8, 8, 1)")
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=x, y=np.array(["seven"] * len(x)))
    assert main(["evaluate", str(run), "--data", str(labels)]) == 2
    _one_sentence(capsys, "labels.npz: the targets (y) hold <U5 values, not numbers")


def test_predict_checks_its_output_before_predicting(digits_run, tmp_path, capsys, monkeypatch):
    run, x, _ = digits_run
    inputs = tmp_path / "x.npy"
    np.save(inputs, x)
    predicted = []
    real = hl.Sequential.predict
    monkeypatch.setattr(hl.Sequential, "predict", lambda self, *a, **k: predicted.append(1) or real(self, *a, **k))
    assert main(["predict", str(run), str(inputs), "--output", str(tmp_path / "missing" / "p.npy")]) == 2
    _one_sentence(capsys, "the folder", "missing does not exist; create it first (nothing was predicted)")
    assert main(["predict", str(run), str(inputs), "--output", str(tmp_path / "out.txt")]) == 2
    _one_sentence(capsys, "out.txt: predictions are written as .npy or .csv")
    assert predicted == []
    assert main(["predict", str(run), str(inputs), "--output", str(tmp_path / "out.npy")]) == 0
    assert capsys.readouterr().out.strip() == f"predictions: {tmp_path / 'out.npy'}"
    assert main(["predict", str(run), str(inputs), "--output", str(tmp_path / "out.csv")]) == 0
    as_npy, as_csv = np.load(tmp_path / "out.npy"), np.loadtxt(tmp_path / "out.csv", delimiter=",")
    assert as_npy.shape == (20, 10) and np.allclose(as_npy, as_csv, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.npy", "x.npy"]


def test_evaluate_applies_the_contract_and_refuses_raw_pixels(digits_run, tmp_path, capsys):
    run, x, y = digits_run
    good = tmp_path / "good.npz"
    np.savez(good, x=x, y=y)
    assert main(["evaluate", str(run), "--data", str(good)]) == 0
    logs = json.loads(capsys.readouterr().out)
    model = hl.models.load_model(run / "checkpoints" / "last")
    assert logs["accuracy"] == pytest.approx(model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"])
    raw = tmp_path / "raw.npz"
    np.savez(raw, x=x * 16.0, y=y)   # 0-16 pixels: what scikit-learn gives, not what the source does
    assert main(["evaluate", str(run), "--data", str(raw)]) == 2
    _one_sentence(capsys, "raw.npz: the inputs range over [0, 16], far outside the [0, 1] of the training inputs as "
                          "hl.datasets.digits.load_data gives them")
    preprocessing = json.loads((run / "preprocessing.json").read_text())
    assert preprocessing["input_shape"] == [8, 8, 1] and preprocessing["input_range"] == [0.0, 1.0]


def test_predict_and_evaluate_refuse_non_finite_inputs(digits_run, tmp_path, capsys):
    run, x, y = digits_run
    nan = x.copy()
    nan[3, 2, 2, 0] = nan[5, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert main(["predict", str(run), str(tmp_path / "nan.npy")]) == 2
    _one_sentence(capsys, "nan.npy: the inputs hold 2 values that are NaN, infinite or beyond float32's range (the "
                          "first in sample 3); give finite numbers")
    huge = x.astype(np.float64)
    huge[0, 0, 0, 0] = -1e300   # finite in float64, not as the model's float32
    np.savez(tmp_path / "huge.npz", x=huge, y=y)
    assert main(["evaluate", str(run), "--data", str(tmp_path / "huge.npz")]) == 2
    _one_sentence(capsys, "huge.npz: the inputs hold 1 value that is NaN, infinite or beyond float32's range (the "
                          "first in sample 0)")


def test_a_damaged_checkpoint_is_one_sentence(digits_run, tmp_path, capsys):
    import shutil
    run, x, _ = digits_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = copy / "checkpoints" / "last" / "config.json"
    config.write_bytes(config.read_bytes().replace(b'"format"', b'"f\xffrmat"'))
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(copy), str(tmp_path / "x.npy")]) == 2
    _one_sentence(capsys, "config.json is damaged: its contents differ from the SHA-256 recorded in MANIFEST.json")
    (copy / "config.yaml").write_bytes(b"\xff\xfe\x00binary")
    assert main(["evaluate", str(copy)]) == 2
    _one_sentence(capsys, "config.yaml: not a text file")


def test_predict_reads_a_csv_with_a_header_by_column_name(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((60, 3))
    lines = ["rooms,area,age,price"] + [f"{a:.4f},{b:.4f},{c:.4f},{2 * a - b:.4f}" for a, b, c in table]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "run.yaml").write_text(f"""
data: {{source: csv, path: {tmp_path / 'houses.csv'}, target: price, features: [rooms, area], batch_size: 8}}
model: {{layers: [{{Dense: {{units: 1}}}}]}}
loss: mse
trainer: {{epochs: 1, verbose: 0, validation_split: 0.0}}
""")
    assert main(["train", str(tmp_path / "run.yaml"), "--run-dir", str(tmp_path / "run")]) == 0
    # Columns in another order, the target and an unused column present: picked by name.
    (tmp_path / "new.csv").write_text("age,area,price,rooms\n1,0.5,0,2\n3,1.5,0,-1\n")
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--output",
                 str(tmp_path / "p.npy")]) == 0
    model = hl.models.load_model(tmp_path / "run" / "checkpoints" / "last")
    expected = model.predict(np.array([[2, 0.5], [-1, 1.5]], np.float32), verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-6)
    capsys.readouterr()
    (tmp_path / "bad.csv").write_text("rooms,size\n1,2\n")
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "bad.csv")]) == 2
    _one_sentence(capsys, "bad.csv: no column 'area'; the run was trained on the columns ['rooms', 'area']")


_FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG, as on a full disk
from highlevel.cli import entry
import highlevel.config.run as run
real = run._prepare
def prepare(config):
    out = real(config)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))   # the run's first files fit, checkpoints do not
    return out
run._prepare = prepare
entry(sys.argv[1:])   # what the highlevel command runs
"""


def test_a_full_disk_during_train_is_one_sentence(tmp_path, capsys, monkeypatch):
    import collections
    import shutil
    (tmp_path / "run.yaml").write_text(DIGITS)
    run = tmp_path / "run"
    real = shutil.disk_usage
    usage = collections.namedtuple("usage", "total used free")
    # The disk fills up once the run directory is made: the first checkpoint cannot fit.
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 4096, 4096)
                        if run in Path(p).parents or Path(p) == run else real(p))
    assert main(["train", str(tmp_path / "run.yaml"), "--run-dir", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith((f"error: {run}/checkpoints/", f"error: {run}/backup/")), err
    assert "No space left on device: the save needs about" in err and "free space" in err
    for folder in ("checkpoints", "backup"):                                # no half-written save
        assert not [n for n in os.listdir(run / folder) if n.startswith(".")] if (run / folder).exists() else True


def test_a_disk_that_refuses_writes_midway_ends_with_one_error_line(tmp_path):
    (tmp_path / "run.yaml").write_text(DIGITS.replace("Dense: {units: 10}", "Dense: {units: 200}\n    - Dense: {units: 10}"))
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, "train", str(tmp_path / "run.yaml"), "--run-dir",
                           str(tmp_path / "run")], env=dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    # (tensorstore may print its own threads' complaints before; the command's own report is one line, last.)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr[-3000:]
    assert "File too large" in errors[0] and "free space" in errors[0], errors


def test_find_lr_checks_the_plots_folder_before_sweeping(tmp_path, capsys, monkeypatch):
    (tmp_path / "run.yaml").write_text(DIGITS)
    from highlevel.config import run as run_module
    monkeypatch.setattr(run_module, "_prepare", lambda config: pytest.fail("the sweep started"))
    plot = tmp_path / "missing" / "lr.png"
    assert main(["find-lr", str(tmp_path / "run.yaml"), "--plot", str(plot)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: --plot {plot}: the folder {plot.parent} does not exist; create it first "
                   "(nothing was swept).\n")


@pytest.mark.parametrize("code, fix", [
    ("ENOENT", "check that its folder exists and is a folder (create it, or choose another place)"),
    ("EACCES", "choose a place you may write to (or get the permission)"),
    ("ENOSPC", "free space or choose a writable place"),
])
def test_a_refused_write_names_the_fix_that_fits_it(code, fix):
    """A missing folder is not answered with 'free space'."""
    import errno
    from highlevel.cli import _os_error
    err = OSError(getattr(errno, code), os.strerror(getattr(errno, code)), "/somewhere/model.jax")
    assert _os_error(err) == f"/somewhere/model.jax: {os.strerror(getattr(errno, code))}; {fix}, then run the command again"


@pytest.mark.parametrize("argument, value, why", [
    ("--port", "99999", "99999 is out of range; give a value from 0 to 65535"),
    ("--max-batch-size", "0", "0 is out of range; give a value of at least 1"),
    ("--batch-timeout-ms", "-1", "-1 is out of range; give a value of at least 0"),
    ("--max-body-bytes", "0", "0 is out of range; give a value of at least 1"),
    ("--port", "http", "'http' is not an integer"),
])
def test_serve_refuses_arguments_out_of_range_before_loading_anything(tmp_path, capsys, argument, value, why):
    """They ended in a traceback (OverflowError from bind, ValueError from the batcher) or, for
    --max-body-bytes 0, a server refusing every request."""
    try:
        status = main(["serve", str(tmp_path / "no_run"), argument, value])
    except SystemExit as exit:
        status = exit.code
    assert status == 2
    assert capsys.readouterr().err.strip().endswith(f"error: argument {argument}: {why}")
