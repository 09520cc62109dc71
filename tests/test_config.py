"""YAML runs: validation errors, the run directory, determinism, resume, the command line."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import highlevel as hl
from highlevel import config as cfg
from highlevel.cli import main

CONFIGS = sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml"))

QUICK = ["trainer.epochs=1", "trainer.steps_per_epoch=2", "data.limit=200", "trainer.verbose=0"]

# Debian's dataset-fashion-mnist (installed by .ci/run). Without it, the configs' smoke tests
# read small generated IDX files of the same form; the real data is tested in test_datasets.py.
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def fashion_override(tmp_path_factory) -> list[str]:
    """``data.path=`` a folder of generated Fashion-MNIST IDX files (4 images a class), or nothing
    when Debian's dataset-fashion-mnist is installed."""
    if DEBIAN_FASHION.is_dir():
        return []
    folder = tmp_path_factory.mktemp("fashion_mnist_fixture")
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        (folder / f"{split}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28))))
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(_idx(np.arange(n) % 10))
    return [f"data.path={folder}"]


def _write(tmp_path, text: str, name="run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


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
trainer: {epochs: 2, verbose: 0}
"""


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_validates_and_trains_a_few_steps(path, tmp_path, fashion_override):
    assert CONFIGS, "configs/ holds no YAML runs"
    loaded = cfg.load_config(path)
    quick = QUICK
    if loaded.data.per_class is not None:  # pretrained networks: a handful of small images
        quick = [q for q in QUICK if not q.startswith("data.limit")] + [
            "data.per_class=2", "data.test_limit=8", "data.preprocessing.resize=[32,32]"]
        if loaded.fine_tune is not None:
            quick.append("fine_tune.epochs=1")
    if loaded.data.source == "fashion_mnist":
        quick = quick + fashion_override
    run_dir = cfg.train(path, quick + [f"output_dir={tmp_path}"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert np.isfinite(metrics["train"]["loss"]) and np.isfinite(metrics["test"]["loss"])


def test_quickstart_reaches_97_percent_and_fills_the_run_directory(tmp_path):
    run_dir = cfg.train("configs/quickstart.yaml", [f"output_dir={tmp_path}"])
    assert run_dir.parent == tmp_path and run_dir.name.startswith("quickstart-")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97, metrics["test"]
    assert set(metrics["validation"]) == {"loss", "accuracy"} and metrics["epochs"] == 30
    env = json.loads((run_dir / "environment.json").read_text())
    assert {"jax", "flax", "optax", "highlevel", "devices"} <= set(env)
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["trainer"]["epochs"] == 30 and resolved["name"] == "quickstart"
    assert "Epoch 30/30" in (run_dir / "log.txt").read_text()
    assert (run_dir / "checkpoints" / "best" / "config.json").exists()
    assert any((run_dir / "tensorboard" / "train").iterdir())
    assert not (run_dir / "backup").exists()   # removed when the run finished
    # metrics.json's test accuracy is the saved model's.
    model = hl.models.load_model(run_dir / "checkpoints" / "last")
    (_, _), (x_test, y_test) = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


def test_same_config_and_seed_give_identical_weights(tmp_path):
    path = _write(tmp_path, BASE)
    runs = [cfg.train(path, [f"output_dir={tmp_path / str(i)}"]) for i in range(2)]
    weights = [hl.models.load_model(r / "checkpoints" / "last").get_weights() for r in runs]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_interrupted_run_resumes_to_identical_weights(tmp_path, monkeypatch):
    path = _write(tmp_path, BASE.replace("epochs: 2", "epochs: 4") + "callbacks: [{CSVLogger: {filename: log.csv}}]\n")
    reference = cfg.train(path, [f"output_dir={tmp_path / 'ref'}"])

    class Crash(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("simulated crash after epoch 2")

    from highlevel.config import run as run_module
    real = run_module.build_callbacks
    monkeypatch.setattr(run_module, "build_callbacks", lambda entries, d: real(entries, d) + [Crash()])
    with pytest.raises(KeyboardInterrupt):
        cfg.train(path, [f"output_dir={tmp_path / 'crashed'}"])
    monkeypatch.setattr(run_module, "build_callbacks", real)
    (crashed,) = (tmp_path / "crashed").iterdir()
    assert (crashed / "backup").exists() and not (crashed / "metrics.json").exists()
    assert main(["train", "--resume", str(crashed)]) == 0
    ours = hl.models.load_model(crashed / "checkpoints" / "last").get_weights()
    theirs = hl.models.load_model(reference / "checkpoints" / "last").get_weights()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    ours, theirs = (json.loads((d / "metrics.json").read_text()) for d in (crashed, reference))
    assert ours["test"] == theirs["test"]
    # The record is complete, as if never interrupted: every epoch once in the CSV and the history.
    assert ours["epochs"] == 4 and ours["history"] == theirs["history"]
    assert (crashed / "log.csv").read_text() == (reference / "log.csv").read_text()


def _epoch_steps(run_dir, tag="epoch_loss"):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


def test_a_run_killed_before_its_first_backup_resumes_with_each_epoch_logged_once(tmp_path, monkeypatch):
    """Killed after the loggers wrote the first epoch but before its backup: the resumed run
    starts afresh, and the killed process's CSV rows and TensorBoard points are not kept twice."""
    path = _write(tmp_path, BASE.replace("epochs: 2", "epochs: 3") + "loggers: [tensorboard, csv]\n")
    reference = cfg.train(path, [f"output_dir={tmp_path / 'ref'}"])

    class Kill(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt("killed after the loggers, before the backup")

    from highlevel.config import run as run_module
    real = run_module.build_loggers
    monkeypatch.setattr(run_module, "build_loggers", lambda config, d: real(config, d) + [Kill()])
    with pytest.raises(KeyboardInterrupt):
        cfg.train(path, [f"output_dir={tmp_path / 'killed'}"])
    monkeypatch.setattr(run_module, "build_loggers", real)
    (killed,) = (tmp_path / "killed").iterdir()
    assert _epoch_steps(killed) == [0] and not (killed / "backup" / "latest").exists()
    assert main(["train", "--resume", str(killed)]) == 0
    assert _epoch_steps(killed) == _epoch_steps(reference) == [0, 1, 2]
    assert (killed / "history.csv").read_text() == (reference / "history.csv").read_text()


def test_get_config_model_section_trains_the_same(tmp_path):
    model = hl.Sequential([hl.Input((8, 8, 1)), hl.layers.Flatten(), hl.layers.Dense(16, activation="relu"),
                           hl.layers.Dense(10)])
    data = yaml.safe_load(BASE)
    data["model"] = {"class_name": "Sequential", "config": model.get_config()}
    path = _write(tmp_path, yaml.safe_dump(data), "from_get_config.yaml")
    a = cfg.train(path, [f"output_dir={tmp_path / 'a'}"])
    b = cfg.train(_write(tmp_path, BASE), [f"output_dir={tmp_path / 'b'}"])
    for x, y in zip(hl.models.load_model(a / "checkpoints" / "last").get_weights(),
                    hl.models.load_model(b / "checkpoints" / "last").get_weights()):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("text, override, match", [
    ("seed: 0\ndata:\n  source: digits\n   batch_size: 3\n", [], r"run.yaml:4:\d+: YAML syntax error: mapping values"),
    ("seed: !!python/object/apply:os.system ['echo hi']\nmodel: {layers: []}\n", [],
     r"run.yaml:1: could not determine a constructor for the tag .*python/object.*loaded safely"),
    (BASE, ["trainer.epoch=3"], r"trainer\.epoch: unknown key; did you mean 'epochs'\?"),
    (BASE, ["trainer.epochs=ten"], r"trainer\.epochs: Input should be a valid integer.*got 'ten'"),
    (BASE, ["data.source=imagenet"], r"data\.source: Input should be 'digits', 'mnist', 'fashion_mnist'.*got 'imagenet'"),
    (BASE.replace("Dense: {units: 10}", "Dens: {units: 10}"), [],
     r"model\.layers\[2\]: unknown layer 'Dens'; did you mean 'Dense'\?"),
    (BASE.replace("units: 16", "unit: 16"), [], r"model\.layers\[1\]\.Dense: Dense has no argument 'unit'; did you mean 'units'\?"),
    (BASE, ["optimizer.name=adamm"], r"optimizer: unknown optimizer 'adamm'; did you mean 'adam'\?"),
    (BASE + "callbacks: [{EarlyStoping: {patience: 2}}]\n", [],
     r"callbacks\[0\]: unknown callback 'EarlyStoping'; did you mean 'EarlyStopping'\?"),
    (BASE.replace("metrics: [accuracy]", "metrics: [acuracy]"), [],
     r"metrics\[0\]: unknown metric 'acuracy'; did you mean 'accuracy'\? Known metrics: AUC, .*, true_positives\.$"),
    (BASE, ["loss=mean_squared_eror"], r"loss: unknown loss 'mean_squared_eror'; did you mean 'mean_squared_error'\? "
                                       r"Known losses: BCE, .*, squared_hinge, tversky\.$"),
    (BASE, ["trainer.epochs"], r"the override 'trainer.epochs' must look like key.path=value"),
])
def test_config_errors_name_the_place_and_the_fix(tmp_path, text, override, match):
    path = _write(tmp_path, text)
    out = tmp_path / "out"
    with pytest.raises(cfg.ConfigError, match=match):
        cfg.train(path, list(override) + [f"output_dir={out}"])
    assert not out.exists()   # nothing written before the config is valid


@pytest.mark.parametrize("override, expected", [
    ("trainer.steps_per_execution=abc",
     "trainer.steps_per_execution: Input should be a valid integer, unable to parse string as an integer "
     "or 'auto'; got 'abc'."),
    ("trainer.steps_per_execution=0",
     "trainer.steps_per_execution: Input should be greater than or equal to 1 or 'auto'; got 0."),
    ("trainer.verbose=5", "trainer.verbose: Input should be 'auto' or 0, 1 or 2; got 5."),
    ("loggers=[tensorbord]", "loggers[0]: unknown logger 'tensorbord'; did you mean 'tensorboard'? "
                             "Known loggers: tensorboard, csv, mlflow."),
    ("data=digits", "data: write this section as a mapping of keys to values (key: value lines, or "
                    "{key: value, ...}); got 'digits'."),
    ("callbacks=[TerminateOnNaN]", "callbacks[0]: write it as a mapping, e.g. {TerminateOnNaN: {}}; got 'TerminateOnNaN'."),
    ("loss_weights={dense: heavy}", "loss_weights.dense: Input should be a valid number, unable to parse string as a "
                                    "number; got 'heavy'."),
])
def test_a_value_no_alternative_of_a_key_takes_is_one_line_naming_them_all(tmp_path, override, expected):
    """One line per key, without pydantic's names of a union's alternatives ('constrained-int')."""
    path = _write(tmp_path, BASE)
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load_config(path, [override])
    assert str(err.value) == f"{path}: {expected}"


@pytest.mark.parametrize("entry, expected", [
    ("{BatchNormalization: {momentum: abc}}", "momentum must be a number, got 'abc'."),
    ("{Conv2D: {padding: same}}", "Conv2D needs the arguments filters, kernel_size; give them a value, as in "
                                  "{Conv2D: {filters: ...}}."),
    # looked up by the layer only when it is built: it said "model: Unknown initializer 'glorot'" then
    ("{Dense: {units: 4, kernel_initializer: glorot}}", "kernel_initializer: Unknown initializer 'glorot'; did you "
     "mean 'glorot_normal'? Known initializers: constant, glorot_normal, glorot_uniform, he_normal, he_uniform, "
     "identity, lecun_normal, lecun_uniform, ones, orthogonal, random_normal, random_uniform, stft, truncated_normal, "
     "variance_scaling, zeros; a custom one must be registered with @hl.saving.register_keras_serializable() "
     "before loading."),
    ("{Dropout: {rate: 2}}", "Dropout needs a rate in [0, 1) (the fraction of inputs to drop), got 2."),
])
def test_a_layer_argument_mistake_names_the_argument_not_the_check(tmp_path, entry, expected):
    path = _write(tmp_path, BASE.replace("- Flatten: {}", f"- {entry}"))
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load_config(path)
    assert str(err.value) == f"{path}: model.layers[0].{entry[1:entry.index(':')]}: {expected}"


def test_a_callback_argument_of_the_wrong_type_is_named(tmp_path):
    path = _write(tmp_path, BASE + "callbacks: [{ReduceLROnPlateau: {factor: half}}]\n")
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load_config(path)
    assert str(err.value) == f"{path}: callbacks[0].ReduceLROnPlateau: factor must be a number, got 'half'."


def test_an_npz_file_without_x_and_y_names_the_fix_a_config_can_make(tmp_path):
    """The npz source's Python fix (x_key=..., y_key=...) is no config key: the message says how to save the file."""
    np.savez(tmp_path / "data.npz", images=np.zeros((4, 8, 8, 1), np.float32), labels=np.zeros(4, np.int64))
    path = _write(tmp_path, BASE.replace("source: digits", f"source: npz, path: {tmp_path / 'data.npz'}"))
    with pytest.raises(cfg.ConfigError) as err:
        cfg.check(path, [f"output_dir={tmp_path / 'out'}"])
    assert "x_key" not in str(err.value)
    assert str(err.value).endswith("Save the arrays under those names (np.savez(path, x=inputs, y=targets)).")
    assert not (tmp_path / "out").exists()


def test_fine_tune_unfreezing_more_blocks_than_the_network_has_is_refused_before_training(tmp_path):
    """Found by validate, not after the first phase trained into a run directory."""
    path = _write(tmp_path, """
seed: 0
data: {source: digits, limit: 40, batch_size: 16, preprocessing: {to_rgb: true, resize: [32, 32]}}
model:
  application: {MobileNetV2: {weights: null, include_top: false, pooling: avg, alpha: 0.35}}
  trainable: false
  layers: [{Dense: {units: 10}}]
optimizer: {name: adam, learning_rate: 0.001}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
trainer: {epochs: 1, verbose: 0}
fine_tune: {epochs: 1, unfreeze_top: 18}
""")
    with pytest.raises(cfg.ConfigError) as err:
        cfg.check(path, [f"output_dir={tmp_path / 'out'}"])
    assert str(err.value) == ("fine_tune.unfreeze_top: the network has 17 blocks, so the top 18 cannot be "
                              "unfrozen; give at most 17.")
    cfg.check(path, [f"output_dir={tmp_path / 'out'}", "fine_tune.unfreeze_top=17"])
    assert not (tmp_path / "out").exists()


def test_validate_without_the_fashion_mnist_files_names_the_debian_package(tmp_path, monkeypatch, capsys):
    import dataclasses
    import urllib.request
    from highlevel.datasets import fashion_mnist
    missing = tmp_path / "not-installed"
    monkeypatch.setattr(fashion_mnist, "SOURCE", dataclasses.replace(fashion_mnist.SOURCE, system_dirs=(str(missing),)))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))          # an empty cache
    monkeypatch.delenv("HIGHLEVEL_DATA", raising=False)

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["validate", "configs/fashion_mnist_cnn.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: data (fashion_mnist): Fashion-MNIST files not found") and err.count("\n") == 1
    assert f"install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist, which puts them in " \
           f"{missing})" in err and "$HIGHLEVEL_DATA/fashion_mnist" in err and "(in a config: data.path)" in err


def test_command_line(tmp_path, capsys):
    path = _write(tmp_path, BASE)
    assert main(["validate", str(path)]) == 0
    assert main(["show", str(path), "trainer.epochs=5"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["trainer"]["epochs"] == 5
    assert main(["validate", str(path), "trainer.epoch=5"]) == 2
    assert "trainer.epoch: unknown key; did you mean 'epochs'?" in capsys.readouterr().err
    run_dir = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run_dir)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir)]) == 0
    logs = json.loads(capsys.readouterr().out)
    assert logs["accuracy"] == pytest.approx(json.loads((run_dir / "metrics.json").read_text())["test"]["accuracy"])
    (_, _), (x_test, y_test) = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    np.savez(tmp_path / "some.npz", x=x_test[:7], y=y_test[:7])
    assert main(["evaluate", str(run_dir), "--data", str(tmp_path / "some.npz")]) == 0
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(tmp_path / "some.npz"), "--output", str(tmp_path / "p.npy")]) == 0
    predictions = np.load(tmp_path / "p.npy")
    model = hl.models.load_model(run_dir / "checkpoints" / "last")
    np.testing.assert_allclose(predictions, model.predict(x_test[:7], verbose=0), atol=1e-6)
    assert main(["train", "--resume", str(run_dir)]) == 2
    assert "finished already" in capsys.readouterr().err
