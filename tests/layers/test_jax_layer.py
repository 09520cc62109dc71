"""JaxLayer against Keras 3.15's on the same params: a plain JAX function and a pytree of
params (from init_fn or given), trained by fit, its state kept, saved and loaded."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl

L = hl.layers


@hl.utils.register_serializable(name="test_jax_layer>mlp_init")
def mlp_init(rng, inputs):
    k1, k2 = jax.random.split(rng)
    return {"hidden": {"w": 0.5 * jax.random.normal(k1, (inputs.shape[-1], 8)), "b": jnp.zeros((8,))},
            "out": (0.5 * jax.random.normal(k2, (8, 1)),)}


@hl.utils.register_serializable(name="test_jax_layer>mlp_call")
def mlp_call(params, inputs):
    hidden = jnp.tanh(inputs @ params["hidden"]["w"] + params["hidden"]["b"][None, :])
    return hidden @ params["out"][0]


def counting_init(rng, inputs, training):
    assert training is True
    return {"w": jax.random.normal(rng, (inputs.shape[-1], 2))}, {"mean": jnp.zeros((2,)), "steps": jnp.zeros((), "int32")}


def counting_call(params, state, rng, inputs, training):
    out = inputs @ params["w"]
    if training:
        out = out + 0.01 * jax.random.normal(rng, out.shape)
    return out, {"mean": 0.5 * state["mean"] + 0.5 * out.mean(0), "steps": state["steps"] + 1}


def _data(rng):
    x = rng.standard_normal((64, 3)).astype("float32")
    return x, np.tanh(x @ np.array([[1.0], [-2.0], [0.5]], "float32"))


def test_fit_trains_params_which_are_the_weights(rng, tmp_path):
    x, y = _data(rng)
    hl.utils.set_random_seed(1)
    layer = L.JaxLayer(mlp_call, mlp_init)
    model = hl.Sequential([hl.Input((3,)), layer])
    # The pytree's leaves, in jax.tree_util order: hidden/b, hidden/w, out[0].
    assert [w.shape for w in model.get_weights()] == [(8,), (3, 8), (8, 1)]
    assert len(layer.trainable_weights) == 3 and model.count_params() == 8 + 24 + 8
    model.compile(hl.optimizers.Adam(0.03), "mse")
    before = model.get_weights()
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    np.testing.assert_array_equal(np.asarray(layer.params["hidden"]["w"]), after[1])   # the pytree is the weights

    model.save_weights(tmp_path / "w.weights.h5")
    twin = hl.Sequential([hl.Input((3,)), L.JaxLayer(mlp_call, mlp_init)])
    twin.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    model.save(tmp_path / "m.keras")   # call_fn and init_fn are registered, so the config loads
    loaded = hl.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.layers[-1].get_config()["call_fn"] == "test_jax_layer>mlp_call"


def test_outputs_equal_keras_on_the_same_params(rng):
    x, _ = _data(rng)
    params = mlp_init(jax.random.key(3), x)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.JaxLayer(mlp_call, params=params)
        expected = np.asarray(theirs(x))
    ours = L.JaxLayer(mlp_call, params=params)
    assert ours.built
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-6, atol=1e-6)
    # Keras's weights, set_weights'd into a layer that made its own with init_fn.
    built = L.JaxLayer(mlp_call, mlp_init)
    built(x)
    built.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(built(x)), expected, rtol=1e-6, atol=1e-6)


def test_state_rng_and_training_match_keras_and_update_in_fit(rng):
    x, _ = _data(rng)
    params, state = counting_init(jax.random.key(0), x, True)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.JaxLayer(counting_call, params=params, state=state)
        expected = np.asarray(theirs(x, training=False))
    ours = L.JaxLayer(counting_call, params=params, state=state)
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), expected, rtol=1e-6)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):   # w, then the state after one call
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(ours.trainable_weights) == 1 and len(ours.non_trainable_weights) == 2

    layer = L.JaxLayer(counting_call, counting_init, seed=3)
    model = hl.Sequential([hl.Input((3,)), layer])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((64, 2), "float32"), epochs=2, batch_size=16, verbose=0)
    assert int(layer.state["steps"]) == 8   # 2 epochs x 4 steps, kept by the compiled step
    a = np.asarray(layer(x[:4], training=True))
    b = np.asarray(layer(x[:4], training=True))
    assert not np.array_equal(a, b)   # a fresh key each training call


def test_usable_inside_jax_jit_and_grad(rng):
    x, y = _data(rng)
    layer = L.JaxLayer(mlp_call, mlp_init)
    layer(x)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda v: layer(v))(x)), np.asarray(layer(x)), rtol=1e-6)


def test_errors_name_the_layer_and_the_fix():
    with pytest.raises(ValueError, match="'j1': its call_fn must take an argument named 'inputs'"):
        L.JaxLayer(lambda params, x: x, params={}, name="j1")
    with pytest.raises(ValueError, match="unsupported argument 'deterministic'"):
        L.JaxLayer(lambda params, inputs, deterministic: inputs, params={})
    with pytest.raises(ValueError, match="pass init_fn .* or the params"):
        L.JaxLayer(mlp_call)
    config = L.JaxLayer(lambda params, inputs: inputs, params={"a": np.ones(2, "float32")}).get_config()
    with pytest.raises(ValueError, match="not registered in this process"):
        L.JaxLayer.from_config(config)
    stateful = L.JaxLayer(lambda params, state, inputs: (inputs, {"other": 1.0}), params={},
                          state={"s": np.zeros(2, "float32")}, name="j2")
    with pytest.raises(ValueError, match="'j2': the state call_fn returned has another structure"):
        stateful(np.ones((1, 2), "float32"))


def test_a_flax_linen_module_through_jax_layer_equals_keras_flax_layer(rng):
    linen = pytest.importorskip("flax.linen")

    class MLP(linen.Module):
        @linen.compact
        def __call__(self, inputs):
            return linen.Dense(1)(jnp.tanh(linen.Dense(4)(inputs)))

    module = MLP()
    x, y = _data(rng)
    variables = module.init(jax.random.key(0), x)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.FlaxLayer(module, variables=variables)
        expected = np.asarray(theirs(x))
    ours = L.JaxLayer(lambda params, inputs: module.apply(params, inputs),
                      lambda rng, inputs: module.init(rng, inputs))
    model = hl.Sequential([hl.Input((3,)), ours])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.compile(hl.optimizers.Adam(0.05), "mse")
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
