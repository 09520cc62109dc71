"""ModelCheckpoint and BackupAndRestore: what is saved, what survives a crash, exact resumption."""

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks.backup_and_restore import BackupAndRestore
from highlevel.callbacks.model_checkpoint import ModelCheckpoint

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("resume_script.py")
EPOCHS, STEPS_PER_EPOCH = 3, 7  # resume_script.py: 100 samples, batch 16, 3 epochs


# -- ModelCheckpoint ----------------------------------------------------------------------------

def _regression_data():
    rng = np.random.default_rng(5)  # with seed 0's weights, the best validation loss is at epoch 3 of 6
    x = rng.standard_normal((48, 8)).astype(np.float32)
    y = (x[:, :1] + 0.8 * rng.standard_normal((48, 1))).astype(np.float32)
    return (x[:32], y[:32]), (x[32:], y[32:])


def _regressor(metrics=None):
    model = hl.Sequential([hl.Input((8,)), hl.layers.Dense(64, activation="relu"), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.Adam(0.02), loss="mse", metrics=metrics)
    return model


class _EpochWeights(hl.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _assert_weights_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected):
        np.testing.assert_array_equal(a, b)


def _hidden(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    (x, y), (xv, yv) = _regression_data()
    model = _regressor()
    best_model = ModelCheckpoint(tmp_path / "best", save_best_only=True)
    best_weights = ModelCheckpoint(tmp_path / "best_weights", save_best_only=True, save_weights_only=True)
    history = model.fit(x, y, batch_size=8, epochs=6, validation_data=(xv, yv), verbose=0,
                        callbacks=[best_model, best_weights]).history
    best = int(np.argmin(history["val_loss"]))
    assert 0 < best < 5  # the best epoch is neither the first nor the last: the test can tell
    loaded = hl.models.load_model(tmp_path / "best")
    np.testing.assert_allclose(loaded.evaluate(xv, yv, batch_size=8, verbose=0), history["val_loss"][best],
                               rtol=1e-6)
    fresh = _regressor()
    fresh.load_weights(tmp_path / "best_weights")
    np.testing.assert_allclose(fresh.evaluate(xv, yv, batch_size=8, verbose=0), history["val_loss"][best],
                               rtol=1e-6)
    assert best_model.best == history["val_loss"][best]
    assert sorted(os.listdir(tmp_path)) == ["best", "best_weights"]


def test_auto_mode_maximizes_accuracy_and_threshold_blocks_worse_models(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2)])
    model.compile(optimizer=hl.optimizers.SGD(0.05),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    acc = ModelCheckpoint(tmp_path / "acc", monitor="val_accuracy", save_best_only=True)
    never = ModelCheckpoint(tmp_path / "never", monitor="val_loss", save_best_only=True,
                            initial_value_threshold=0.0)  # no loss is below 0: nothing is saved
    history = model.fit(x, y, batch_size=16, epochs=4, validation_data=(x, y), verbose=0,
                        callbacks=[acc, never]).history
    assert acc.best == max(history["val_accuracy"])
    assert min(history["val_accuracy"]) < max(history["val_accuracy"])
    assert not (tmp_path / "never").exists() and never.best == 0.0
    with pytest.raises(ValueError, match=r"monitor='val_auc'.*mode='max'.*mode='min'"):
        model.fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), verbose=0,
                  callbacks=[ModelCheckpoint(tmp_path / "auc", monitor="val_auc", save_best_only=True)])


def test_filepath_is_formatted_from_epoch_batch_and_logs(tmp_path):
    (x, y), (xv, yv) = _regression_data()
    model = _regressor()
    epoch_weights = _EpochWeights()
    by_epoch = ModelCheckpoint(str(tmp_path / "e" / "m-{epoch:02d}-{val_loss:.4f}"))
    by_batch = ModelCheckpoint(str(tmp_path / "b" / "e{epoch}-b{batch}-{loss:.3f}"), save_freq=2,
                               save_weights_only=True)
    batch_losses = []

    class BatchLoss(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_losses.append(logs["loss"])

    history = model.fit(x, y, batch_size=8, epochs=3, validation_data=(xv, yv), verbose=0,
                        callbacks=[BatchLoss(), by_epoch, by_batch, epoch_weights]).history
    assert sorted(os.listdir(tmp_path / "e")) == [f"m-{e + 1:02d}-{v:.4f}" for e, v in
                                                  enumerate(history["val_loss"])]
    # 4 steps per epoch, a save every 2: after batches 2 and 4 of each epoch (1-based).
    expected = [f"e{e}-b{b}-{batch_losses[(e - 1) * 4 + b - 1]:.3f}" for e in (1, 2, 3) for b in (2, 4)]
    assert sorted(os.listdir(tmp_path / "b")) == sorted(expected)
    for epoch in range(3):  # the checkpoint after the epoch's last batch holds the epoch-end weights
        fresh = _regressor()
        fresh.load_weights(tmp_path / "b" / expected[2 * epoch + 1])
        _assert_weights_equal(fresh.get_weights(), epoch_weights.weights[epoch])
    fresh.load_weights(tmp_path / "b" / expected[0])  # mid-epoch: not the epoch-end weights
    assert not np.array_equal(fresh.get_weights()[0], epoch_weights.weights[0][0])
    with pytest.raises(ValueError, match=r"filepath '.*\{val_acc\}'.*'val_loss'"):
        model.fit(x, y, batch_size=8, epochs=1, validation_data=(xv, yv), verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "x-{val_acc}"))])


def test_max_to_keep_deletes_the_oldest_also_after_a_state_round_trip(tmp_path):
    (x, y), _ = _regression_data()
    model = _regressor()
    cb = ModelCheckpoint(str(tmp_path / "c-{epoch}"), monitor="loss", max_to_keep=2)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path)) == ["c-4", "c-5"]
    _assert_weights_equal(hl.models.load_model(tmp_path / "c-5").get_weights(), model.get_weights())
    resumed = ModelCheckpoint(str(tmp_path / "c-{epoch}"), monitor="loss", max_to_keep=2)
    resumed.set_state(cb.get_state())
    model.fit(x, y, batch_size=8, epochs=6, initial_epoch=5, verbose=0, callbacks=[resumed])
    assert sorted(os.listdir(tmp_path)) == ["c-5", "c-6"]


def test_keras_file_names_get_the_files_model_save_writes(tmp_path):
    (x, y), (xv, yv) = _regression_data()
    model = _regressor()
    epoch_weights = _EpochWeights()
    callbacks = [
        epoch_weights,
        ModelCheckpoint(tmp_path / "best.weights.h5", save_weights_only=True, save_best_only=True),
        ModelCheckpoint(tmp_path / "best.keras", save_best_only=True),
        ModelCheckpoint(str(tmp_path / "m" / "{epoch:02d}-{val_loss:.2f}.keras")),
        ModelCheckpoint(str(tmp_path / "w" / "{epoch:02d}.weights.h5"), save_weights_only=True, max_to_keep=2),
    ]
    history = model.fit(x, y, batch_size=8, epochs=6, validation_data=(xv, yv), verbose=0,
                        callbacks=callbacks).history
    best = int(np.argmin(history["val_loss"]))
    assert 0 < best < 5
    reference = _regressor()
    reference.set_weights(epoch_weights.weights[best])
    expected = reference.predict(xv, verbose=0)
    for name in ("best.weights.h5", "best.keras"):
        assert (tmp_path / name).is_file()
    fresh = _regressor()
    fresh.load_weights(tmp_path / "best.weights.h5")
    np.testing.assert_array_equal(fresh.predict(xv, verbose=0), expected)
    loaded = hl.models.load_model(tmp_path / "best.keras")
    np.testing.assert_array_equal(loaded.predict(xv, verbose=0), expected)
    names = [f"{e + 1:02d}-{v:.2f}.keras" for e, v in enumerate(history["val_loss"])]
    assert sorted(os.listdir(tmp_path / "m")) == sorted(names)
    final = model.predict(xv, verbose=0)
    np.testing.assert_array_equal(hl.models.load_model(tmp_path / "m" / names[-1]).predict(xv, verbose=0), final)
    assert sorted(os.listdir(tmp_path / "w")) == ["05.weights.h5", "06.weights.h5"]  # max_to_keep deletes files
    fresh.load_weights(tmp_path / "w" / "06.weights.h5")
    np.testing.assert_array_equal(fresh.predict(xv, verbose=0), final)
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "m") == []  # no temporaries left
    (tmp_path / "old.keras").mkdir()  # what an older highlevel wrote for this name
    with pytest.raises(FileExistsError, match=r"saves old.keras as one file.*is a directory.*remove it"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "old.keras")])


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("failure", ["orbax_save", "rename_into_place"])
def test_interrupted_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch, failure, asynchronous):
    import orbax.checkpoint as ocp
    (x, y), _ = _regression_data()
    model = _regressor()
    target = tmp_path / "ckpt"
    calls = []
    if failure == "orbax_save":
        real_save = ocp.PyTreeCheckpointer.save

        def save(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise OSError("disk full (simulated)")
            return real_save(self, *args, **kwargs)
        monkeypatch.setattr(ocp.PyTreeCheckpointer, "save", save)
    else:
        real_replace = os.replace

        def replace(src, dst):
            if Path(dst) == target:
                calls.append(1)
                if len(calls) == 3:
                    raise OSError("disk full (simulated)")
            return real_replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)
    epoch_weights = _EpochWeights()
    with pytest.raises(OSError, match="simulated"):
        model.fit(x, y, batch_size=8, epochs=4, verbose=0,
                  callbacks=[ModelCheckpoint(target, monitor="loss", asynchronous=asynchronous), epoch_weights])
    monkeypatch.undo()
    # The third epoch's save failed: written in the background, its error is raised when the
    # next save (the fourth epoch's) waits for it.
    assert len(epoch_weights.weights) == (3 if asynchronous else 2)
    _assert_weights_equal(hl.models.load_model(target).get_weights(), epoch_weights.weights[1])
    assert os.listdir(tmp_path) == ["ckpt"]  # no stray temporary directories


def test_model_checkpoint_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"mode must be one of 'auto', 'min', 'max', got 'maximum'"):
        ModelCheckpoint("ckpt", mode="maximum")
    with pytest.raises(ValueError, match=r"save_freq='batch'.*'epoch' or a positive integer"):
        ModelCheckpoint("ckpt", save_freq="batch")
    with pytest.raises(ValueError, match=r"max_to_keep=0"):
        ModelCheckpoint("ckpt", max_to_keep=0)
    # Keras 3's rule: a whole model goes in a .keras file, weights alone in a .weights.h5 file.
    with pytest.raises(ValueError, match=r"filepath='best.weights.h5'.*without save_weights_only=True; pass "
                                         r"save_weights_only=True"):
        ModelCheckpoint("best.weights.h5")
    with pytest.raises(ValueError, match=r"save_weights_only=True with filepath='e\{epoch\}.keras'.*end the "
                                         r"filepath in '.weights.h5'"):
        ModelCheckpoint("e{epoch}.keras", save_weights_only=True)
    for name in ("model.h5", "model.hdf5"):
        with pytest.raises(ValueError, match=r"legacy HDF5 format.*end the filepath in '.keras'"):
            ModelCheckpoint(name, save_weights_only=name == "model.h5")


# -- BackupAndRestore: exact resumption after SIGKILL, in fresh processes -----------------------

def _run_script(out: Path, *args: str, killed: bool = False) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if killed:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
        assert not out.exists()
        return {}
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return dict(data)


def _weights(result: dict) -> list[np.ndarray]:
    return [result[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in result))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The final weights of a run never interrupted, without BackupAndRestore."""
    return _run_script(tmp_path_factory.mktemp("reference") / "ref.npz")


# (save_freq, how the first run dies, the global step of the backup it resumes from, what the
# killed run leaves in backup_dir). 7 steps per epoch, 21 in all.
_SCENARIOS = {
    "mid_epoch_between_backups": ("4", ["--kill-at-step", "10"], 8, ["latest"]),
    "epoch_backups": ("epoch", ["--kill-at-step", "17"], 14, ["latest"]),
    "inside_a_backup_write": ("4", ["--kill-in-write", "3"], 8, [".latest.tmp-", "latest"]),
}


@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_killed_fit_resumes_to_the_same_weights_bit_for_bit(tmp_path, uninterrupted, scenario):
    save_freq, kill, resumed_from, left = _SCENARIOS[scenario]
    backup = tmp_path / "backup"
    common = ["--backup-dir", str(backup), "--save-freq", save_freq]
    _run_script(tmp_path / "killed.npz", *common, *kill, killed=True)
    assert sorted(n[:len(".latest.old-")] if n.startswith(".") else n for n in os.listdir(backup)) == left
    resumed = _run_script(tmp_path / "resumed.npz", *common)
    total = EPOCHS * STEPS_PER_EPOCH
    assert uninterrupted["steps"] == total
    assert resumed["steps"] == total - resumed_from  # it continued from the backup, not from scratch
    assert resumed["epochs"] == EPOCHS - resumed_from // STEPS_PER_EPOCH
    np.testing.assert_array_equal(resumed["val_loss"], uninterrupted["val_loss"][-int(resumed["epochs"]):])
    _assert_weights_equal(_weights(resumed), _weights(uninterrupted))
    assert not backup.exists()  # deleted when fit finished (delete_checkpoint=True)


def test_a_run_stopped_early_and_killed_before_its_end_resumes_to_the_stop(tmp_path):
    """EarlyStopping-like: stop_training set at an epoch end, the process dies before on_train_end."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)).astype(np.float32), rng.integers(0, 3, 40)

    class StopAfterSecondEpoch(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    class DieAtTrainEnd(hl.callbacks.Callback):
        def on_train_end(self, logs=None):
            raise RuntimeError("killed")

    def run(*extra):
        hl.utils.set_random_seed(0)
        model = _classifier()
        history = model.fit(x, y, batch_size=8, epochs=4, verbose=0,
                            callbacks=[StopAfterSecondEpoch(), *extra])
        return model, history.history

    reference, ref_history = run()
    assert len(ref_history["loss"]) == 2
    with pytest.raises(RuntimeError, match="killed"):
        run(DieAtTrainEnd(), BackupAndRestore(tmp_path / "bk"))
    assert os.listdir(tmp_path / "bk") == ["latest"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DieAtTrainEnd is gone, but it had no state to lose
        resumed, history = run(BackupAndRestore(tmp_path / "bk"))
    assert history == {}  # nothing left to train: the interrupted run had stopped
    _assert_weights_equal(resumed.get_weights(), reference.get_weights())
    assert not (tmp_path / "bk").exists()


class _RaiseAt(hl.callbacks.Callback):
    """Counts the batches run; interrupts fit with an exception after the n-th (an in-process kill)."""

    def __init__(self, n):
        super().__init__()
        self.n, self.seen = n, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.n:
            raise RuntimeError("interrupted")


class _Counter(hl.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def get_state(self):
        return {"count": self.count}

    def set_state(self, state):
        self.count = state["count"]

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1


def _train_bn_model(*callbacks, steps_per_execution=1):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((100, 6)).astype(np.float32), rng.integers(0, 3, 100)
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.BatchNormalization(), hl.layers.Dropout(0.3), hl.layers.Dense(3)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=list(callbacks))
    return model


def test_resumes_exactly_with_fused_steps_and_restores_callback_state(tmp_path):
    reference = _train_bn_model(steps_per_execution=3)  # 7 batches an epoch: 3 executions
    with pytest.raises(RuntimeError, match="interrupted"):
        _train_bn_model(_Counter(), _RaiseAt(5), BackupAndRestore(tmp_path / "bk", save_freq=2),
                        steps_per_execution=3)  # the last backup: after 4 executions
    counter, run_now = _Counter(), _RaiseAt(None)
    resumed = _train_bn_model(counter, run_now, BackupAndRestore(tmp_path / "bk", save_freq=2),
                              steps_per_execution=3)
    assert (counter.count, run_now.seen) == (9, 5)  # 4 executions restored from the backup, 5 run now
    _assert_weights_equal(resumed.get_weights(), reference.get_weights())


def test_early_stopping_and_its_best_weights_survive_a_resume(tmp_path):
    from highlevel.callbacks.early_stopping import EarlyStopping

    def stopper():  # the loss never improves by 10: best weights from epoch 0, stop after epoch 2
        return EarlyStopping(monitor="loss", min_delta=10.0, patience=2, restore_best_weights=True)

    reference_stop = stopper()
    reference = _train_bn_model(reference_stop)
    assert reference_stop.stopped_epoch == 2
    with pytest.raises(RuntimeError, match="interrupted"):
        _train_bn_model(stopper(), _RaiseAt(10), BackupAndRestore(tmp_path / "bk", save_freq=4))
    stop = stopper()
    resumed = _train_bn_model(stop, BackupAndRestore(tmp_path / "bk", save_freq=4))  # from step 8, epoch 1
    assert stop.stopped_epoch == 2
    _assert_weights_equal(resumed.get_weights(), reference.get_weights())


def test_backups_and_restores_make_no_implicit_device_to_host_copies(tmp_path):
    import jax
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    model = _classifier()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for save_freq in (3, "epoch"):
        with jax.transfer_guard_device_to_host("disallow"):  # explicit, batched copies only
            model.fit(x, y, batch_size=8, epochs=2, verbose=0,
                      callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq, delete_checkpoint=False)])
            assert os.listdir(tmp_path) == ["latest"]
            model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


def test_a_backup_moved_aside_by_a_crash_between_two_renames_is_used(tmp_path):
    reference = _train_bn_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        _train_bn_model(_Counter(), _RaiseAt(10), BackupAndRestore(tmp_path / "bk", save_freq=4))
    # What a kill between the renames of the next write leaves: the last backup moved aside,
    # the new one (maybe unfinished) not yet in place.
    os.replace(tmp_path / "bk" / "latest", tmp_path / "bk" / ".latest.old-0123abcd")
    (tmp_path / "bk" / ".latest.tmp-4567cdef" / "arrays").mkdir(parents=True)
    counter, run_now = _Counter(), _RaiseAt(None)
    resumed = _train_bn_model(counter, run_now, BackupAndRestore(tmp_path / "bk", save_freq=4))
    assert (counter.count, run_now.seen) == (21, 13)  # resumed from the backup at step 8
    _assert_weights_equal(resumed.get_weights(), reference.get_weights())
    assert not (tmp_path / "bk").exists()


def test_a_callback_missing_on_resume_is_reported(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    _classifier().fit(x, y, batch_size=8, epochs=1, verbose=0,
                      callbacks=[_Counter(), BackupAndRestore(tmp_path / "bk", delete_checkpoint=False)])
    with pytest.warns(UserWarning, match=r"callbacks \['_Counter:0'\] that this fit does not have"):
        _classifier().fit(x, y, batch_size=8, epochs=2, verbose=0,
                          callbacks=[BackupAndRestore(tmp_path / "bk", delete_checkpoint=False)])
    assert os.listdir(tmp_path / "bk") == ["latest"]  # kept: delete_checkpoint=False


# -- BackupAndRestore: errors ------------------------------------------------------------------

def _classifier(hidden=16, optimizer="adam"):
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(hidden, activation="relu"), hl.layers.Dense(3)])
    model.compile(optimizer=optimizer, loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.mark.parametrize("other", [{"hidden": 8}, {"optimizer": "sgd"}])
def test_backup_of_another_model_or_optimizer_is_refused(tmp_path, other):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    _classifier().fit(x, y, batch_size=8, epochs=1, verbose=0,
                      callbacks=[BackupAndRestore(tmp_path / "bk", delete_checkpoint=False)])
    assert sorted(os.listdir(tmp_path / "bk")) == ["latest"]
    with pytest.raises(ValueError, match=r"written by a different model or optimizer.*Delete .*bk to start"):
        _classifier(**other).fit(x, y, batch_size=8, epochs=2, verbose=0,
                                 callbacks=[BackupAndRestore(tmp_path / "bk")])
    assert sorted(os.listdir(tmp_path / "bk")) == ["latest"]  # the refused backup is left alone


def test_backup_dir_holding_other_files_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds files it did not write \(notes.txt\).*another backup_dir"):
        _classifier().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path)])
    assert os.listdir(tmp_path) == ["notes.txt"]
    with pytest.raises(ValueError, match=r"save_freq=0.*'epoch' or a positive integer"):
        BackupAndRestore(tmp_path / "bk", save_freq=0)
