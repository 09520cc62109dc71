"""hl.Ensemble: members trained under one jax.vmap equal the same models trained alone."""

import numpy as np
import pytest

import highlevel as hl
from highlevel.models.ensemble import Ensemble
from tests.compile_count import count_compilations

LOSS = "sparse_categorical_crossentropy"


def _mlp(dropout: float = 0.0):
    layers = [hl.Input((8,)), hl.layers.Dense(16, activation="relu")]
    if dropout:
        layers.append(hl.layers.Dropout(dropout))
    layers.append(hl.layers.Dense(3, activation="softmax"))
    return hl.Sequential(layers)


def _functional():
    x = hl.Input((8,))
    h = hl.layers.Dense(16, activation="tanh")(x)
    return hl.Model(x, hl.layers.Dense(3, activation="softmax")(h))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 8)).astype(np.float32)  # 70 = 4 full batches of 16 and a padded one
    return x, rng.integers(0, 3, size=70)


def _solo(build, seed, x, y, *, lr=0.01, epochs=2, shuffle=False):
    hl.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=hl.optimizers.Adam(lr), loss=LOSS, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=shuffle, verbose=0)
    return model, history


def _assert_same_weights(a, b, atol=1e-5):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=atol, rtol=0)


@pytest.mark.parametrize("build, dropout", [(_mlp, 0.0), (_functional, 0.0), (lambda: _mlp(0.3), 0.3)],
                         ids=["sequential", "functional", "dropout"])
def test_members_equal_solo_runs(data, build, dropout):
    # Dropout masks match too: each member's train-state key is the one its solo fit draws.
    x, y = data
    seeds = [3, 11]
    ens = Ensemble(build, n=2, seeds=seeds)
    ens.compile(optimizer=hl.optimizers.Adam(0.01), loss=LOSS, metrics=["accuracy"])
    history = ens.fit(x, y, batch_size=16, epochs=2, shuffle=False)
    for i, (seed, member) in enumerate(zip(seeds, ens.members())):
        solo, solo_history = _solo(build, seed, x, y)
        _assert_same_weights(member, solo)
        np.testing.assert_allclose(history.history[f"loss_{i}"], solo_history.history["loss"], atol=1e-5)
    np.testing.assert_allclose(history.history["loss"],
                               np.mean([history.history[f"loss_{i}"] for i in range(2)], axis=0), atol=1e-6)


def test_initial_weights_follow_seeds_and_keep_global_seed():
    hl.utils.set_random_seed(42)
    ens = Ensemble(lambda i: _mlp(), n=2, seeds=[5, 9])
    after = hl.utils.random.seed_from_global()
    hl.utils.set_random_seed(42)
    assert after == hl.utils.random.seed_from_global()  # the global seed stream is untouched
    for seed, member in zip([5, 9], ens.members()):
        hl.utils.set_random_seed(seed)
        _assert_same_weights(member, _mlp(), atol=0)


def test_shuffle_per_member_equals_solo_shuffled_runs(data):
    x, y = data
    ens = Ensemble(_mlp, n=2)
    ens.compile(optimizer=hl.optimizers.Adam(0.01), loss=LOSS)
    ens.fit(x, y, batch_size=16, epochs=2, shuffle=True, shuffle_per_member=True)
    for seed, member in zip(range(2), ens.members()):
        solo, _ = _solo(_mlp, seed, x, y, shuffle=True)
        _assert_same_weights(member, solo)


def test_learning_rate_sweep_equals_solo_runs(data):
    x, y = data
    lrs = [0.1, 0.01, 0.001]
    ens = Ensemble(_mlp, n=3, seeds=[0, 0, 0])
    ens.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"], learning_rate=lrs)
    ens.fit(x, y, batch_size=16, epochs=2, shuffle=False)
    for lr, member in zip(lrs, ens.members()):
        solo, _ = _solo(_mlp, 0, x, y, lr=lr)
        _assert_same_weights(member, solo)
        assert member.optimizer.learning_rate == pytest.approx(lr)


def test_one_compilation_for_the_ensemble_train_step(data):
    x, y = data
    ens = Ensemble(_mlp, n=4)
    ens.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"], learning_rate=[0.1, 0.01, 0.001, 0.0])
    with count_compilations() as compiled:
        ens.fit(x, y, batch_size=16, epochs=2, shuffle=True)  # includes a padded last batch
        ens.fit(x, y, batch_size=16, epochs=1, shuffle=False)
    assert [name for name in compiled if "ensemble_train_step" in name] == ["jit(ensemble_train_step_shared)"]
    assert not [name for name in compiled if "train_step" in name and "ensemble" not in name]


def test_predict_mean_and_evaluate(data):
    x, y = data
    ens = Ensemble(_mlp, n=3)
    ens.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    ens.fit(x, y, batch_size=16, epochs=1, validation_data=(x, y))
    preds = ens.predict(x, batch_size=16)
    assert preds.shape == (3, 70, 3)
    np.testing.assert_allclose(ens.predict_mean(x), preds.mean(axis=0), atol=1e-6)
    for p, member in zip(preds, ens.members()):
        np.testing.assert_allclose(p, member.predict(x, verbose=0), atol=1e-6)
    logs = ens.evaluate(x, y, batch_size=16)
    for i, member in enumerate(ens.members()):
        loss, acc = member.evaluate(x, y, batch_size=16, verbose=0)
        assert logs[f"loss_{i}"] == pytest.approx(loss, abs=1e-5)
        assert logs[f"accuracy_{i}"] == pytest.approx(acc, abs=1e-6)
    mean = preds.mean(axis=0)
    expected = -np.mean(np.log(np.clip(mean[np.arange(70), y], 1e-7, 1.0)))
    assert logs["ensemble_loss"] == pytest.approx(expected, abs=1e-5)
    assert logs["ensemble_accuracy"] == pytest.approx(np.mean(mean.argmax(-1) == y), abs=1e-6)
    assert logs["loss"] == pytest.approx(np.mean([logs[f"loss_{i}"] for i in range(3)]), abs=1e-6)


def test_single_member_and_members_usable_alone(data):
    x, y = data
    ens = Ensemble(_mlp, n=1)
    ens.compile(optimizer="sgd", loss=LOSS)
    ens.fit(x, y, batch_size=16, epochs=1, shuffle=False)
    member = ens.members()[0]
    member.fit(x, y, batch_size=16, epochs=1, verbose=0)  # trains on its own
    np.testing.assert_allclose(ens.predict(x)[0], member.predict(x, verbose=0), atol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"Ensemble needs n >= 1 members, got n=0\."):
        Ensemble(_mlp, n=0)
    with pytest.raises(ValueError, match="got 2 seeds for n=3 members"):
        Ensemble(_mlp, n=3, seeds=[1, 2])
    ens = Ensemble(_mlp, n=3)
    with pytest.raises(ValueError, match=r"got 2 learning rates for n=3 members; pass one learning rate per member"):
        ens.compile(optimizer="adam", loss=LOSS, learning_rate=[0.1, 0.2])
    with pytest.raises(RuntimeError, match=r"call ensemble.compile\(optimizer=..., loss=...\) before fit"):
        ens.fit(np.zeros((4, 8)), np.zeros(4))
    with pytest.raises(TypeError, match="must return an hl model"):
        Ensemble(lambda: "model", n=2)
    shapes = iter([4, 5])
    mixed = Ensemble(lambda: hl.Sequential([hl.Input((8,)), hl.layers.Dense(next(shapes))]), n=2)
    mixed.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="member 1 has different weights"):
        mixed.fit(np.zeros((4, 8)), np.zeros((4, 4)))


# -- the ensemble runs through the trainer's one loop: callbacks and fused steps --------------------

def test_fused_steps_equal_one_step_a_call(data):
    x, y = data
    runs = []
    for spe in (1, 4):
        ens = Ensemble(_mlp, n=2, seeds=[3, 4])
        ens.compile(optimizer=hl.optimizers.Adam(0.01), loss=LOSS, metrics=["accuracy"], steps_per_execution=spe)
        history = ens.fit(x, y, batch_size=16, epochs=2, shuffle=True)
        runs.append((ens.get_weights(), history.history))
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(runs[0][1]["loss_1"], runs[1][1]["loss_1"], atol=1e-6)


def test_early_stopping_on_one_member_and_csv_per_member(data, tmp_path):
    x, y = data
    ens = Ensemble(_mlp, n=2)
    ens.compile(optimizer=hl.optimizers.SGD(0.0), loss=LOSS, metrics=["accuracy"], learning_rate=[0.0, 0.05])
    csv = tmp_path / "log.csv"
    stop = hl.callbacks.EarlyStopping(monitor="val_loss_0", patience=1)   # member 0 never learns (rate 0)
    history = ens.fit(x, y, batch_size=16, epochs=10, validation_data=(x, y),
                      callbacks=[stop, hl.callbacks.CSVLogger(str(csv))])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1
    header = csv.read_text().splitlines()[0].split(",")
    for key in ("loss", "loss_0", "loss_1", "accuracy_1", "val_loss", "val_loss_1", "val_ensemble_loss"):
        assert key in header
    assert ens.trainer.metric_direction("accuracy_1") == "up"
    assert ens.trainer.metric_direction("ensemble_loss") == ens.trainer.metric_direction("loss_1") == "down"
    assert ens.trainer.metric_direction("no_such_metric") is None


def test_tensorboard_logs_each_member_and_the_average(data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    x, y = data
    ens = Ensemble(_mlp, n=2)
    ens.compile(optimizer="adam", loss=LOSS)
    ens.fit(x, y, batch_size=16, epochs=2, callbacks=[hl.callbacks.TensorBoard(str(tmp_path))])
    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"epoch_loss", "epoch_loss_0", "epoch_loss_1"} <= set(tags)
    assert [e.step for e in events.Scalars("epoch_loss_1")] == [0, 1]


def _run_ensemble_script(out, csv, *args, killed=False):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).with_name("ensemble_resume_script.py")
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    proc = subprocess.run([sys.executable, str(script), str(out), str(csv), *args], env=env,
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    if killed:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        return None
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as result:
        return dict(result)


def test_a_killed_ensemble_fit_resumes_bit_for_bit(tmp_path):
    """BackupAndRestore (every 5 steps), EarlyStopping on member 1 and CSVLogger: killed at step 17
    (mid-epoch 2, backed up at step 15), run again, it ends as the run never interrupted."""
    reference = _run_ensemble_script(tmp_path / "ref.npz", tmp_path / "ref.csv")
    backup = tmp_path / "backup"
    _run_ensemble_script(tmp_path / "killed.npz", tmp_path / "run.csv", "--backup-dir", str(backup),
                         "--kill-at-step", "17", killed=True)
    resumed = _run_ensemble_script(tmp_path / "resumed.npz", tmp_path / "run.csv", "--backup-dir", str(backup))
    weights = sorted(k for k in reference if k.startswith("arr_"))
    assert len(weights) == 12   # 3 members, 4 arrays each
    for key in weights:
        np.testing.assert_array_equal(resumed[key], reference[key])
    assert resumed["steps"] == reference["steps"] - 15   # it went on from the backup, not from scratch
    assert (tmp_path / "run.csv").read_text() == (tmp_path / "ref.csv").read_text()
