"""OptimizerMap (Keras 3.15's variable-path regexes to optimizers) and MultiOptimizer built from it.

Fitting compares with ``keras.optimizers.MultiOptimizer(OptimizerMap(...))`` on the same
model, weights and batches; the map's lookups with Keras's own ``OptimizerMap``.
"""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import optimizers


def _models():
    hl.utils.set_random_seed(0)
    ours = hl.Sequential([hl.Input((4,)), hl.layers.Dense(5, activation="tanh", name="encoder"),
                          hl.layers.Dense(4, activation="tanh", name="hidden"), hl.layers.Dense(2, name="out")],
                         name="net")
    twin = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh", name="encoder"),
                             keras.layers.Dense(4, activation="tanh", name="hidden"),
                             keras.layers.Dense(2, name="out")],
                            name="net")
    twin.set_weights(ours.get_weights())
    return ours, twin


def _map(lib):
    opts = lib.optimizers
    # A weight's path is "net/<layer>/<weight>": an exact key, two regexes, the default for the rest.
    return opts.OptimizerMap(opts.SGD(0.1, momentum=0.5), {
        "net/out/bias": opts.Adam(0.05),
        r".*encoder/.*": opts.Muon(0.02, rms_rate=0.3),
        r"net/hidden/k.*": opts.RMSprop(0.01),
    })


def test_fit_matches_keras_multi_optimizer():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.standard_normal((32, 2)).astype("float32")
    ours, twin = _models()
    initial = ours.get_weights()
    ours.compile(optimizer=_map(hl), loss="mse")
    assert isinstance(ours.optimizer, optimizers.MultiOptimizer)
    twin.compile(optimizer=keras.optimizers.MultiOptimizer(_map(keras)), loss="mse")
    losses = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    with jax.numpy_rank_promotion("allow"):
        expected = twin.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    for w, kw, w0, v in zip(ours.get_weights(), twin.get_weights(), initial, twin.weights):
        np.testing.assert_allclose(w, kw, rtol=1e-5, atol=1e-6, err_msg=v.path)
        assert not np.allclose(w, w0), v.path  # every weight was trained by its optimizer


def test_a_matched_weight_takes_its_optimizers_single_step():
    ours, _ = _models()
    x = np.ones((2, 4), "float32")
    y = np.zeros((2, 2), "float32")
    before = ours.get_weights()
    # lr 0 for the default: only the weights the regex matches move, by plain SGD.
    opt_map = optimizers.OptimizerMap(optimizers.SGD(0.0), {r"net/hidden/.*": optimizers.SGD(0.5)})
    ours.compile(optimizer=opt_map, loss="mse")
    grads = _grads(before, x, y)
    ours.fit(x, y, batch_size=2, epochs=1, verbose=0)
    after = ours.get_weights()
    names = ["encoder/kernel", "encoder/bias", "hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    for name, w0, w1, g in zip(names, before, after, grads):
        expected = w0 - 0.5 * g if name.startswith("hidden") else w0
        np.testing.assert_allclose(w1, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def _grads(weights, x, y):
    # The mean-squared-error gradient, by jax.grad of a hand-written forward pass of the same network.
    def loss(ws):
        h = jax.numpy.tanh(x @ ws[0] + ws[1][None])
        h = jax.numpy.tanh(h @ ws[2] + ws[3][None])
        return jax.numpy.mean((h @ ws[4] + ws[5][None] - y) ** 2)
    return [np.asarray(g) for g in jax.grad(loss)([jax.numpy.asarray(w) for w in weights])]


def test_lookups_match_keras():
    def build(lib):
        m = lib.optimizers.OptimizerMap(default_optimizer=lib.optimizers.RMSprop())
        m["encoder/layer_0/dense"] = lib.optimizers.Adam()
        m["encoder/.*"] = lib.optimizers.SGD()
        m["decoder"] = lib.optimizers.Adam()
        return m
    ours, theirs = build(hl), build(keras)
    for key in ["decoder", "encoder/layer_0/dense", "encoder/layer_0/attention/query", "decoder/layer_0/dense",
                "encoder"]:
        assert type(ours[key]).__name__ == type(theirs[key]).__name__, key
    assert len(ours) == 3 and list(ours) == list(theirs)
    del ours["decoder"]
    assert type(ours["decoder"]) is optimizers.RMSprop


def test_errors_are_explained():
    opt_map = optimizers.OptimizerMap(optimizers.SGD(), {".*kernel.*": optimizers.Adam()})
    opt_map[".*dense.*"] = optimizers.SGD()
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable net/dense/kernel"):
        opt_map["net/dense/kernel"]
    with pytest.raises(ValueError, match="'.*dense.*' already exists in the OptimizerMap"):
        opt_map[".*dense.*"] = optimizers.Adam()
    with pytest.raises(ValueError, match="cannot be a LossScaleOptimizer"):
        opt_map["x"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(TypeError, match="must be an hl.optimizers.Optimizer instance, got 'adam'"):
        opt_map["y"] = "adam"
    with pytest.raises(TypeError, match="default_optimizer must be an hl.optimizers.Optimizer"):
        optimizers.OptimizerMap("sgd")
    with pytest.raises(TypeError, match="optimizer_map must be a dict"):
        optimizers.OptimizerMap(optimizers.SGD(), [("a", optimizers.Adam())])


def test_config_round_trips_and_learning_rate_is_the_defaults():
    opt_map = optimizers.OptimizerMap(optimizers.SGD(0.1), {"a/.*": optimizers.Adam(0.01)})
    again = optimizers.OptimizerMap.from_config(opt_map.get_config())
    assert again.get_config() == opt_map.get_config()
    assert type(again["a/b"]) is optimizers.Adam and again["a/b"].learning_rate == 0.01
    multi = optimizers.get(opt_map)
    assert isinstance(multi, optimizers.MultiOptimizer)
    assert multi.optimizers[0] is opt_map.default_optimizer and multi.learning_rate == pytest.approx(0.1)


def test_weight_paths_are_kerass_for_sequential_functional_and_nested_models():
    from highlevel.optimizers.optimizer_map import variable_paths
    from flax import nnx

    def build(lib):
        L = lib.layers
        inner_in = lib.Input((3,))
        inner = lib.Model(inner_in, L.Dense(2, name="d1")(inner_in), name="inner")
        outer_in = lib.Input((3,))
        functional = lib.Model(outer_in, L.Dense(1, name="d2")(inner(outer_in)), name="outer")
        sequential = lib.Sequential([lib.Input((3,)), lib.Sequential([L.Dense(2, name="d3")], name="block"),
                                     L.Dense(1, name="d4")], name="seq")
        return functional, sequential

    for ours, theirs in zip(build(hl), build(keras)):
        params = [p for p, v in nnx.iter_graph(ours) if isinstance(v, nnx.Param)]
        assert sorted(variable_paths(ours, params).values()) == sorted(v.path for v in theirs.trainable_weights)
