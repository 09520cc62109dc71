"""EMA weights in fit: the hand-computed average of the iterates, Keras's fit, SwapEMAWeights, saving."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x @ rng.standard_normal((6, 2))).astype(np.float32)
    return x, y


def _ours():
    hl.utils.set_random_seed(0)
    return hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="tanh"), hl.layers.Dense(2)])


def _keras_twin(model):
    twin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(2)])
    twin.set_weights(model.get_weights())
    return twin


def _keras_fit(twin, x, y, **kwargs):
    with jax.numpy_rank_promotion("allow"):   # Keras relies on implicit rank promotion
        return twin.fit(x, y, **kwargs).history


class Iterates(hl.callbacks.Callback):
    """The trained weights after every batch (what the averages average)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(self.model.get_weights())


def test_weights_after_fit_are_the_moving_average_of_the_iterates():
    x, y = _data()
    model = _ours()
    model.compile(optimizer=hl.optimizers.SGD(0.05, momentum=0.9, use_ema=True, ema_momentum=0.8), loss="mse")
    iterates = Iterates()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[iterates])
    average = None
    for w in iterates.seen:   # Keras's rule, by hand: the first average is the first iterate
        average = w if average is None else [0.8 * a + 0.2 * b for a, b in zip(average, w)]
    for a, b in zip(model.get_weights(), average):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert max(float(np.abs(a - b).max()) for a, b in zip(average, iterates.seen[-1])) > 1e-3   # not the last iterate


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.9}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 3}),
    ("SGD", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.7, "gradient_accumulation_steps": 2}),
])
def test_fit_matches_keras_fit(name, kwargs):
    x, y = _data()
    model = _ours()
    twin = _keras_twin(model)
    model.compile(optimizer=getattr(hl.optimizers, name)(**kwargs), loss="mse")
    twin.compile(optimizer=getattr(keras.optimizers, name)(**kwargs), loss="mse")
    ours = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history["loss"]
    theirs = _keras_fit(twin, x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)["loss"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == int(keras.ops.convert_to_numpy(twin.optimizer.iterations))


def test_swap_ema_weights_validates_with_the_averages_as_keras():
    x, y = _data()
    model = _ours()
    twin = _keras_twin(model)
    model.compile(optimizer=hl.optimizers.Adam(0.02, use_ema=True, ema_momentum=0.9), loss="mse", metrics=["mae"])
    twin.compile(optimizer=keras.optimizers.Adam(0.02, use_ema=True, ema_momentum=0.9), loss="mse", metrics=["mae"])
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0, validation_data=(x[:32], y[:32]))
    ours = model.fit(x, y, callbacks=[hl.callbacks.SwapEMAWeights()], **fit).history
    theirs = _keras_fit(twin, x, y, callbacks=[keras.callbacks.SwapEMAWeights()], **fit)
    for key in ("val_loss", "val_mae", "loss"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)
    # The swap leaves training alone: the same run without it ends with the same weights, bit for bit.
    plain = _ours()
    plain.compile(optimizer=hl.optimizers.Adam(0.02, use_ema=True, ema_momentum=0.9), loss="mse", metrics=["mae"])
    history = plain.fit(x, y, **fit).history
    for a, b in zip(plain.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history["loss"] == ours["loss"] and history["val_loss"] != ours["val_loss"]
    # Outside fit, evaluate and predict see the averages and leave the weights as they were. (After
    # fit the weights are the averages: two more steps set them apart.)
    model.train_on_batch(x[:16], y[:16])
    model.train_on_batch(x[16:32], y[16:32])
    before = model.get_weights()
    swap = hl.callbacks.SwapEMAWeights()
    averaged = model.evaluate(x, y, verbose=0, callbacks=[swap], return_dict=True)["loss"]
    assert model.predict(x[:4], verbose=0, callbacks=[swap]).shape == (4, 2)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert averaged != model.evaluate(x, y, verbose=0, return_dict=True)["loss"]


def test_swap_on_epoch_checkpoints_the_averages_as_keras(tmp_path):
    x, y = _data()
    model = _ours()
    twin = _keras_twin(model)
    model.compile(optimizer=hl.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.8), loss="mse")
    twin.compile(optimizer=keras.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.8), loss="mse")
    ours, theirs = [], []
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    model.fit(x, y, callbacks=[hl.callbacks.SwapEMAWeights(swap_on_epoch=True),
                               hl.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ours.append(
                                   model.get_weights())),
                               hl.callbacks.ModelCheckpoint(str(tmp_path / "ckpt"), save_weights_only=True)], **fit)
    _keras_fit(twin, x, y, callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                                      keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: theirs.append(
                                          twin.get_weights()))], **fit)
    for mine, keras_weights in zip(ours, theirs):   # the averages, at each epoch end
        for a, b in zip(mine, keras_weights):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    saved = _ours()
    saved.load_weights(tmp_path / "ckpt")
    for a, b in zip(saved.get_weights(), ours[-1]):
        np.testing.assert_array_equal(a, b)


def test_averages_are_saved_and_restored_with_the_optimizer(tmp_path):
    x, y = _data()
    model = _ours()
    model.compile(optimizer=hl.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert loaded.optimizer.use_ema and loaded.optimizer.ema_momentum == 0.9
    state, again = model.trainer.state, loaded.trainer.state
    for a, b in zip(jax.tree_util.tree_leaves(hl.optimizers.ema_weights(state.opt_state, state.params)),
                    jax.tree_util.tree_leaves(hl.optimizers.ema_weights(again.opt_state, again.params))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_multi_optimizer_averages_only_its_ema_group():
    x, y = _data()
    model = _ours()
    model.compile(optimizer=hl.optimizers.MultiOptimizer([
        (hl.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.5), model.layers[0]),
        (hl.optimizers.SGD(0.05), None)]), loss="mse")
    iterates = Iterates()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[iterates])
    average = None
    for w in iterates.seen:
        average = w[:2] if average is None else [0.5 * a + 0.5 * b for a, b in zip(average, w[:2])]
    final = model.get_weights()
    for a, b in zip(final[:2], average):            # the first layer: its averages
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(final[2:], iterates.seen[-1][2:]):   # the other group: as trained
        np.testing.assert_array_equal(a, b)


def test_ema_recompiles_nothing_with_swaps():
    x, y = _data()
    model = _ours()
    model.compile(optimizer=hl.optimizers.Adam(0.01, use_ema=True), loss="mse")
    fit = dict(batch_size=16, verbose=0, validation_data=(x[:16], y[:16]),
               callbacks=[hl.callbacks.SwapEMAWeights(swap_on_epoch=True)])
    model.fit(x, y, epochs=1, **fit)
    with count_compilations() as compiled:
        model.fit(x, y, epochs=3, **fit)
    assert compiled == [], compiled


def test_swap_without_averages_is_explained():
    x, y = _data()
    model = _ours()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"SwapEMAWeights needs an optimizer .*use_ema=True"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[hl.callbacks.SwapEMAWeights()])
    with pytest.raises(TypeError, match="swap_on_epoch must be True or False"):
        hl.callbacks.SwapEMAWeights(swap_on_epoch="yes")
