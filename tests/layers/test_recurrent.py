"""Recurrent layers: the shared harness, equality with Keras 3 on the same weights, errors."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

B, T, F, U = 3, 5, 4, 6
X = np.random.default_rng(1).standard_normal((B, T, F)).astype("float32")

# -- the harness ---------------------------------------------------------------

HARNESS_CASES = [
    (hl.layers.SimpleRNN, {"units": U}, (B, U), 3),
    (hl.layers.SimpleRNN, {"units": U, "return_sequences": True, "use_bias": False}, (B, T, U), 2),
    (hl.layers.LSTM, {"units": U}, (B, U), 3),
    (hl.layers.LSTM, {"units": U, "return_sequences": True, "go_backwards": True}, (B, T, U), 3),
    (hl.layers.LSTM, {"units": U, "return_state": True}, [(B, U), (B, U), (B, U)], 3),
    (hl.layers.LSTM, {"units": U, "dropout": 0.2, "recurrent_dropout": 0.1,
                      "kernel_regularizer": "l2"}, (B, U), 3),
    (hl.layers.GRU, {"units": U}, (B, U), 3),
    (hl.layers.GRU, {"units": U, "reset_after": False, "return_state": True}, [(B, U), (B, U)], 3),
    (hl.layers.GRU, {"units": U, "return_sequences": True, "unroll": True}, (B, T, U), 3),
    (hl.layers.Bidirectional, {"layer": hl.layers.LSTM(U)}, (B, 2 * U), 6),
    (hl.layers.Bidirectional, {"layer": hl.layers.GRU(U, return_sequences=True), "merge_mode": "sum"},
     (B, T, U), 6),
    (hl.layers.Bidirectional, {"layer": hl.layers.SimpleRNN(U, return_state=True), "merge_mode": None},
     [(B, U), (B, U), (B, U), (B, U)], 6),
    (hl.layers.Bidirectional, {"layer": hl.layers.LSTM(U, return_state=True),
                               "backward_layer": hl.layers.LSTM(U, return_state=True, go_backwards=True,
                                                                activation="relu")},
     [(B, 2 * U), (B, U), (B, U), (B, U), (B, U)], 6),
]


def _case_id(case):
    cls, kwargs = case[0], case[1]
    return cls.__name__ + "-" + "-".join(f"{k}={getattr(v, 'name', v)}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", HARNESS_CASES, ids=_case_id)
def test_harness(case):
    cls, kwargs, out_shape, n_weights = case
    run_layer_test(cls, kwargs, (B, T, F), out_shape, expected_num_trainable_weights=n_weights,
                   run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="needs hl.Model (the trainer), not yet in place")
@pytest.mark.parametrize("case", HARNESS_CASES, ids=_case_id)
def test_harness_with_training_step(case):
    cls, kwargs, out_shape, n_weights = case
    run_layer_test(cls, kwargs, (B, T, F), out_shape, expected_num_trainable_weights=n_weights)


# -- equality with Keras -------------------------------------------------------


def _keras_call(layer, *args, **kwargs):
    # Keras itself relies on implicit rank promotion (e.g. its orthogonal initializer).
    with jax.numpy_rank_promotion("allow"):
        out = layer(*args, **kwargs)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]


def _hl_call(layer, *args, **kwargs):
    out = layer(*args, **kwargs)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]


def _random_weights(layer):
    # Random biases too, so that every bias row and gate block is checked.
    rng = np.random.default_rng(2)
    return [0.5 * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()]


def _assert_same(keras_layer, hl_layer, x=X, **call_kwargs):
    with jax.numpy_rank_promotion("allow"):
        keras_layer.build(x.shape)  # building, unlike an eager Keras call, compiles nothing
    hl_layer(x, **call_kwargs)
    weights = _random_weights(keras_layer)
    keras_layer.set_weights(weights)
    hl_layer.set_weights(weights)
    assert [w.shape for w in hl_layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    assert hl_layer.count_params() == keras_layer.count_params()
    expected = _keras_call(keras_layer, x, **call_kwargs)
    got = _hl_call(hl_layer, x, **call_kwargs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


RNN_CONFIGS = [("SimpleRNN", {}), ("SimpleRNN", {"activation": "relu", "use_bias": False}),
               ("LSTM", {}), ("LSTM", {"use_bias": False}),
               ("LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),
               ("GRU", {}), ("GRU", {"reset_after": False}), ("GRU", {"use_bias": False})]
RNN_OPTIONS = [{}, {"return_sequences": True, "return_state": True},
               {"return_sequences": True, "return_state": True, "go_backwards": True}]


@pytest.mark.parametrize("name,config", RNN_CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("options", RNN_OPTIONS, ids=str)
def test_rnn_matches_keras(name, config, options):
    kwargs = {**config, **options}
    _assert_same(getattr(keras.layers, name)(U, **kwargs), getattr(hl.layers, name)(U, **kwargs))


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_unrolled_matches_keras(name):
    _assert_same(getattr(keras.layers, name)(U, unroll=True, return_sequences=True),
                 getattr(hl.layers, name)(U, unroll=True, return_sequences=True))
    # A partial unroll (an extension: Keras takes only bools) gives the same numbers.
    layer, partial = getattr(hl.layers, name)(U), getattr(hl.layers, name)(U, unroll=2)
    layer(X), partial(X)
    partial.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(partial(X)), np.asarray(layer(X)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("options", [{"return_state": True},
                                     {"return_sequences": True, "return_state": True}], ids=str)
def test_bidirectional_lstm_matches_keras(merge_mode, options):
    _assert_same(keras.layers.Bidirectional(keras.layers.LSTM(U, **options), merge_mode=merge_mode),
                 hl.layers.Bidirectional(hl.layers.LSTM(U, **options), merge_mode=merge_mode))


@pytest.mark.parametrize("name,config", [("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {})])
def test_bidirectional_gru_and_simple_rnn_match_keras(name, config):
    kwargs = {**config, "return_sequences": True, "return_state": True}
    _assert_same(keras.layers.Bidirectional(getattr(keras.layers, name)(U, **kwargs)),
                 hl.layers.Bidirectional(getattr(hl.layers, name)(U, **kwargs)))


def test_bidirectional_with_backward_layer_matches_keras():
    def make(lib):
        return lib.layers.Bidirectional(
            lib.layers.LSTM(U, return_sequences=True),
            backward_layer=lib.layers.GRU(U, return_sequences=True, go_backwards=True), merge_mode="ave")
    _assert_same(make(keras), make(hl))


def test_initial_state_matches_keras():
    rng = np.random.default_rng(3)
    h0, c0 = (rng.standard_normal((B, U)).astype("float32") for _ in range(2))
    _assert_same(keras.layers.LSTM(U, return_state=True), hl.layers.LSTM(U, return_state=True),
                 initial_state=[h0, c0])
    _assert_same(keras.layers.GRU(U, return_sequences=True), hl.layers.GRU(U, return_sequences=True),
                 initial_state=[h0])
    _assert_same(keras.layers.Bidirectional(keras.layers.LSTM(U, return_state=True)),
                 hl.layers.Bidirectional(hl.layers.LSTM(U, return_state=True)),
                 initial_state=[h0, c0, c0, h0])
    # The list form [x, *states] (what a functional graph records) gives the same result.
    layer = hl.layers.LSTM(U)
    np.testing.assert_array_equal(np.asarray(layer([X, h0, c0])),
                                  np.asarray(layer(X, initial_state=[h0, c0])))


def test_default_initialization_matches_keras_layout():
    lstm = hl.layers.LSTM(U)
    lstm(X)
    kernel, recurrent, bias = lstm.get_weights()
    assert kernel.shape == (F, 4 * U) and recurrent.shape == (U, 4 * U)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])  # i, f, c, o
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(U), atol=1e-5)  # orthogonal rows
    gru = hl.layers.GRU(U)
    gru(X)
    assert [w.shape for w in gru.get_weights()] == [(F, 3 * U), (U, 3 * U), (2, 3 * U)]


# -- symbolic use ----------------------------------------------------------------


def test_symbolic_shapes_and_initial_state():
    x = hl.Input((None, F))
    seq, h, c = hl.layers.LSTM(U, return_sequences=True, return_state=True)(x)
    assert seq.shape == (None, None, U) and h.shape == (None, U) and c.shape == (None, U)
    out = hl.layers.GRU(U)(hl.Input((T, F)), initial_state=[hl.Input((U,))])
    assert out.shape == (None, U)
    both = hl.layers.Bidirectional(hl.layers.GRU(U, return_sequences=True), merge_mode=None)(x)
    assert [t.shape for t in both] == [(None, None, U), (None, None, U)]


# -- dropout ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("rates", [{"dropout": 0.5}, {"recurrent_dropout": 0.5},
                                   {"dropout": 0.3, "recurrent_dropout": 0.4}], ids=str)
def test_dropout(name, rates):
    layer = getattr(hl.layers, name)(U, return_sequences=True, **rates)
    inference = np.asarray(layer(X))
    train = np.asarray(layer(X, training=True))
    assert np.all(np.isfinite(train)) and not np.allclose(train, inference)
    assert layer.get_config()["dropout"] == rates.get("dropout", 0.0)
    # The rates are arrays in the state: at rate 0 the training path (masks of
    # ones, per-gate when recurrent dropout is on) computes exactly the inference output.
    for attr in ("dropout_rate", "recurrent_dropout_rate"):
        if hasattr(layer, attr):
            layer._set_hyperparameter(attr, 0.0)
    np.testing.assert_allclose(np.asarray(layer(X, training=True)), inference, rtol=1e-6, atol=1e-6)


def test_dropout_mask_is_shared_across_time():
    layer = hl.layers.SimpleRNN(U, dropout=0.5, use_bias=False, return_sequences=True)
    layer(X)
    layer.set_weights([np.eye(F, U, dtype="float32"), np.zeros((U, U), "float32")])
    # The same step input at every step: with one mask per sequence, every step's output is equal.
    x = np.repeat(np.random.default_rng(4).standard_normal((B, 1, F)).astype("float32"), T, axis=1)
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out, np.repeat(out[:, :1], T, axis=1), rtol=1e-6)
    assert not np.allclose(out, np.asarray(layer(x)))


def test_gradients_are_finite_under_jit():
    layer = hl.layers.Bidirectional(hl.layers.LSTM(U, dropout=0.2, return_sequences=True))
    layer(X)

    @jax.jit
    def loss(x):
        with hl.layers.call_context(training=True, rng=jax.random.key(0)):
            return (layer(x) ** 2).sum()

    grad = np.asarray(jax.grad(loss)(X))
    assert grad.shape == X.shape and np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_regularizers_add_losses():
    layer = hl.layers.LSTM(U, kernel_regularizer="l2", recurrent_regularizer="l1", bias_regularizer="l2")
    layer(X)
    kernel, recurrent, bias = layer.get_weights()
    expected = 0.01 * (np.sum(kernel ** 2) + np.sum(np.abs(recurrent)) + np.sum(bias ** 2))
    np.testing.assert_allclose(float(layer.regularization_loss()), expected, rtol=1e-5)


# -- errors ----------------------------------------------------------------------


def test_wrong_rank_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"LSTM layer 'my_lstm' expects inputs of shape "
                                         r"\(batch, timesteps, features\), got shape \(3, 4\)"):
        hl.layers.LSTM(U, name="my_lstm")(np.ones((3, 4), "float32"))
    with pytest.raises(ValueError, match=r"GRU layer 'g' expects .* got shape \(None, 4\)"):
        hl.layers.GRU(U, name="g")(hl.Input((4,)))


def test_wrong_feature_count_after_build():
    layer = hl.layers.SimpleRNN(U, name="rnn")
    layer(X)
    with pytest.raises(ValueError, match=r"\(3, 5, 7\) does not match layer 'rnn' \(SimpleRNN\), "
                                         r"which was built for inputs of shape \(None, None, 4\)"):
        layer(np.ones((B, T, 7), "float32"))


def test_initial_state_errors():
    layer = hl.layers.LSTM(U, name="lstm_s")
    with pytest.raises(ValueError, match=r"'lstm_s' takes 2 initial state\(s\) \[h, c\], got 1"):
        layer(X, initial_state=[np.zeros((B, U), "float32")])
    with pytest.raises(ValueError, match=r"initial state c must have shape \(3, 6\) \(batch, units\), "
                                         r"got \(3, 2\)"):
        layer(X, initial_state=[np.zeros((B, U), "float32"), np.zeros((B, 2), "float32")])
    with pytest.raises(ValueError, match="initial states twice"):
        layer([X, np.zeros((B, U), "float32")], initial_state=[np.zeros((B, U), "float32")])
    with pytest.raises(ValueError, match="an even number"):
        hl.layers.Bidirectional(hl.layers.GRU(U))(X, initial_state=[np.zeros((B, U), "float32")])


def test_argument_errors():
    with pytest.raises(ValueError, match=r"merge_mode must be one of 'concat', 'sum', 'mul', 'ave' "
                                         r"or None, got 'max'"):
        hl.layers.Bidirectional(hl.layers.LSTM(U), merge_mode="max")
    with pytest.raises(ValueError, match="must be a recurrent layer such as hl.layers.LSTM"):
        hl.layers.Bidirectional(hl.layers.Dense(U))
    with pytest.raises(ValueError, match="must have different go_backwards"):
        hl.layers.Bidirectional(hl.layers.LSTM(U, go_backwards=True))
    with pytest.raises(ValueError, match=r"must agree on return_sequences, got False \(forward\) "
                                         r"and True \(backward\)"):
        hl.layers.Bidirectional(hl.layers.LSTM(U),
                                backward_layer=hl.layers.LSTM(U, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match=r"LSTM units must be a positive integer, got 0"):
        hl.layers.LSTM(0)
    with pytest.raises(ValueError, match=r"GRU recurrent_dropout must be a float in \[0, 1\), got 1.5"):
        hl.layers.GRU(U, recurrent_dropout=1.5)
    with pytest.raises(TypeError, match="unexpected arguments: implementation"):
        hl.layers.LSTM(U, implementation=2)
    with pytest.raises(ValueError, match=r"is stateful, so its batch size must be fixed: give the input one"):
        hl.Sequential([hl.Input((T, F)), hl.layers.LSTM(U, stateful=True)])


# -- Keras configs ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [{}, {"seed": 7, "dropout": 0.2, "return_sequences": True}], ids=str)
def test_keras_config_loads_and_matches_keras(name, options):
    keras_layer = getattr(keras.layers, name)(U, **options)
    config = {k: v for k, v in keras_layer.get_config().items() if k != "dtype"}
    hl_layer = getattr(hl.layers, name).from_config(config)
    # Keras's SimpleRNN leaves its seed out of its config; highlevel writes it for all three.
    assert hl_layer.seed == config.get("seed")
    assert hl_layer.get_config()["seed"] == config.get("seed")
    _assert_same(keras_layer, hl_layer)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_seed_is_folded_into_the_dropout_key(name):
    from highlevel.layers import call_context

    def train_output(seed):
        layer = getattr(hl.layers, name)(U, dropout=0.5, recurrent_dropout=0.3, seed=seed)
        layer(X)
        layer.set_weights(_random_weights(layer))
        with call_context(training=True, rng=jax.random.key(1)):
            return np.asarray(layer(X, training=True))

    np.testing.assert_array_equal(train_output(3), train_output(3))
    assert not np.array_equal(train_output(3), train_output(4))
    assert not np.array_equal(train_output(3), train_output(None))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        getattr(hl.layers, name)(U, seed=-1)
    assert getattr(hl.layers, name).from_config(getattr(hl.layers, name)(U, seed=5).get_config()).seed == 5
