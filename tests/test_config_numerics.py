"""YAML keys for the training numerics: trainer.mixed_precision, the optimizer's accumulation,
EMA, clipping and loss-scale arguments, LossScaleOptimizer and SwapEMAWeights, with key paths."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import highlevel as hl
from highlevel import config as cfg

BASE = """
seed: 0
data: {source: digits, batch_size: 32, limit: 256}
model:
  layers:
    - Conv2D: {filters: 4, kernel_size: 3, activation: relu}
    - Flatten: {}
    - Dense: {units: 10}
optimizer: {name: adam, learning_rate: 0.01, gradient_accumulation_steps: 2, use_ema: true,
            ema_momentum: 0.9, global_clipnorm: 1.0}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
metrics: [accuracy]
callbacks: [{SwapEMAWeights: {swap_on_epoch: false}}]
trainer: {epochs: 2, verbose: 0, mixed_precision: mixed_bfloat16}
"""


@pytest.fixture(autouse=True)
def _float32_after():
    yield
    hl.mixed_precision.set_global_policy("float32")


def _write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_a_config_trains_with_every_numerics_key(tmp_path):
    run_dir = cfg.train(_write(tmp_path, BASE), [f"output_dir={tmp_path}"])
    assert hl.mixed_precision.global_policy().name == "float32"   # set only while the model was built
    model = hl.models.load_model(run_dir / "checkpoints" / "last")
    assert [layer.dtype_policy.name for layer in model.layers] == ["mixed_bfloat16"] * 3
    assert model.layers[0].kernel.get_value().dtype == jnp.float32
    opt = model.optimizer
    assert (opt.gradient_accumulation_steps, opt.use_ema, opt.ema_momentum, opt.global_clipnorm) == (2, True, 0.9, 1.0)
    assert hl.optimizers.has_ema(model.trainer.optimizer_state)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["test"]["loss"] < metrics["history"]["loss"][0] * 2
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8, 1), np.float32))
    predictions = np.load(cfg.predict(run_dir, tmp_path / "x.npy"))   # bfloat16 outputs, saved as float32
    assert predictions.dtype == np.float32 and predictions.shape == (3, 10)


def test_mixed_float16_and_a_loss_scale_optimizer_from_yaml(tmp_path):
    text = BASE.replace("mixed_precision: mixed_bfloat16", "mixed_precision: mixed_float16").replace(
        "callbacks: [{SwapEMAWeights: {swap_on_epoch: false}}]", "")
    _, model = cfg.run._prepare(cfg.load_config(_write(tmp_path, text)))
    assert isinstance(model.optimizer, hl.optimizers.LossScaleOptimizer)   # added by compile for float16
    text = BASE.replace("""optimizer: {name: adam, learning_rate: 0.01, gradient_accumulation_steps: 2, use_ema: true,
            ema_momentum: 0.9, global_clipnorm: 1.0}""", """optimizer: {name: LossScaleOptimizer, initial_scale: 1024,
            dynamic_growth_steps: 10, inner_optimizer: {name: sgd, learning_rate: 0.1, use_ema: true}}""")
    _, model = cfg.run._prepare(cfg.load_config(_write(tmp_path, text)))
    assert isinstance(model.optimizer, hl.optimizers.LossScaleOptimizer)
    assert (model.optimizer.initial_scale, model.optimizer.dynamic_growth_steps) == (1024.0, 10)
    assert isinstance(model.optimizer.inner_optimizer, hl.optimizers.SGD) and model.optimizer.inner_optimizer.use_ema


@pytest.mark.parametrize("old, new, match", [
    ("mixed_precision: mixed_bfloat16", "mixed_precision: bf16",
     r"trainer\.mixed_precision: .*'float32', 'mixed_bfloat16' or 'mixed_float16'"),
    ("gradient_accumulation_steps: 2", "gradient_accumulation_steps: 1",
     r"optimizer\.gradient_accumulation_steps: must be an integer >= 2 \(or null\), got 1"),
    ("gradient_accumulation_steps: 2", "gradient_accumulation_steps: 2.5",
     r"optimizer\.gradient_accumulation_steps: must be an integer >= 2"),
    ("ema_momentum: 0.9", "ema_momentum: 1.5", r"optimizer\.ema_momentum: must be a number in \[0, 1\], got 1.5"),
    ("use_ema: true", "use_ema: yes please", r"optimizer\.use_ema: must be true or false"),
    ("global_clipnorm: 1.0", "global_clipnorm: 1.0, clipvalue: 0.5",
     r"optimizer: set only one of clipnorm, clipvalue and global_clipnorm"),
    ("global_clipnorm: 1.0", "global_clipnorm: -1", r"optimizer\.global_clipnorm: must be a number > 0"),
    ("use_ema: true", "use_ema: false", r"callbacks\[0\]\.SwapEMAWeights: .*needs use_ema: true"),
    ("ema_momentum: 0.9", "ema_momentun: 0.9", r"optimizer: Adam has no argument 'ema_momentun'; did you mean "
                                              r"'ema_momentum'\?"),
    ("{SwapEMAWeights: {swap_on_epoch: false}}", "{SwapEMAWeights: {swap_on_epoch: 3}}",
     r"callbacks\[0\]\.SwapEMAWeights: .*swap_on_epoch must be True or False, got 3"),
    ("{name: adam, learning_rate: 0.01,", "{name: LossScaleOptimizer, initial_scale: 0, inner_optimizer: "
                                          "{name: adam, learning_rate: 0.01,",
     r"optimizer\.initial_scale: must be a number > 0, got 0"),
    ("{name: adam, learning_rate: 0.01,", "{name: LossScaleOptimizer, inner_optimizer: {name: adamm, "
                                          "learning_rate: 0.01,", r"optimizer\.inner_optimizer: unknown optimizer"),
])
def test_validate_names_the_key_and_the_allowed_values(tmp_path, old, new, match):
    text = BASE.replace(old, new)
    if "inner_optimizer" in new:   # close the inner mapping
        text = text.replace("global_clipnorm: 1.0}", "global_clipnorm: 1.0}}")
    assert text != BASE
    with pytest.raises(cfg.ConfigError, match=match):
        cfg.load_config(_write(tmp_path, text))


def _validation_split(run_dir):
    """The run's validation rows, as fit splits them off (Keras's rule: the last fraction)."""
    config = cfg.run.run_config(run_dir)
    data = cfg.build.build_data(config.data, config.seed)
    split_at = int(len(data.x_train) * (1.0 - config.trainer.validation_split))
    return data.x_train[split_at:], data.y_train[split_at:]


@pytest.mark.parametrize("callbacks", ["[{SwapEMAWeights: {swap_on_epoch: false}}]", "[]",
                                       "[{SwapEMAWeights: {swap_on_epoch: true}}]"],
                         ids=["validated-with-averages", "validated-with-trained-weights", "swap-on-epoch"])
def test_an_ema_runs_checkpoints_hold_the_weights_its_numbers_came_from(tmp_path, callbacks):
    text = BASE.replace("callbacks: [{SwapEMAWeights: {swap_on_epoch: false}}]", f"callbacks: {callbacks}")
    run_dir = cfg.train(_write(tmp_path, text), [f"output_dir={tmp_path}", "trainer.validation_split=0.25"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # checkpoints/last: the weights fit ended with (their moving averages), metrics.json's test numbers.
    assert cfg.evaluate(run_dir) == metrics["test"]
    # checkpoints/best: the weights its val_loss was computed with (the averages under SwapEMAWeights).
    x_val, y_val = _validation_split(run_dir)
    best = hl.models.load_model(run_dir / "checkpoints" / "best")
    val_loss = best.evaluate(x_val, y_val, batch_size=32, verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(min(metrics["history"]["val_loss"]), rel=1e-6)


def test_an_ema_run_interrupted_after_an_epoch_resumes_to_the_same_run(tmp_path, monkeypatch):
    path = _write(tmp_path, BASE.replace("epochs: 2", "epochs: 3"))
    overrides = ["trainer.validation_split=0.25"]
    reference = cfg.train(path, overrides + [f"output_dir={tmp_path / 'ref'}"])

    class Crash(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("simulated crash after epoch 2")

    from highlevel.config import run as run_module
    real = run_module.build_callbacks
    monkeypatch.setattr(run_module, "build_callbacks", lambda entries, d: real(entries, d) + [Crash()])
    with pytest.raises(KeyboardInterrupt):
        cfg.train(path, overrides + [f"output_dir={tmp_path / 'crashed'}"])
    monkeypatch.setattr(run_module, "build_callbacks", real)
    (crashed,) = (tmp_path / "crashed").iterdir()
    cfg.resume(crashed)
    for which in ("best", "last"):
        ours, theirs = (hl.models.load_model(d / "checkpoints" / which) for d in (crashed, reference))
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(*(jax.tree_util.tree_leaves(m.trainer.optimizer_state) for m in (ours, theirs))):
            np.testing.assert_array_equal(a, b)
    ours, theirs = (json.loads((d / "metrics.json").read_text()) for d in (crashed, reference))
    assert ours["history"] == theirs["history"] and ours["test"] == theirs["test"]
