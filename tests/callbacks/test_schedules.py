"""Layer-hyperparameter callbacks: DropoutScheduler, BatchNormMomentumScheduler, FreezeBatchNorm,
PreciseBatchNorm — values that reach the compiled step, never recompiling it."""

import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks.batch_norm_momentum_scheduler import BatchNormMomentumScheduler
from highlevel.callbacks.dropout_scheduler import DropoutScheduler
from highlevel.callbacks.freeze_batch_norm import FreezeBatchNorm
from highlevel.callbacks.precise_batch_norm import PreciseBatchNorm
from highlevel.training.callback import Callback
from tests.compile_count import count_compilations

EPS = 1e-3  # BatchNormalization's default epsilon


class _Record(Callback):
    """Keeps a copy of some layers' weights at each epoch end."""

    def __init__(self, *names):
        super().__init__()
        self.names = names
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append({n: [np.array(w) for w in self.model.get_layer(n).get_weights()] for n in self.names})


def _data(rng, n=64, dim=3, mean=2.0, std=3.0):
    x = (mean + std * rng.standard_normal((n, dim))).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    return x, y


# -- no recompilation with all four callbacks -------------------------------------------------------


def test_all_four_callbacks_compile_nothing_after_the_first_epoch(rng):
    x, y = _data(rng, n=70)   # 2 full batches of 32 + 6
    model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn_in"),
                           hl.layers.Dense(8, activation="relu"), hl.layers.Dropout(0.1, name="drop"),
                           hl.layers.BatchNormalization(name="bn_mid"), hl.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")

    def callbacks():
        # bn_mid is frozen from epoch 2, bn_in never: PreciseBatchNorm keeps working on bn_in.
        return [DropoutScheduler(lambda epoch, rate: min(0.1 + 0.2 * epoch, 0.7)),
                BatchNormMomentumScheduler(lambda epoch: 0.9 + 0.02 * epoch),
                FreezeBatchNorm(start_epoch=2, layers=["bn_mid"]),
                PreciseBatchNorm(num_batches=2)]

    # The first epoch compiles the train and eval steps and the statistics pass.
    model.fit(x, y, batch_size=32, epochs=1, validation_data=(x[:40], y[:40]), callbacks=callbacks(), verbose=0)
    with count_compilations() as compiled:
        history = model.fit(x, y, batch_size=32, epochs=4, validation_data=(x[:40], y[:40]),
                            callbacks=callbacks(), verbose=0)
    assert compiled == [], compiled
    # The schedules ran each epoch (the relative dropout schedule starts from the model's 0.1).
    np.testing.assert_allclose(history.history["dropout_rate/drop"], [0.1, 0.3, 0.5, 0.7], rtol=1e-6)
    np.testing.assert_allclose(history.history["batch_norm_momentum/bn_in"], [0.9, 0.92, 0.94, 0.96], rtol=1e-6)
    assert model.get_layer("bn_mid").frozen and not model.get_layer("bn_in").frozen
    assert model.get_layer("bn_in").momentum == pytest.approx(0.96)  # PreciseBatchNorm put it back


# -- DropoutScheduler -------------------------------------------------------------------------------


def test_dropout_rate_reaches_the_step(rng):
    x, y = _data(rng, n=32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(16, activation="relu"),
                           hl.layers.Dropout(0.5, name="drop"), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")   # weights never change
    eval_loss = model.evaluate(x, y, batch_size=32, verbose=0)
    rates = [0.0, 0.9, 0.0]
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0,
                        callbacks=[DropoutScheduler(lambda epoch, rate: rates[epoch])])
    loss = history.history["loss"]
    assert history.history["dropout_rate/drop"] == pytest.approx(rates)
    # Rate 0: training mode is the identity, the one batch's training loss is its evaluation loss.
    assert loss[0] == pytest.approx(eval_loss, rel=1e-6)
    assert loss[2] == pytest.approx(eval_loss, rel=1e-6)
    # Rate 0.9 drops most units: a very different loss.
    assert abs(loss[1] - eval_loss) > 0.05 * eval_loss, (loss, eval_loss)
    # train_on_batch after fit uses the last rate (0), test_on_batch the same weights.
    assert model.train_on_batch(x, y) == pytest.approx(model.test_on_batch(x, y), rel=1e-6)


def test_dropout_schedule_selects_layers_by_name_and_nested_model(rng):
    inner = hl.Sequential([hl.Input((4,)), hl.layers.Dropout(0.2, name="inner_drop"), hl.layers.Dense(4)],
                          name="block")
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dropout(0.2, name="outer_drop"), inner, hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.standard_normal((8, 4)).astype(np.float32), np.zeros((8, 1), np.float32)
    history = model.fit(x, y, epochs=1, verbose=0, callbacks=[DropoutScheduler(lambda e: 0.4, layers="block")])
    assert inner.get_layer("inner_drop").rate == 0.4 and model.get_layer("outer_drop").rate == 0.2
    assert "dropout_rate/inner_drop" in history.history and "dropout_rate/outer_drop" not in history.history
    model.fit(x, y, epochs=1, verbose=0, callbacks=[DropoutScheduler(lambda e: 0.3)])  # all, recursively
    assert inner.get_layer("inner_drop").rate == 0.3 and model.get_layer("outer_drop").rate == 0.3


def test_dropout_schedule_resumes_from_its_state(rng):
    x, y = rng.standard_normal((8, 4)).astype(np.float32), np.zeros((8, 1), np.float32)

    def make():
        m = hl.Sequential([hl.Input((4,)), hl.layers.Dropout(0.1, name="drop"), hl.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        return m

    double = lambda epoch, rate: min(2 * rate, 0.9)  # noqa: E731
    first = DropoutScheduler(double)
    model = make()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[first])
    first.on_epoch_begin(2)   # as if interrupted inside epoch 2
    state = first.get_state()
    assert state == {"epoch": 2, "values": {"dropout_rate/drop": pytest.approx(0.8)}}

    class Resume(Callback):   # what BackupAndRestore does: runs last, hands the state back at train begin
        _runs_last = True

        def on_train_begin(self, logs=None):
            second.set_state(state)

    second = DropoutScheduler(double)
    resumed = make()
    history = resumed.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[second, Resume()])
    # Epoch 2 keeps 0.8 (not doubled again); epoch 3 continues from it.
    assert history.history["dropout_rate/drop"] == pytest.approx([0.8, 0.9])
    assert second.get_state() == {}   # cleared at train end


# -- BatchNormMomentumScheduler -----------------------------------------------------------------------


def test_momentum_reaches_the_moving_statistics(rng):
    x, y = _data(rng, n=32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    bn = model.get_layer("bn")
    gamma, beta, mean0, var0 = bn.get_weights()
    mean0, var0 = np.array([0.5, -1.0, 2.0], np.float32), np.array([4.0, 0.5, 1.0], np.float32)
    bn.set_weights([gamma, beta, mean0, var0])
    momenta = [0.3, 0.8]
    record = _Record("bn")
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0,
                        callbacks=[BatchNormMomentumScheduler(lambda epoch, m: momenta[epoch]), record])
    assert history.history["batch_norm_momentum/bn"] == pytest.approx(momenta)
    batch_mean, batch_var = x.astype(np.float64).mean(0), x.astype(np.float64).var(0)
    mean, var = mean0.astype(np.float64), var0.astype(np.float64)
    for epoch, m in enumerate(momenta):       # one batch per epoch: one update with momentum m
        mean = m * mean + (1 - m) * batch_mean
        var = m * var + (1 - m) * batch_var
        np.testing.assert_allclose(record.weights[epoch]["bn"][2], mean, rtol=1e-5)
        np.testing.assert_allclose(record.weights[epoch]["bn"][3], var, rtol=1e-5)


# -- FreezeBatchNorm ---------------------------------------------------------------------------------


def test_frozen_batch_norm_keeps_its_statistics_while_training_goes_on(rng):
    x, y = _data(rng, n=64)
    model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1, name="out")])
    model.compile(optimizer=hl.optimizers.Adam(0.01), loss="mse")
    record = _Record("bn", "out")
    model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=[FreezeBatchNorm(start_epoch=1), record])
    initial_mean = np.zeros(3, np.float32)
    assert not np.allclose(record.weights[0]["bn"][2], initial_mean)      # epoch 0 still updates
    for epoch in (1, 2, 3):
        np.testing.assert_array_equal(record.weights[epoch]["bn"][2], record.weights[0]["bn"][2])
        np.testing.assert_array_equal(record.weights[epoch]["bn"][3], record.weights[0]["bn"][3])
        # gamma, beta and the Dense kernel still train.
        assert not np.array_equal(record.weights[epoch]["bn"][0], record.weights[epoch - 1]["bn"][0])
        assert not np.array_equal(record.weights[epoch]["out"][0], record.weights[epoch - 1]["out"][0])


def test_frozen_batch_norm_normalizes_with_moving_statistics_in_training(rng):
    x, y = _data(rng, n=32)   # batch statistics (mean 2, std 3) far from the moving ones (0, 1)

    def fit(callbacks):
        model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
        model.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")
        eval_loss = model.evaluate(x, y, batch_size=32, verbose=0)
        history = model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=callbacks)
        return model, history.history["loss"][0], eval_loss

    model, train_loss, eval_loss = fit([FreezeBatchNorm()])
    assert train_loss == pytest.approx(eval_loss, rel=1e-6)
    gamma, beta, mean, var = model.get_layer("bn").get_weights()
    np.testing.assert_array_equal(mean, np.zeros(3))
    np.testing.assert_array_equal(var, np.ones(3))
    # The same layer in training mode outside fit: the moving statistics, by NumPy.
    kernel, bias = model.layers[-1].get_weights()
    expected = (gamma * (x - mean) / np.sqrt(var + EPS) + beta) @ kernel + bias
    np.testing.assert_allclose(np.asarray(model(x, training=True)), expected, rtol=1e-5, atol=1e-5)
    _, train_loss, eval_loss = fit([])      # not frozen: batch statistics, another loss
    assert abs(train_loss - eval_loss) > 0.05 * eval_loss


# -- PreciseBatchNorm ---------------------------------------------------------------------------------


def _batch_moments(x, batch_size, num_batches):
    batches = [x[i:i + batch_size].astype(np.float64) for i in range(0, len(x), batch_size)][:num_batches]
    return np.mean([b.mean(0) for b in batches], 0), np.mean([b.var(0) for b in batches], 0)


@pytest.mark.parametrize("num_batches", [3, 100])   # 100: every batch, the last one partial (4 of 16 rows)
def test_precise_batch_norm_averages_the_batch_statistics(rng, num_batches):
    x, y = _data(rng, n=52)
    x[:, 1] *= np.linspace(0.5, 3.0, 52, dtype=np.float32)   # batches with really different statistics
    model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn"),
                           hl.layers.BatchNormalization(name="frozen_bn"), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.Adam(0.01), loss="mse")
    frozen = model.get_layer("frozen_bn")
    frozen.frozen = True
    frozen_before = [np.array(w) for w in frozen.get_weights()[2:]]
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
              callbacks=[PreciseBatchNorm(num_batches=num_batches)])
    bn = model.get_layer("bn")
    mean, var = bn.get_weights()[2:]
    expected_mean, expected_var = _batch_moments(x, 16, num_batches)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, expected_var, rtol=1e-5, atol=1e-6)
    assert bn.momentum == pytest.approx(0.99)
    for before, after in zip(frozen_before, frozen.get_weights()[2:]):
        np.testing.assert_array_equal(after, before)
    # The model then predicts with the new statistics.
    gamma, beta = bn.get_weights()[:2]
    g2, b2, m2, v2 = frozen.get_weights()
    kernel, bias = model.layers[-1].get_weights()
    h = gamma * (x - mean) / np.sqrt(var + EPS) + beta
    expected = (g2 * (h - m2) / np.sqrt(v2 + EPS) + b2) @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_precise_batch_norm_uses_the_epochs_shuffled_batches(rng):
    x, y = _data(rng, n=48)
    x[:, 0] *= np.linspace(0.1, 5.0, 48, dtype=np.float32)
    seen = []

    class Peek(Callback):   # listed first: reads the same batches PreciseBatchNorm will
        def on_epoch_end(self, epoch, logs=None):
            seen.append([np.array(b.x) for b in self.model.trainer.training_batches(2)])

    model = hl.Sequential([hl.Input((3,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=True, verbose=0, callbacks=[Peek(), PreciseBatchNorm(2)])
    batches = [b.astype(np.float64) for b in seen[0]]
    assert not np.array_equal(seen[0][0], x[:16])   # really shuffled
    mean, var = model.get_layer("bn").get_weights()[2:]
    np.testing.assert_allclose(mean, np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(var, np.mean([b.var(0) for b in batches], 0), rtol=1e-5)


# -- errors --------------------------------------------------------------------------------------------


def _dropout_model():
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4, name="dense_a"), hl.layers.Dropout(0.1, name="drop_a"),
                           hl.layers.BatchNormalization(name="bn_a"), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _fit(model, callback):
    x = np.ones((4, 3), np.float32)
    return model.fit(x, np.ones((4, 1), np.float32), epochs=2, verbose=0, callbacks=[callback])


def test_errors_name_the_layer_and_the_fix():
    model = _dropout_model()
    with pytest.raises(ValueError, match=r"returned 1\.0 at epoch 1 for Dropout layer 'drop_a'.*\[0, 1\)"):
        _fit(model, DropoutScheduler(lambda epoch: 0.5 * (epoch + 1)))
    with pytest.raises(ValueError, match=r"returned -0\.1 at epoch 0 for BatchNormalization layer 'bn_a'.*\[0, 1\]"):
        _fit(model, BatchNormMomentumScheduler(lambda epoch: -0.1))
    with pytest.raises(TypeError, match=r"returned None .*Dropout layer 'drop_a'.*must return a float"):
        _fit(model, DropoutScheduler(lambda epoch, rate: None))
    with pytest.raises(ValueError, match=r"no layer named 'nope'\. Its Dropout layers are: 'drop_a'"):
        _fit(model, DropoutScheduler(lambda epoch: 0.1, layers=["nope"]))
    with pytest.raises(ValueError, match=r"no layer named 'nope'\. Its BatchNormalization layers are: 'bn_a'"):
        _fit(model, BatchNormMomentumScheduler(lambda epoch: 0.9, layers=["nope"]))
    with pytest.raises(ValueError, match=r"no layer named 'nope'\. Its BatchNormalization layers are: 'bn_a'"):
        _fit(model, FreezeBatchNorm(layers="nope"))
    with pytest.raises(ValueError, match=r"'dense_a', a Dense that is not a Dropout.*Dropout layers are: 'drop_a'"):
        _fit(model, DropoutScheduler(lambda epoch: 0.1, layers=["dense_a"]))
    with pytest.raises(ValueError, match=r"not part of model"):
        _fit(model, DropoutScheduler(lambda epoch: 0.1, layers=[hl.layers.Dropout(0.1)]))
    with pytest.raises(TypeError, match=r"callable schedule\(epoch, rate\)"):
        DropoutScheduler(0.5)
    with pytest.raises(TypeError, match=r"must take \(epoch, momentum\) or \(epoch\)"):
        BatchNormMomentumScheduler(lambda: 0.9)
    with pytest.raises(ValueError, match="start_epoch must be a non-negative integer"):
        FreezeBatchNorm(start_epoch=-1)
    with pytest.raises(ValueError, match="num_batches must be a positive integer"):
        PreciseBatchNorm(num_batches=0)
    assert model.get_layer("drop_a").rate == pytest.approx(0.5)   # the last good value stays


def test_models_without_the_layers():
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"DropoutScheduler found no Dropout layers in model '.*': add a Dropout"):
        _fit(model, DropoutScheduler(lambda epoch: 0.1))
    with pytest.raises(ValueError, match=r"FreezeBatchNorm found no BatchNormalization layers"):
        _fit(model, FreezeBatchNorm())
    with pytest.warns(UserWarning, match=r"PreciseBatchNorm found no BatchNormalization layers.*do nothing"):
        _fit(model, PreciseBatchNorm())
