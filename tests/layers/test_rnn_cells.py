"""RNN building blocks: layers.RNN over cells (built-in, stacked, user), masks, stateful layers."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same, keras_build, keras_call, leaves

B, T, F, U = 3, 6, 4, 5
RNG = np.random.default_rng(1)
X = RNG.standard_normal((B, T, F)).astype("float32")
MASK = np.ones((B, T), bool)
MASK[0, 4:] = False
MASK[1, 2:] = False


@pytest.mark.parametrize("kwargs, out, n", [
    ({"cell": hl.layers.LSTMCell(U)}, (B, U), 3),
    ({"cell": hl.layers.GRUCell(U, reset_after=False), "return_sequences": True, "go_backwards": True}, (B, T, U), 3),
    ({"cell": [hl.layers.SimpleRNNCell(U, dropout=0.2), hl.layers.LSTMCell(2, recurrent_dropout=0.1)]},
     (B, 2), 6),
], ids=["lstm-cell", "gru-cell", "stacked"])
def test_harness(kwargs, out, n):
    run_layer_test(hl.layers.RNN, kwargs, (B, T, F), out, expected_num_trainable_weights=n)


@pytest.mark.parametrize("cell, options, rnn", [
    ("LSTMCell", {}, {"return_sequences": True, "go_backwards": True}),
    ("GRUCell", {}, {"return_state": True}),
    ("GRUCell", {"reset_after": False}, {"return_sequences": True}),
    ("SimpleRNNCell", {}, {"return_state": True, "go_backwards": True}),
])
def test_rnn_over_each_cell_matches_keras_with_a_mask(cell, options, rnn):
    assert_same(keras.layers.RNN(getattr(keras.layers, cell)(U, **options), **rnn),
                hl.layers.RNN(getattr(hl.layers, cell)(U, **options), **rnn), X, mask=MASK)


def test_stacked_cells_match_keras():
    assert_same(keras.layers.RNN([keras.layers.LSTMCell(U), keras.layers.GRUCell(2)], return_state=True,
                                 return_sequences=True),
                hl.layers.RNN([hl.layers.LSTMCell(U), hl.layers.GRUCell(2)], return_state=True,
                              return_sequences=True), X, mask=MASK)


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_rnn_of_a_cell_equals_the_layer(name):
    layer = getattr(hl.layers, name)(U, return_sequences=True)
    rnn = hl.layers.RNN(getattr(hl.layers, name + "Cell")(U), return_sequences=True)
    layer(X), rnn(X)
    rnn.set_weights([0.5 * RNG.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    layer.set_weights(rnn.get_weights())
    for kwargs in ({}, {"mask": MASK}):
        np.testing.assert_allclose(np.asarray(rnn(X, **kwargs)), np.asarray(layer(X, **kwargs)), rtol=1e-6, atol=1e-6)


# Keras's own example of a user cell (keras.layers.RNN's docstring).
def _minimal_cell(lib):
    class MinimalRNNCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev_output = states[0]
            output = (jnp if lib is hl else keras.ops).matmul(inputs, self.kernel) + \
                (jnp if lib is hl else keras.ops).matmul(prev_output, self.recurrent_kernel)
            return output, [output]

    return MinimalRNNCell


def test_user_cell_matches_keras():
    class HLCell(hl.layers.Layer):
        """Keras's MinimalRNNCell, in highlevel's add_weight form."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.add_weight("kernel", (input_shape[-1], self.units), "uniform")
            self.add_weight("recurrent_kernel", (self.units, self.units), "uniform")

        def call(self, inputs, states):
            output = inputs @ self.kernel.get_value() + states[0] @ self.recurrent_kernel.get_value()
            return output, [output]

    assert_same(keras.layers.RNN(_minimal_cell(keras)(U), return_sequences=True),
                hl.layers.RNN(HLCell(U), return_sequences=True), X, mask=MASK)
    # Two user cells stacked, and a training step through the time loop.
    model = hl.Sequential([hl.Input((T, F)), hl.layers.RNN([HLCell(U), HLCell(2)]), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    model.fit(X, np.ones((B, 1), "float32"), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_padded_sequence_gives_the_unpadded_output():
    lengths = [6, 4, 2]
    for layer in (hl.layers.LSTM(U), hl.layers.GRU(U), hl.layers.RNN(hl.layers.LSTMCell(U)),
                  hl.layers.Bidirectional(hl.layers.LSTM(U))):
        layer(X)
        padded = np.asarray(layer(X, mask=np.arange(T)[None] < np.array(lengths)[:, None]))
        for i, n in enumerate(lengths):
            alone = np.asarray(layer(X[i:i + 1, :n]))
            np.testing.assert_allclose(padded[i], alone[0], rtol=1e-5, atol=1e-5)


# -- stateful layers ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda s: hl.layers.LSTM(U, return_sequences=True, stateful=s),
                                  lambda s: hl.layers.GRU(U, return_sequences=True, stateful=s),
                                  lambda s: hl.layers.RNN([hl.layers.LSTMCell(U), hl.layers.GRUCell(2)],
                                                          return_sequences=True, stateful=s)],
                         ids=["lstm", "gru", "stacked-cells"])
def test_stateful_layer_fed_in_two_halves_equals_it_fed_whole(make):
    whole, stateful = make(False), make(True)
    whole(X)
    stateful(X[:, :3])
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    halves = np.concatenate([np.asarray(stateful(X[:, :3])), np.asarray(stateful(X[:, 3:]))], axis=1)
    np.testing.assert_allclose(halves, np.asarray(whole(X)), rtol=1e-6, atol=1e-6)
    assert all(np.abs(np.asarray(s)).sum() > 0 for s in stateful.states)
    stateful.reset_states()
    assert all(not np.asarray(s).any() for s in stateful.states)
    assert whole.states is None and stateful.get_config()["stateful"] is True
    assert len(stateful.get_weights()) == len(whole.get_weights())   # the states are not weights


def test_stateful_model_carries_states_through_fit_without_recompiling():
    model = hl.Sequential([hl.Input((T, F), batch_size=B), hl.layers.LSTM(U, stateful=True), hl.layers.Dense(1)])
    lstm = model.layers[0]
    reference = hl.layers.LSTM(U, return_state=True)
    reference(X)
    reference.set_weights(lstm.get_weights())
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(X, np.zeros((B, 1), "float32"))
    # The step's forward pass ran with the weights before the update: its final states are kept.
    _, h, c = reference(X)
    np.testing.assert_allclose(np.asarray(lstm.states[0]), np.asarray(h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(lstm.states[1]), np.asarray(c), rtol=1e-5, atol=1e-6)
    xs, ys = np.concatenate([X, X]), np.zeros((2 * B, 1), "float32")
    model.fit(xs, ys, batch_size=B, epochs=1, shuffle=False, verbose=0)
    with count_compilations() as compiled:
        model.fit(xs, ys, batch_size=B, epochs=2, shuffle=False, verbose=0,
                  callbacks=[hl.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: lstm.reset_states())])
    assert not compiled, compiled
    assert not np.asarray(lstm.states[0]).any()   # reset by the callback at the last epoch's end


def test_recurrent_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"stateful and was built for batches of 3 sequences, got a batch of 2"):
        layer = hl.layers.GRU(U, stateful=True)
        layer(X)
        layer(X[:2])
    with pytest.raises(ValueError, match=r"must be an RNN cell: an object with a call\(inputs, states\) method"):
        hl.layers.RNN(hl.layers.Dense(3))
    with pytest.raises(ValueError, match=r"is not stateful: only a recurrent layer made with stateful=True"):
        hl.layers.LSTM(U).reset_states()
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\) = \(3, 6\), got \(3, 5\)"):
        hl.layers.LSTM(U)(X, mask=MASK[:, :5])
    with pytest.raises(ValueError, match=r"LSTMCell units must be a positive integer, got 0"):
        hl.layers.LSTMCell(0)
