"""The learning-rate finder: its suggestion against a grid of real trainings, and a model left untouched."""

import json

import jax
import numpy as np
import pytest

import highlevel as hl
from compile_count import count_compilations
from highlevel.cli import main


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = hl.datasets.digits.load_data(test_split=0.2, seed=0)
    return x.reshape(len(x), -1).astype(np.float32), y.astype(np.int32)


def _mlp(optimizer="adam", seed=0):
    hl.utils.set_random_seed(seed)
    model = hl.Sequential([hl.Input((64,)), hl.layers.Dense(32, activation="relu"), hl.layers.Dropout(0.1),
                           hl.layers.Dense(10)])
    model.compile(optimizer=optimizer, loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_suggestion_is_within_10x_of_the_best_rate_of_a_grid(digits, optimizer):
    x, y = digits
    grid = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    final = {}
    for rate in grid:   # the reference: two epochs from the same initial weights at each rate
        model = _mlp(optimizer)
        model.optimizer.learning_rate = rate
        final[rate] = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"][-1]
    best = min(final, key=final.get)
    result = hl.utils.find_learning_rate(_mlp(optimizer), x, y, batch_size=32, num_steps=200)
    assert result.suggestion is not None
    assert best / 10 <= result.suggestion <= best * 10, (result.suggestion, final)
    assert len(result.losses) == len(result.learning_rates) == len(result.smoothed_losses)
    assert result.learning_rates[0] == pytest.approx(1e-7)
    assert np.allclose(np.diff(np.log(result.learning_rates)), np.log(10.0 / 1e-7) / 199)   # exponential


def test_the_model_weights_and_optimizer_state_are_left_exactly(digits):
    x, y = digits
    a = _mlp()
    a.fit(x, y, batch_size=64, epochs=1, verbose=0)
    before = a.trainer.snapshot()   # weights, Adam's moments, the step, the random key, the metrics
    with count_compilations() as compiled:
        result = hl.utils.find_learning_rate(a, x, y, batch_size=64, num_steps=60, max_learning_rate=100.0)
    assert compiled == ["jit(lr_finder_step)"]   # one step taking the rate as an argument; nothing else
    after = a.trainer.snapshot()
    assert len(before.leaves) == len(after.leaves)
    for u, v in zip(before.leaves + before.hyper, after.leaves + after.hyper):
        np.testing.assert_array_equal(u, v)
    assert float(a.optimizer.learning_rate) == pytest.approx(0.001)
    # Training on after the sweep is training on without it, bit for bit, and compiles nothing new.
    with count_compilations() as compiled:
        a.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert compiled == []
    b = _mlp()   # the same seed: the same weights, data order and dropout keys
    b.fit(x, y, batch_size=64, epochs=1, verbose=0)
    b.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert a.trainer.step == b.trainer.step
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert len(result.losses) == 60


def test_the_sweep_stops_when_the_loss_diverges(rng):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    result = hl.utils.find_learning_rate(model, x, y, batch_size=16, num_steps=100, max_learning_rate=1e3)
    assert result.stopped_early and result.learning_rates[-1] < 1e2   # SGD on this diverges above 1
    assert result.smoothed_losses[-1] > 4 * result.smoothed_losses.min()
    assert 1e-3 < result.suggestion < 1.0


def test_losses_are_read_every_check_every_steps(digits, monkeypatch):
    x, y = digits
    model = _mlp()
    reads = []
    real = jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda tree: reads.append(1) or real(tree))
    result = hl.utils.find_learning_rate(model, x, y, num_steps=50, check_every=10, max_learning_rate=1e-2)
    assert len(result.losses) == 50 and not result.stopped_early
    assert len(reads) == 1 + 5          # the rate's dtype once, then every 10 steps


def test_losses_equal_the_models_own_loss_at_each_step(rng):
    """The first steps redone by hand: the loss of each batch before its update, with SGD at the
    sweep's rate (the same batches, no shuffle needed with one batch)."""
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.set_weights([np.zeros((3, 1), np.float32), np.zeros(1, np.float32)])
    result = hl.utils.find_learning_rate(model, x, y, batch_size=16, num_steps=10, min_learning_rate=0.01,
                                         max_learning_rate=0.1)
    # The sweep's steps donate their own copy of the state, never the model's arrays.
    assert not any(v.get_value().is_deleted() for _, v in model.named_weights())
    assert [w.tolist() for w in model.get_weights()] == [[[0.0]] * 3, [0.0]]
    w, b = np.zeros((3, 1)), np.zeros(1)
    for rate, loss in zip(result.learning_rates, result.losses):   # NumPy, float64
        error = x @ w + b - y
        assert loss == pytest.approx(np.mean(error ** 2), rel=1e-5)
        w, b = w - rate * 2 * x.T @ error / len(x), b - rate * 2 * error.mean(0)


def test_plot_and_the_command(digits, tmp_path, capsys):
    x, y = digits
    result = hl.utils.find_learning_rate(_mlp(), x, y, num_steps=40)
    import matplotlib.pyplot as plt
    fig = result.plot(to_file=tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 0 and fig.axes[0].get_xscale() == "log"
    plt.close(fig)
    config = tmp_path / "run.yaml"
    config.write_text("""
data: {source: digits, batch_size: 32}
model: {layers: [{Flatten: {}}, {Dense: {units: 16, activation: relu}}, {Dense: {units: 10}}]}
optimizer: {name: adam, learning_rate: 0.001}
loss: {SparseCategoricalCrossentropy: {from_logits: true}}
""")
    assert main(["find-lr", str(config), "--steps", "30", "--json", "--plot", str(tmp_path / "cli.png")]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert len(answer["learning_rates"]) == 30 and (tmp_path / "cli.png").exists()
    assert main(["find-lr", str(config), "--steps", "30"]) == 0
    assert "suggested learning rate: " in capsys.readouterr().out
    assert main(["find-lr", str(config), "--steps", "3"]) == 2
    assert "num_steps must be an integer of at least 10" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()   # nothing written


def test_mistakes_are_named(digits):
    x, y = digits
    uncompiled = hl.Sequential([hl.Input((64,)), hl.layers.Dense(10)])
    with pytest.raises(RuntimeError, match="needs a compiled model: call model.compile"):
        hl.utils.find_learning_rate(uncompiled, x, y)
    with pytest.raises(ValueError, match="0 < min_learning_rate < max_learning_rate"):
        hl.utils.find_learning_rate(_mlp(), x, y, min_learning_rate=1.0, max_learning_rate=0.1)
    with pytest.raises(ValueError, match="early_stop_threshold must be a number above 1"):
        hl.utils.find_learning_rate(_mlp(), x, y, early_stop_threshold=0.5)
    scheduled = _mlp(hl.optimizers.SGD(hl.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(ValueError, match="follows a schedule: compile with a constant learning_rate"):
        hl.utils.find_learning_rate(scheduled, x, y)
    ensemble = hl.Ensemble(lambda: hl.Sequential([hl.Input((64,)), hl.layers.Dense(10)]), n=2)
    ensemble.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="sweeps one model, not a Ensemble"):
        hl.utils.find_learning_rate(ensemble, x, y)
