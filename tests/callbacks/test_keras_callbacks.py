"""Keras's callbacks (EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, CSVLogger,
TerminateOnNaN, LambdaCallback): hand-checked rules, Keras itself as the oracle, real fits."""

import csv
import itertools
import json
from collections.abc import Mapping
from types import SimpleNamespace

import jax
import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks.csv_logger import CSVLogger
from highlevel.callbacks.early_stopping import EarlyStopper, EarlyStopping
from highlevel.callbacks.lambda_callback import LambdaCallback
from highlevel.callbacks.learning_rate_scheduler import LearningRateScheduler
from highlevel.callbacks.reduce_lr_on_plateau import PlateauDetector, ReduceLROnPlateau
from highlevel.callbacks.terminate_on_nan import TerminateOnNaN
from highlevel.training.callback import CallbackList
from tests.compile_count import count_compilations


def _regression(rng, n=64):
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [2.0], [-1.0]], np.float32)
    return x, y


def _linear(lr=0.1):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=hl.optimizers.SGD(lr), loss="mse")
    return model


class _Float32Optimizer:
    """Stands in for an optimizer whose rate lives in a float32 array, as highlevel's and Keras's do."""

    def __init__(self, lr):
        self.learning_rate = lr

    @property
    def learning_rate(self):
        return float(self._lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = np.float32(value)


@pytest.fixture(scope="module")
def keras_model():
    import keras
    with jax.numpy_rank_promotion("allow"):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    return model


def _drive(callback, model, values, monitor="val_loss"):
    """Feeds ``values`` as the epoch logs; returns the epoch at which training was stopped."""
    model.stop_training = False
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            return epoch
    return None


# -- EarlyStopping -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, values, stop, best, best_epoch", [
    ({"patience": 2}, [1.0, 0.8, 0.9, 0.85, 0.95, 0.7], 3, 0.8, 1),
    ({"patience": 0}, [3.0, 2.0, 2.0, 1.0], 2, 2.0, 1),               # a tie is no improvement
    ({"patience": 2, "min_delta": 0.5}, [3.0, 2.6, 2.0, 1.8, 1.7], 4, 2.0, 2),
    ({"patience": 1, "mode": "max"}, [0.5, 0.6, 0.6, 0.7], 2, 0.6, 1),
    ({"patience": 2}, [0.9, 0.8, 0.8], None, 0.8, 1),
    ({"patience": 2, "baseline": 0.5}, [0.9, 0.8, 0.8], 2, 0.8, 1),   # never beat the baseline
    ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 3.5, 3.0], 3, 3.0, 2),
])
def test_early_stopper_hand_checked(kwargs, values, stop, best, best_epoch):
    stopper = EarlyStopper(**{"mode": "min", **kwargs})
    stopped = None
    for epoch, value in enumerate(values):
        if stopper.update(value).should_stop:
            stopped = epoch
            break
    assert stopped == stop
    assert (stopper.best, stopper.best_epoch) == (best, best_epoch)
    if stop is not None:
        assert stopper.stopped_epoch == stop


def test_early_stopping_matches_keras(keras_model):
    import keras
    rng = np.random.default_rng(1)
    grid = itertools.product([0, 1, 3], [0.0, 0.25], [None, 1.0], [0, 2], ["min", "max"])
    for patience, min_delta, baseline, start, mode in grid:
        # Quarter steps: exact in float32 (Keras compares there) and float64, ties included.
        values = list(rng.integers(0, 12, 12) / 4.0)
        kwargs = dict(monitor="val_loss", patience=patience, min_delta=min_delta, baseline=baseline,
                      start_from_epoch=start, mode=mode)
        ours = EarlyStopping(**kwargs)
        theirs = keras.callbacks.EarlyStopping(**kwargs)
        with jax.numpy_rank_promotion("allow"):
            expected = _drive(theirs, keras_model, values)
        got = _drive(ours, SimpleNamespace(stop_training=False), values)
        assert got == expected, (kwargs, values)
        assert (ours.stopped_epoch, ours.best_epoch, ours.wait) == \
               (theirs.stopped_epoch, theirs.best_epoch, theirs.wait), (kwargs, values)
        assert ours.best == pytest.approx(float(theirs.best))


def test_early_stopping_in_fit_restores_best_weights(rng, keras_model):
    import keras
    x, y = _regression(rng)
    val = (x, 0.5 * y)  # fitting y first approaches, then overshoots the validation targets
    histories = {}
    for restore in (True, False):
        hl.utils.set_random_seed(0)
        model = _linear()
        stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=restore)
        history = model.fit(x, y, batch_size=64, epochs=30, validation_data=val, callbacks=[stop], verbose=0)
        val_loss = history.history["val_loss"]
        histories[restore] = val_loss
        best = int(np.argmin(val_loss))
        assert 0 < best < len(val_loss) - 1, val_loss            # val_loss fell, then rose
        assert len(val_loss) == best + 2 + 1 and stop.stopped_epoch == best + 2
        assert stop.best_epoch == best and stop.best == val_loss[best]
        after = model.evaluate(*val, batch_size=64, verbose=0)
        np.testing.assert_allclose(after, val_loss[best] if restore else val_loss[-1], rtol=1e-6)
        # Keras stops at the same epoch on the same values.
        with jax.numpy_rank_promotion("allow"):
            assert _drive(keras.callbacks.EarlyStopping(patience=2), keras_model, val_loss) == len(val_loss) - 1
    assert histories[True] == histories[False]
    assert histories[True][-1] > min(histories[True]) * 1.5


def test_early_stopping_state_round_trips_through_json():
    values = [1.0, 0.8, 0.9, 0.7, 0.75, 0.8, 0.9]
    uninterrupted = EarlyStopping(patience=2)
    expected = _drive(uninterrupted, SimpleNamespace(stop_training=False), values)
    first = EarlyStopping(patience=2)
    _drive(first, SimpleNamespace(stop_training=False), values[:3])
    first.best_weights = [np.arange(3.0), np.ones((2, 2))]
    state = json.loads(json.dumps(first.get_state()))
    assert state == {"best": 0.8, "best_epoch": 1, "wait": 1, "stopped_epoch": 0, "mode": "min"}
    resumed = EarlyStopping(patience=2)
    model = SimpleNamespace(stop_training=False)
    resumed.set_model(model)
    resumed.on_train_begin()
    resumed.set_state(state)
    resumed.set_arrays(first.get_arrays())
    stopped = None
    for epoch in range(3, len(values)):
        resumed.on_epoch_end(epoch, {"val_loss": values[epoch]})
        if model.stop_training:
            stopped = epoch
            break
    assert stopped == expected == 5
    assert resumed.get_state() == uninterrupted.get_state()
    np.testing.assert_array_equal(resumed.get_arrays()[1], np.ones((2, 2)))
    assert EarlyStopping().get_arrays() == []


def test_early_stopping_and_plateau_resume_through_backup_and_restore(rng, tmp_path):
    from highlevel.callbacks.backup_and_restore import BackupAndRestore
    x, y = _regression(rng)

    def run(backup=None, crash_at=None):
        hl.utils.set_random_seed(0)
        model = _linear()
        stop = EarlyStopping(patience=2, restore_best_weights=True)
        callbacks = [stop, ReduceLROnPlateau(patience=1, factor=0.5, min_delta=0.0)]
        if crash_at is not None:
            def crash(epoch, logs):
                if epoch == crash_at:
                    raise RuntimeError("preempted")
            callbacks.insert(0, LambdaCallback(on_epoch_begin=crash))
        if backup is not None:
            callbacks.append(BackupAndRestore(backup))
        history = model.fit(x, y, batch_size=64, epochs=30, validation_data=(x, 0.5 * y), callbacks=callbacks,
                            verbose=0)
        return history.history, model.get_weights(), stop.get_state()

    history, weights, state = run()
    with pytest.raises(RuntimeError, match="preempted"):
        run(tmp_path / "backup", crash_at=4)                  # after the best epoch (3)
    resumed_history, resumed_weights, resumed_state = run(tmp_path / "backup")
    assert resumed_state == state and state["stopped_epoch"] == 5
    for key, values in resumed_history.items():
        assert values == history[key][4:]
    for a, b in zip(resumed_weights, weights):                # the best epoch's weights, restored
        np.testing.assert_array_equal(a, b)


def test_monitor_direction_is_inferred_from_the_metric(rng):
    def my_score(y_true, y_pred):
        return abs(y_pred[..., 0])  # a direction nobody declared

    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=hl.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", "mae", my_score])
    watchers = {m: EarlyStopping(monitor=m, patience=100) for m in ("val_accuracy", "val_mae", "loss")}
    plateau = ReduceLROnPlateau(monitor="accuracy", patience=100)
    model.fit(x, y, batch_size=32, epochs=1, validation_data=(x, y), verbose=0,
              callbacks=list(watchers.values()) + [plateau])
    assert {m: w.stopper.mode for m, w in watchers.items()} == {"val_accuracy": "max", "val_mae": "min",
                                                                "loss": "min"}
    assert plateau.plateau.mode == "max"
    with pytest.raises(ValueError, match=r"EarlyStopping received monitor='val_my_score' with mode='auto'.*"
                                         r"Pass mode='max'.*mode='min'"):
        model.fit(x, y, batch_size=32, epochs=1, validation_data=(x, y), verbose=0,
                  callbacks=[EarlyStopping(monitor="val_my_score")])


def test_monitor_errors_and_warnings(rng):
    with pytest.raises(ValueError, match=r"EarlyStopping mode must be one of 'auto', 'min', 'max', got 'minimum'"):
        EarlyStopping(mode="minimum")
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau mode must be one of .* got 'up'"):
        ReduceLROnPlateau(mode="up")
    with pytest.raises(ValueError, match=r"factor >= 1.0, got factor=2"):
        ReduceLROnPlateau(factor=2)
    x, y = _regression(rng, 16)
    model = _linear()
    with pytest.warns(UserWarning, match=r"EarlyStopping is conditioned on metric `val_los` which is not "
                                         r"available. Available metrics are: loss,val_loss,learning_rate"):
        history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0,
                            callbacks=[EarlyStopping(monitor="val_los")])
    assert len(history.history["loss"]) == 2
    with pytest.warns(UserWarning, match=r"conditioned on metric `val_loss`.*Available metrics are: "
                                         r"loss,learning_rate"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])


# -- LearningRateScheduler -------------------------------------------------------------------

def test_learning_rate_scheduler_sets_each_epoch_without_recompiling(rng):
    x, y = _regression(rng)
    model = _linear(lr=0.1)
    with count_compilations() as compiled:
        counts = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(len(compiled)))
        seen = []
        halve = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
        history = model.fit(x, y, batch_size=16, epochs=4, callbacks=[halve, counts], verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)
    assert seen[0] > 0 and seen == [seen[0]] * 4, seen      # compiled in epoch 1, never again
    assert model.optimizer.learning_rate == pytest.approx(0.0125)

    # Keras's one-argument form; a zero rate from epoch 2 on leaves the weights as they were.
    weights = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    stop_at_2 = LearningRateScheduler(lambda epoch: 0.05 if epoch < 2 else 0.0)
    history = model.fit(x, y, batch_size=16, epochs=4, callbacks=[stop_at_2, keep], verbose=0)
    assert history.history["learning_rate"] == [pytest.approx(0.05), pytest.approx(0.05), 0.0, 0.0]
    assert not np.array_equal(weights[0][0], weights[1][0])
    for later in weights[2:]:
        np.testing.assert_array_equal(later[0], weights[1][0])


def test_learning_rate_scheduler_errors(rng):
    x, y = _regression(rng, 16)
    model = _linear(lr=0.1)
    with pytest.raises(ValueError, match=r"should be a float: schedule\(0, 0.1\d*\) returned 'fast'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: "fast")])
    with pytest.raises(ValueError, match=r"finite learning rate >= 0: schedule\(0\) returned nan"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e: float("nan"))])
    with pytest.raises(TypeError, match=r"needs a callable schedule"):
        LearningRateScheduler(0.1)
    scheduled = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    scheduled.compile(optimizer=hl.optimizers.SGD(hl.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
                      loss="mse")
    with pytest.raises(TypeError, match=r"created with a schedule as its learning_rate"):
        scheduled.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: lr)])


# -- ReduceLROnPlateau --------------------------------------------------------------------------

def test_plateau_detector_hand_checked():
    plateau = PlateauDetector(mode="min", min_delta=0.0, patience=2, cooldown=2)
    reduce_at = []
    for epoch, value in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6]):
        if plateau.update(value):
            reduce_at.append(epoch)
            plateau.reduced()
    # epochs 1, 2 without improvement -> reduce at 2; the cooldown counts down in epochs 3
    # (not counted) and 4 (counted again: wait 1); 5 -> wait 2, reduce; 6 improves.
    assert reduce_at == [2, 5]
    assert (plateau.best, plateau.wait, plateau.cooldown_counter) == (0.5, 1, 0)


def _lr_sequence(callback, model, values, monitor="val_loss"):
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    return rates


def test_reduce_lr_on_plateau_matches_keras(keras_model):
    import keras
    rng = np.random.default_rng(2)
    grid = itertools.product([0, 1, 3], [0, 2], [0.0, 0.25], [0.0, 0.01, 0.1], [0.5, 0.1], ["min", "max"])
    for patience, cooldown, min_delta, min_lr, factor, mode in grid:
        values = list(rng.integers(0, 6, 14) / 4.0)
        kwargs = dict(monitor="val_loss", patience=patience, cooldown=cooldown, min_delta=min_delta,
                      min_lr=min_lr, factor=factor, mode=mode)
        theirs = keras.callbacks.ReduceLROnPlateau(**kwargs)
        with jax.numpy_rank_promotion("allow"):
            keras_model.optimizer.learning_rate = 1.0
            expected = _lr_sequence(theirs, keras_model, values)
        ours = ReduceLROnPlateau(**kwargs)
        got = _lr_sequence(ours, SimpleNamespace(optimizer=_Float32Optimizer(1.0)), values)
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=str((kwargs, values)))
        assert (ours.wait, ours.cooldown_counter) == (theirs.wait, theirs.cooldown_counter)


def test_reduce_lr_on_plateau_in_fit(rng, keras_model):
    import keras
    x, y = _regression(rng, 32)
    model = _linear(lr=1e-8)  # too small to move the loss by min_delta: a plateau from the start
    reduce_lr = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2)
    history = model.fit(x, y, batch_size=32, epochs=7, callbacks=[reduce_lr], verbose=0)
    expected = [1e-8, 1e-8, 1e-8, 5e-9, 5e-9, 2.5e-9, 2.5e-9]   # reduced after epochs 2 and 4
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(1.25e-9)
    with jax.numpy_rank_promotion("allow"):
        keras_model.optimizer.learning_rate = 1e-8
        keras_rates = _lr_sequence(keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2),
                                   keras_model, history.history["loss"], monitor="loss")
    np.testing.assert_allclose(history.history["learning_rate"][1:] + [model.optimizer.learning_rate],
                               keras_rates, rtol=1e-6)

    state = json.loads(json.dumps(reduce_lr.get_state()))
    assert state == {"best": history.history["loss"][0], "wait": 0, "cooldown_counter": 0, "mode": "min"}
    fresh = ReduceLROnPlateau(monitor="loss")
    fresh.set_state(state)
    assert fresh.get_state() == state


# -- CSVLogger ---------------------------------------------------------------------------------

def _keras_csv(path, epochs_logs, append=False):
    import keras
    logger = keras.callbacks.CSVLogger(str(path), append=append)
    logger.on_train_begin()
    for epoch, logs in enumerate(epochs_logs):
        logger.on_epoch_end(epoch, dict(logs))
    logger.on_train_end()
    return path.read_bytes()


def test_csv_logger_equals_history_and_keras_format(rng, tmp_path):
    x, y = _regression(rng, 32)
    model = _linear()
    path = tmp_path / "logs" / "train.csv"
    logger = CSVLogger(path)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_data=(x[:8], y[:8]), callbacks=[logger],
                        verbose=0)
    assert logger.csv_file.closed
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch"] + sorted(history.history)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values    # repr round-trips floats exactly
    epoch_logs = [{k: v[i] for k, v in history.history.items()} for i in range(3)]
    assert path.read_bytes() == _keras_csv(tmp_path / "keras.csv", epoch_logs)

    # Without validation, Keras's format adds val_ columns holding NA; append keeps one header.
    plain = tmp_path / "plain.csv"
    first = model.fit(x, y, batch_size=16, epochs=2, callbacks=[CSVLogger(plain)], verbose=0)
    second = model.fit(x, y, batch_size=16, epochs=2, callbacks=[CSVLogger(plain, append=True)], verbose=0)
    logs1, logs2 = ([{k: v[i] for k, v in h.history.items()} for i in range(2)] for h in (first, second))
    with open(plain, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "learning_rate", "loss", "val_learning_rate", "val_loss"]
    assert rows[1:] == [[str(i), repr(l["learning_rate"]), repr(l["loss"]), "NA", "NA"]
                        for i, l in itertools.chain(enumerate(logs1), enumerate(logs2))]
    keras_plain = tmp_path / "keras_plain.csv"
    _keras_csv(keras_plain, logs1)
    assert plain.read_bytes() == _keras_csv(keras_plain, logs2, append=True)


def test_csv_logger_closes_and_keeps_rows_when_fit_raises(rng, tmp_path):
    x, y = _regression(rng, 16)
    model = _linear()
    logger = CSVLogger(tmp_path / "crash.csv", separator=";")

    def crash(epoch, logs):
        if epoch == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, batch_size=16, epochs=5, callbacks=[logger, LambdaCallback(on_epoch_end=crash)],
                  verbose=0)
    assert logger.csv_file.closed
    lines = (tmp_path / "crash.csv").read_text().splitlines()
    assert lines[0] == "epoch;learning_rate;loss;val_learning_rate;val_loss"
    assert [line.split(";")[0] for line in lines[1:]] == ["0", "1"]


# -- TerminateOnNaN -----------------------------------------------------------------------------

def test_terminate_on_nan_in_the_data(rng):
    x, y = _regression(rng, 64)
    x[20, 1] = np.nan                                # in batch 2 of 8 (batch_size 8, no shuffle)
    # Arrays with a NaN are refused before training (training/checks.py); an iterable is checked
    # on its first batch only, so a NaN further on reaches the step.
    batches_of = lambda: [(x[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)]
    model = _linear()
    history = model.fit(batches_of(), epochs=5, callbacks=[TerminateOnNaN()], verbose=0)
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])

    model = _linear()
    batches = []
    watch = LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = model.fit(batches_of(), epochs=5, verbose=0,
                        callbacks=[TerminateOnNaN(check_every=2), watch])
    assert batches == [0, 1, 2, 3]                   # seen at the check after batch 3, stopped there
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_terminate_on_nan_when_training_diverges(rng):
    x, y = _regression(rng, 32)
    model = _linear(lr=1e3)
    history = model.fit(x, y, batch_size=32, epochs=100, callbacks=[TerminateOnNaN()], verbose=0)
    losses = history.history["loss"]
    assert 2 < len(losses) < 100
    assert not np.isfinite(losses[-1]) and np.all(np.isfinite(losses[:-1]))
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at epoch 1\b"):
        _linear(lr=1e3).fit(np.ones((4, 3), np.float32), np.full((4, 1), 1e30, np.float32), epochs=3,
                            verbose=0, callbacks=[TerminateOnNaN(raise_error=True)])
    with pytest.raises(ValueError, match=r"check_every must be a positive integer or None, got 0"):
        TerminateOnNaN(check_every=0)


def test_terminate_on_nan_reads_nothing_per_step_by_default(rng):
    assert not CallbackList([TerminateOnNaN()]).needs("on_train_batch_end")
    assert CallbackList([TerminateOnNaN(check_every=10)]).needs("on_train_batch_end")
    x, y = _regression(rng, 64)
    model = _linear()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    with jax.transfer_guard_device_to_host("disallow"):
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.history["loss"]) == 2


# -- LambdaCallback ------------------------------------------------------------------------------

def _recorder(calls):
    def make(hook):
        def fn(*args, **kwargs):
            shown = tuple("logs" if isinstance(a, Mapping) else a for a in args)
            logs = [a for a in args if isinstance(a, Mapping)] + [v for v in kwargs.values()]
            calls.append((hook, shown, tuple(sorted(kwargs)),
                          all(isinstance(v, Mapping) for v in logs)))
        return fn
    hooks = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
             "on_train_batch_end")
    return {h: make(h) for h in hooks}


def test_lambda_callback_calls_like_keras(keras_model):
    import keras
    x = np.arange(24, dtype=np.float32).reshape(8, 3) / 24
    y = np.ones((8, 1), np.float32)
    ours, theirs = [], []
    epoch_logs = []
    model = _linear()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(**_recorder(ours)),
                         LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_logs.append(dict(logs)))])
    with jax.numpy_rank_promotion("allow"):
        kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        kmodel.compile(optimizer="sgd", loss="mse")
        kmodel.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                   callbacks=[keras.callbacks.LambdaCallback(**_recorder(theirs))])
    assert ours == theirs
    assert ours[0] == ("on_train_begin", ("logs",), (), True)
    assert ("on_train_batch_end", (1,), ("logs",), True) in ours and len(ours) == 1 + 2 * (2 + 4) + 1
    assert [set(logs) for logs in epoch_logs] == [{"loss", "learning_rate"}] * 2


def test_lambda_callback_adds_only_the_hooks_given():
    assert not CallbackList([LambdaCallback(on_epoch_end=print)]).needs("on_train_batch_end")
    both = CallbackList([LambdaCallback(on_batch_end=print, on_test_end=print)])
    assert both.needs("on_train_batch_end") and both.needs("on_test_end")
    assert not both.needs("on_train_batch_begin")
    with pytest.raises(TypeError, match=r"unknown hook 'on_epoch_finish'; hooks are on_epoch_begin"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match=r"on_epoch_end must be callable, got 3"):
        LambdaCallback(on_epoch_end=3)
