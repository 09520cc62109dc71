"""Gradient accumulation in fit: K micro-batches give the weights of one batch K times larger.

Also: batch-norm statistics update every batch, ``iterations`` counts applied updates,
fused steps, MultiOptimizer, ensembles, no recompilation and no host read per step. Under
DataParallel on 8 simulated devices and after a SIGKILL, in subprocesses
(``numerics_distribute_script.py``, ``numerics_resume_script.py``).
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations

REPO = Path(__file__).resolve().parents[1]


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x @ rng.standard_normal((6, 2))).astype(np.float32) + 0.1 * rng.standard_normal((n, 2)).astype(np.float32)
    return x, y


def _mlp():
    hl.utils.set_random_seed(0)
    return hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="tanh"), hl.layers.Dense(2)])


def _fit(optimizer, batch_size, epochs=2, spe=1, shuffle=True, model=None, **fit_kwargs):
    model = model or _mlp()
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=spe)
    history = model.fit(*_data(), batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0, **fit_kwargs)
    return model, history


def _assert_close(a, b, rtol=1e-5):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol * max(1.0, float(np.abs(v).max())))


@pytest.mark.parametrize("make", [lambda **k: hl.optimizers.SGD(0.1, momentum=0.9, **k),
                                  lambda **k: hl.optimizers.Adam(0.01, **k)], ids=["sgd", "adam"])
def test_k_micro_batches_equal_one_big_batch(make):
    """96 samples, 2 epochs, shuffled: 4 micro-batches of 8 per update against batches of 32."""
    big, _ = _fit(make(), batch_size=32)
    micro, _ = _fit(make(gradient_accumulation_steps=4), batch_size=8)
    _assert_close(micro.get_weights(), big.get_weights())
    assert micro.optimizer.iterations == big.optimizer.iterations == 6   # applied updates (Keras's iterations)
    assert micro.trainer.step == 24 and big.trainer.step == 6           # batches run
    fused, _ = _fit(make(gradient_accumulation_steps=4), batch_size=8, spe=4)   # 4 micro-batches per call
    for a, b in zip(fused.get_weights(), micro.get_weights()):
        np.testing.assert_array_equal(a, b)
    unaccumulated, _ = _fit(make(), batch_size=8)   # the test can fail: plain small batches differ
    assert max(float(np.abs(a - b).max()) for a, b in zip(unaccumulated.get_weights(), big.get_weights())) > 1e-3


def test_weights_move_only_every_k_batches_and_batch_norm_every_batch():
    x, y = _data()
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.BatchNormalization(momentum=0.5), hl.layers.Dense(2)])
    model.compile(optimizer=hl.optimizers.SGD(0.1, gradient_accumulation_steps=3), loss="mse")
    seen = []

    class Record(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    model.fit(x[:40], y[:40], batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
    start = seen[0]
    kernel = [s[4] for s in seen]   # Dense kernel (after gamma, beta, moving mean, moving variance)
    assert [not np.array_equal(kernel[i], kernel[i - 1]) for i in range(1, 5)] == [False, True, False, False]
    # The moving mean follows every batch (BatchNormalization is first: it depends on the data only).
    expected = np.zeros(6, np.float32)
    for i in range(5):
        expected = expected * 0.5 + x[8 * i:8 * i + 8].mean(0) * 0.5
        np.testing.assert_allclose(seen[i][2], expected, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(start[2], seen[1][2])
    assert model.optimizer.iterations == 1   # 5 batches, K=3: one update applied, 2 batches accumulated


def test_multi_optimizer_groups_accumulate():
    def train(optimizer):
        model = _mlp()
        if callable(optimizer):
            optimizer = optimizer(model)
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(*_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
        return model

    whole = train(hl.optimizers.Adam(0.01, gradient_accumulation_steps=2))
    multi = train(lambda m: hl.optimizers.MultiOptimizer([
        (hl.optimizers.Adam(0.01, gradient_accumulation_steps=2), m.layers[0]),
        (hl.optimizers.Adam(0.01, gradient_accumulation_steps=2), None)]))
    _assert_close(multi.get_weights(), whole.get_weights(), rtol=1e-6)
    assert multi.optimizer.iterations == 6


@pytest.mark.parametrize("optimizer", [
    lambda: hl.optimizers.Adam(0.01, gradient_accumulation_steps=3),
    lambda: hl.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.8),
    lambda: hl.optimizers.LossScaleOptimizer(hl.optimizers.Adam(0.01), initial_scale=256.0, dynamic_growth_steps=2),
], ids=["accumulation", "ema", "loss_scale"])
def test_ensemble_members_equal_their_solo_fits(optimizer):
    def build(i):
        return hl.Sequential([hl.Input((6,)), hl.layers.Dense(8, activation="tanh"), hl.layers.Dense(2)])

    x, y = _data()
    ens = hl.Ensemble(build, 2, seeds=[0, 1])
    ens.compile(optimizer=optimizer(), loss="mse")
    ens.fit(x, y, batch_size=8, epochs=1, shuffle=False)
    for i, seed in enumerate((0, 1)):
        hl.utils.set_random_seed(seed)
        solo = build(i)
        solo.compile(optimizer=optimizer(), loss="mse")
        solo.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        _assert_close(ens.members()[i].get_weights(), solo.get_weights(), rtol=1e-5)


@pytest.mark.parametrize("optimizer", [
    lambda: hl.optimizers.Adam(0.01, gradient_accumulation_steps=4),
    lambda: hl.optimizers.SGD(0.1, use_ema=True, ema_overwrite_frequency=3),
    lambda: hl.optimizers.LossScaleOptimizer(hl.optimizers.Adam(0.01, global_clipnorm=1.0), dynamic_growth_steps=3),
], ids=["accumulation", "ema", "loss_scale"])
def test_no_recompilation_and_no_host_read_per_step(optimizer, monkeypatch):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer=optimizer(), loss="mse", metrics=["mae"], steps_per_execution=2)
    model.fit(x, y, batch_size=8, epochs=1, validation_data=(x[:20], y[:20]), verbose=0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=8, epochs=2, validation_data=(x[:20], y[:20]), verbose=0)
        model.optimizer.learning_rate = 0.001
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert compiled == [], compiled
    reads, real = [], jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda tree: reads.append(1) or real(tree))
    counts = []
    for batch_size in (32, 8):   # 3 steps per epoch, then 12
        reads.clear()
        model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0)
        counts.append(len(reads))
    assert counts[0] == counts[1] and counts[0] > 0, counts


def test_data_parallel_on_8_devices_equals_one_big_batch(tmp_path):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, str(REPO / "tests" / "numerics_distribute_script.py")], env=env,
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["devices"] == 8
    assert out["weight_rel_diff"] < 1e-5, out        # K micro-batches on 8 devices vs big batches on one
    assert out["iterations"] == out["big_iterations"]
    assert out["kernel_devices"] == 8
    assert out["compiled_after_first_fit"] == []


# -- BackupAndRestore: killed in the middle of an accumulation cycle ------------------------------

RESUME = REPO / "tests" / "numerics_resume_script.py"


def _run(out: Path, *args: str, killed: bool = False) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    proc = subprocess.run([sys.executable, str(RESUME), str(out), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if killed:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        return {}
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return dict(data)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("reference") / "ref.npz")


# 5 steps per epoch, 3 epochs; K=2: every epoch ends in the middle of a cycle. (save_freq, kill at
# step, the step the backup holds.) The epoch-end backup holds the EMA weights swapped in by
# SwapEMAWeights(swap_on_epoch=True), to be swapped back when the resumed run starts its epoch.
_SCENARIOS = {"mid_cycle": ("3", 4, 3), "epoch_backup_with_swapped_weights": ("epoch", 7, 5)}


@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_killed_in_an_accumulation_cycle_resumes_bit_for_bit(tmp_path, uninterrupted, scenario):
    save_freq, kill, resumed_from = _SCENARIOS[scenario]
    common = ["--backup-dir", str(tmp_path / "backup"), "--save-freq", save_freq]
    _run(tmp_path / "killed.npz", *common, "--kill-at-step", str(kill), killed=True)
    resumed = _run(tmp_path / "resumed.npz", *common)
    assert resumed_from % 2 != 0   # the backup holds a half-filled accumulator
    assert int(resumed["steps"]) == 15 - resumed_from
    assert int(resumed["iterations"]) == int(uninterrupted["iterations"]) == 7
    keys = sorted(k for k in uninterrupted if k.startswith("arr_"))
    assert keys and keys == sorted(k for k in resumed if k.startswith("arr_"))
    for key in keys:
        np.testing.assert_array_equal(resumed[key], uninterrupted[key])
    np.testing.assert_array_equal(resumed["val_loss"], uninterrupted["val_loss"][-len(resumed["val_loss"]):])
