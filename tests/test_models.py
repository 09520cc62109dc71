"""Sequential and functional models: building, Keras weight order, config, saving, the nnx module."""

import json

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from flax import nnx

import highlevel as hl


def _keras_cnn():
    with jax.numpy_rank_promotion("allow"):  # Keras relies on implicit rank promotion
        return keras.Sequential([keras.Input((10, 10, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2),
                             keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(4)])


def _hl_cnn():
    return hl.Sequential([hl.Input((10, 10, 3)), hl.layers.Conv2D(8, 3, activation="relu"),
                          hl.layers.BatchNormalization(), hl.layers.MaxPooling2D(2),
                          hl.layers.Flatten(), hl.layers.Dense(16, activation="relu"),
                          hl.layers.Dense(4)])


def test_sequential_matches_keras_on_keras_weights(rng):
    kmodel, model = _keras_cnn(), _hl_cnn()
    assert model.count_params() == kmodel.count_params()
    kmodel.layers[1].moving_variance.assign(rng.uniform(0.5, 2.0, 8).astype("float32"))
    model.set_weights(kmodel.get_weights())
    x = rng.standard_normal((5, 10, 10, 3)).astype(np.float32)
    with jax.numpy_rank_promotion("allow"):
        expected = np.asarray(kmodel.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=1e-5)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in kmodel.get_weights()]


def test_functional_matches_keras_with_shared_and_nested_layers(rng):
    def build(lib):
        a, b = lib.Input((6,)), lib.Input((6,))
        shared = lib.layers.Dense(5, activation="tanh")
        inner = lib.Sequential([lib.Input((10,)), lib.layers.Dense(4, activation="relu")])
        h = lib.layers.Concatenate()([shared(a), shared(b)])
        return lib.Model([a, b], [inner(h), lib.layers.Dense(2)(h)])

    with jax.numpy_rank_promotion("allow"):
        kmodel = build(keras)
    model = build(hl)
    assert model.count_params() == kmodel.count_params() == (6 * 5 + 5) + (10 * 4 + 4) + (10 * 2 + 2)
    model.set_weights(kmodel.get_weights())
    xa, xb = rng.standard_normal((3, 6)).astype(np.float32), rng.standard_normal((3, 6)).astype(np.float32)
    with jax.numpy_rank_promotion("allow"):
        expected = kmodel.predict([xa, xb], verbose=0)
    for ours, theirs in zip(model.predict([xa, xb], verbose=0), expected):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_lazy_building_from_the_first_batch(rng):
    model = hl.Sequential([hl.layers.Dense(8, activation="relu"), hl.layers.Dense(1)])
    assert not model.built
    with pytest.raises(ValueError, match="no weights yet"):
        model.count_params()
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((20, 7)).astype(np.float32)
    model.fit(x, x[:, :1], batch_size=10, epochs=1, verbose=0)
    assert model.built and model.count_params() == 7 * 8 + 8 + 8 + 1


def test_add_get_layer_and_summary(capsys):
    model = hl.Sequential(name="net")
    model.add(hl.Input((4,)))
    model.add(hl.layers.Dense(3, name="hidden"))
    model.add(hl.layers.BatchNormalization(name="bn"))
    model.add(hl.layers.Dense(1, name="out"))
    assert [l.name for l in model.layers] == ["hidden", "bn", "out"]
    assert model.get_layer("bn") is model.layers[1]
    with pytest.raises(ValueError, match="No layer named 'nope'.*hidden, bn, out"):
        model.get_layer("nope")
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "net"' in text
    assert "hidden (Dense)" in text and "(None, 3)" in text and "bn (BatchNormalization)" in text
    # Dense 4*3+3, BatchNormalization 4*3 (6 of them moving statistics), Dense 3+1.
    assert "Total params: 31" in text and "Trainable params: 25" in text and "Non-trainable params: 6" in text


def test_model_call_works_inside_jit_and_grad(rng):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4, activation="tanh"), hl.layers.Dense(1)])
    x = jnp.asarray(rng.standard_normal((2, 3)).astype(np.float32))
    out = jax.jit(lambda v: model(v, training=False))(x)
    np.testing.assert_allclose(out, model.predict(np.asarray(x), verbose=0), atol=1e-6)
    saliency = jax.grad(lambda v: model(v).sum())(x)
    kernel1, bias1, kernel2, _ = model.get_weights()
    h = np.tanh(np.asarray(x) @ kernel1 + bias1)
    expected = ((1 - h ** 2) * kernel2[:, 0]) @ kernel1.T
    np.testing.assert_allclose(saliency, expected, rtol=1e-5, atol=1e-6)


def test_module_is_an_nnx_module_usable_in_plain_flax(rng):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    module = model.module
    assert isinstance(module, nnx.Module)
    assert isinstance(model.layers[0].kernel, nnx.Param)
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    x = rng.standard_normal((4, 3)).astype(np.float32)

    @jax.jit
    def forward(p, v):
        return nnx.merge(graphdef, p, rest)(v)

    np.testing.assert_allclose(forward(params, x), model.predict(x, verbose=0), atol=1e-6)


def test_user_nnx_module_as_a_layer_trains(rng):
    class Block(nnx.Module):
        def __init__(self, rngs):
            self.linear = nnx.Linear(3, 4, rngs=rngs)

        def __call__(self, x):
            return nnx.relu(self.linear(x))

    model = hl.Sequential([hl.Input((3,)), hl.layers.FlaxLayer(Block(nnx.Rngs(0))), hl.layers.Dense(1)])
    assert model.count_params() == 3 * 4 + 4 + 4 + 1
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((16, 3)).astype(np.float32)
    before = model.get_weights()
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_config_round_trip_sequential_and_functional(rng):
    seq = _hl_cnn()
    clone = hl.Sequential.from_config(json.loads(json.dumps(seq.get_config())))
    clone.set_weights(seq.get_weights())
    x = rng.standard_normal((2, 10, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), seq.predict(x, verbose=0), atol=1e-6)

    a = hl.Input((4,))
    shared = hl.layers.Dense(4, activation="relu")
    out = hl.layers.Add()([shared(a), shared(shared(a))])
    func = hl.Model(a, hl.layers.Dense(2)(out))
    clone = hl.Model.from_config(json.loads(json.dumps(func.get_config())))
    assert clone.count_params() == func.count_params()
    clone.set_weights(func.get_weights())
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), func.predict(x, verbose=0), atol=1e-6)


def test_save_and_load_model_with_optimizer_state(tmp_path, rng):
    x = rng.standard_normal((32, 10, 10, 3)).astype(np.float32)
    y = rng.integers(0, 4, 32)
    model = _hl_cnn()
    model.compile(optimizer=hl.optimizers.Adam(1e-3),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(model.trainer.state.opt_state),
                    jax.tree_util.tree_leaves(loaded.trainer.state.opt_state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Both continue identically (shuffle off: same batches).
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_save_weights_load_weights_and_missing_files(tmp_path, rng):
    model, other = _hl_cnn(), _hl_cnn()
    model.save_weights(tmp_path / "w")
    other.load_weights(tmp_path / "w")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="No saved weights at .*missing"):
        other.load_weights(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="No saved model at .*nothing"):
        hl.models.load_model(tmp_path / "nothing")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary leftovers


def test_layer_trainable_flag_is_keras_like():
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2), hl.layers.BatchNormalization()])
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    assert not model.layers[0].trainable


def test_partly_frozen_nested_model_keeps_each_layers_flag_through_config():
    inner = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4, name="frozen"), hl.layers.Dense(4, name="free")],
                          name="inner")
    model = hl.Sequential([hl.Input((3,)), inner, hl.layers.Dense(1, name="out")])
    inner.get_layer("frozen").trainable = False
    clone = hl.Sequential.from_config(model.get_config())
    flags = {l.name: l.trainable for l in clone.layers[0].layers + clone.layers[1:]}
    assert flags == {"frozen": False, "free": True, "out": True}
    model.trainable = False
    clone = hl.Sequential.from_config(model.get_config())
    assert not any(l.trainable for l in clone.layers[0].layers + clone.layers[1:])


def test_default_layer_names_are_keras_names():
    """``Conv2D`` is named ``conv2d`` as in Keras (not ``conv2_d``), so names in saved files and
    summaries read the same in both."""
    classes = ["Conv2D", "MaxPooling2D", "Conv2DTranspose", "GlobalAveragePooling2D", "LSTM", "SimpleRNN",
               "BatchNormalization", "DepthwiseConv2D", "UpSampling2D", "ZeroPadding2D", "Conv1D", "ReLU",
               "SeparableConv2D", "LayerNormalization", "Dense"]
    args = {"Conv2D": (2, 3), "Conv2DTranspose": (2, 3), "Conv1D": (2, 3), "SeparableConv2D": (2, 3),
            "DepthwiseConv2D": (3,), "LSTM": (2,), "SimpleRNN": (2,), "Dense": (2,)}
    for name in classes:
        ours = getattr(hl.layers, name)(*args.get(name, ())).name
        theirs = getattr(keras.layers, name)(*args.get(name, ())).name
        assert _strip_count(ours) == _strip_count(theirs), (name, ours, theirs)


def _strip_count(name: str) -> str:
    """``conv2d_3`` -> ``conv2d``: the counters differ between two libraries' sessions."""
    import re
    return re.sub(r"_\d+$", "", name)


def test_random_layers_inside_jit_need_a_key():
    """A hand-written jitted step calling model(x, training=True) draws a new dropout mask per
    key; without a key it is refused (the global generator would fix one mask at trace time)."""
    model = hl.Sequential([hl.Input((64,)), hl.layers.Dropout(0.5)])
    x = jnp.ones((4, 64))
    step = jax.jit(lambda x, key: model(x, training=True, rng=key))
    a, b = step(x, jax.random.key(0)), step(x, jax.random.key(1))
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(step(x, jax.random.key(0))), np.asarray(a))
    kept = np.asarray(a) != 0
    assert 0.3 < kept.mean() < 0.7 and np.allclose(np.asarray(a)[kept], 2.0)   # scaled by 1 / (1 - rate)
    with pytest.raises(ValueError, match=r"Pass one: model\(x, training=True, rng=key\)"):
        jax.jit(lambda x: model(x, training=True))(x)
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda x: model(x))(x)), np.ones((4, 64)))
