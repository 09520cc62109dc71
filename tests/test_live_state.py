"""The one owner of the live train state (``training/live.py``) and the trainer seam.

Each test holds one invariant written beside ``LiveState``: edits to the module between
epochs are honoured, donation never invalidates an array the module holds, nothing is
copied per step, and the public seam (``model.trainer``) is enough to continue training
by hand.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import highlevel as hl


def _data(rng, n=64):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)).astype(np.float32)


def _dense(dropout=0.0):
    layers = [hl.Input((4,)), hl.layers.Dense(8, activation="tanh")]
    if dropout:
        layers.append(hl.layers.Dropout(dropout))
    return hl.Sequential(layers + [hl.layers.Dense(1)])


def test_the_trainer_answers_the_typed_seam():
    model = _dense()
    assert isinstance(model.trainer, hl.training.TrainerAPI)
    model.compile(optimizer="adam", loss="mse")
    assert model.trainer.state is None and model.trainer.step == 0
    model.trainer.initialize()
    assert model.trainer.state is not None and model.trainer.optimizer_state is not None


def test_an_edit_to_the_module_between_epochs_is_honoured(rng):
    """A callback that sets weights at an epoch's end trains on from them, exactly as a second
    fit started from the same weights does (same data order, optimizer state and keys)."""
    x, y = _data(rng)
    start = [np.full(w.shape, 0.1, np.float32) for w in _dense().get_weights()]

    class Reset(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.layers[0].set_weights([w * 0.5 for w in self.model.layers[0].get_weights()])

    hl.utils.set_random_seed(3)
    a = _dense(dropout=0.2)
    a.set_weights(start)
    a.compile(optimizer="adam", loss="mse")
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[Reset()])

    hl.utils.set_random_seed(3)
    b = _dense(dropout=0.2)
    b.set_weights(start)
    b.compile(optimizer="adam", loss="mse")
    b.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    b.layers[0].set_weights([w * 0.5 for w in b.layers[0].get_weights()])
    b.fit(x, y, batch_size=16, epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    # Independently: with a zero learning rate, the halved weights are what the run ends with.
    frozen = _dense()
    frozen.set_weights(start)
    frozen.compile(optimizer=hl.optimizers.SGD(0.0), loss="mse")
    frozen.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Reset()])
    np.testing.assert_array_equal(frozen.layers[0].get_weights()[0], start[0] * 0.5)


def test_donation_never_invalidates_an_array_the_module_holds(rng):
    x, y = _data(rng)
    model = _dense()
    model.compile(optimizer="adam", loss="mse")
    held = []

    class Hold(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            model.get_weights()   # a public read syncs the module mid-epoch...
            held.append(model.layers[0].kernel.get_value())   # ...and the module's array is kept

    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Hold()])
    kernel = model.layers[0].kernel.get_value()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)   # steps donate the state's buffers
    for array in held + [kernel]:
        assert not array.is_deleted()
        np.asarray(array)
    assert not np.array_equal(np.asarray(kernel), model.get_weights()[0])


def test_the_live_state_flag_and_the_one_sync(rng):
    x, y = _data(rng)
    model = _dense()
    model.compile(optimizer="sgd", loss="mse")
    flags = []

    class Flag(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            flags.append(self.model.trainer.program.live.synced)

        def on_epoch_end(self, epoch, logs=None):
            flags.append(self.model.trainer.program.live.synced)

    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[Flag()])
    assert flags == [False, False, True]   # steps make the state newer; the epoch's end syncs
    live = model.trainer.program.live
    assert live.synced
    state_kernel = live.get().params["_layers"][0]["kernel"].get_value()
    assert state_kernel is model.layers[0].kernel.get_value()   # synced: read from the module
    for layer in model.layers:   # an edit of a layer alone (not through the model) is seen too
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.zeros_like(y))


def test_nothing_is_copied_per_step(rng, monkeypatch):
    """Device copies per fit do not grow with the number of steps (the state travels as leaves)."""
    x, y = _data(rng, n=256)
    model = _dense()
    model.compile(optimizer="adam", loss="mse")
    model.trainer.device_data = False
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    counts = []
    original = jax.device_put

    def counting(value, *args, **kwargs):
        counts[-1] += 1
        return original(value, *args, **kwargs)

    monkeypatch.setattr(jax, "device_put", counting)
    for batch_size in (128, 8):   # 2 and 32 steps an epoch
        counts.append(0)
        model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0)
    assert counts[0] == counts[1], counts


def test_a_hand_written_loop_continues_the_optimizer_through_the_seam(rng):
    """Fit one epoch, continue one epoch by hand with optax on ``trainer.optimizer_state``, put
    the state back, and fit a third: the same weights as three epochs of fit."""
    x, y = _data(rng)

    def model_and_fit(epochs):
        hl.utils.set_random_seed(5)
        model = _dense()
        model.compile(optimizer=hl.optimizers.Adam(0.01), loss="mse")
        model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
        return model

    reference = model_and_fit(3)
    model = model_and_fit(1)
    tx = model.optimizer.to_optax()
    opt_state = model.trainer.optimizer_state
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def step(params, opt_state, xb, yb):
        def loss(p):
            return jnp.mean((nnx.merge(graphdef, p, rest)(xb) - yb) ** 2)
        grads = jax.grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    for i in range(0, 64, 16):
        params, opt_state = step(params, opt_state, x[i:i + 16], y[i:i + 16])
    nnx.update(model, params)
    model.set_weights(model.get_weights())   # the module changed by hand: tell the trainer
    model.trainer.optimizer_state = opt_state
    model.trainer.set_step(model.trainer.step + 4)
    model.fit(x, y, batch_size=16, epochs=3, initial_epoch=2, shuffle=False, verbose=0)
    for a, b in zip(reference.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="do not fit this optimizer"):
        model.trainer.optimizer_state = {"w": np.zeros(3)}


def test_snapshot_and_hyperparameters_through_the_seam(rng):
    x, y = _data(rng)
    model = _dense(dropout=0.3)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    (name, rate), = model.trainer.hyperparameters().items()
    assert float(rate) == pytest.approx(0.3)
    model.trainer.set_hyperparameters({name: 0.1})
    assert model.layers[1].rate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="Unknown hyperparameters"):
        model.trainer.set_hyperparameters({"nope": 1.0})
    snap = model.trainer.snapshot()
    assert snap.epoch == 1 and snap.step == 0 and len(snap.leaves) == len(model.trainer.snapshot_signature()["state"])
    before = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.trainer.restore(snap)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.trainer.metric_direction("loss") == "down"
    assert model.trainer.metric_direction("accuracy") is None   # not compiled here


def test_epochs_do_not_walk_the_module_graph(rng, monkeypatch):
    """Between epochs the host reads and writes the module's weights through the split it kept
    (re-checked by identity), not by walking the nnx graph again (0.85 ms for a two-layer
    model, a tenth of a fused epoch of a small model; three walks an epoch before round five)."""
    from highlevel.training.step import StepBuilder

    x, y = _data(rng, n=256)
    model = _dense()
    model.compile(optimizer="adam", loss="mse", steps_per_execution=4)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    walks = []
    original = StepBuilder.split

    def counting(self, module):
        walks[-1] += 1
        return original(self, module)

    monkeypatch.setattr(StepBuilder, "split", counting)
    for epochs in (2, 6):
        walks.append(0)
        model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
        model.get_weights()
    assert walks == [0, 0], walks


def test_a_variable_replaced_between_fits_is_trained(rng):
    """The kept split is checked edge by edge: a layer's variable replaced by a new object (an
    attribute set, as plain nnx code does) is the one the next fit reads, trains and writes."""
    from highlevel.layers.variables import Weight

    x, y = _data(rng, n=128)
    model = _dense()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    dense = model.layers[0]
    old = dense.kernel
    dense.kernel = Weight(jnp.zeros_like(old.get_value()))
    assert np.all(model.get_weights()[0] == 0)        # read through the new variable
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    trained = np.asarray(dense.kernel.get_value())
    assert np.any(trained != 0)                       # the new variable was trained and written
    np.testing.assert_array_equal(model.get_weights()[0], trained)
    assert dense.kernel is not old