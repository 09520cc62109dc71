"""SpectralNormalization against Keras 3 on the same weights: training and inference calls,
the power iteration's state, fit (Keras's JAX trainer keeps only u), config, saving, errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers


def _pair(name, kwargs, x, power_iterations, rng):
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.SpectralNormalization(getattr(keras.layers, name)(**kwargs),
                                                    power_iterations=power_iterations)
        theirs(x)
        weights = [w + 0.3 * rng.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
        theirs.set_weights(weights)
    ours = L.SpectralNormalization(getattr(L, name)(**kwargs), power_iterations=power_iterations)
    ours(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(weights)
    return theirs, ours


@pytest.mark.parametrize("name,kwargs,shape", [("Dense", {"units": 3}, (4, 5)),
                                               ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 5, 5, 3)),
                                               ("Conv1D", {"filters": 2, "kernel_size": 2}, (2, 6, 3))])
@pytest.mark.parametrize("power_iterations", [1, 3])
def test_training_and_inference_match_keras(name, kwargs, shape, power_iterations, rng):
    x = rng.standard_normal(shape).astype("float32")
    theirs, ours = _pair(name, kwargs, x, power_iterations, rng)
    for training in (True, True, False):
        with jax.numpy_rank_promotion("allow"):
            expected = keras.ops.convert_to_numpy(theirs(x, training=training))
        np.testing.assert_allclose(np.asarray(ours(x, training=training)), expected, rtol=1e-5, atol=1e-5)
        for got, want in zip(ours.get_weights(), theirs.get_weights()):   # the kernel / sigma and u
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert abs(np.linalg.norm(ours.get_weights()[0].reshape(-1, ours.get_weights()[0].shape[-1]), 2) - 1) < 0.2


def test_embeddings_are_normalized_and_keep_their_dtype(rng):
    ids = np.array([[0, 3, 5], [2, 2, 1]])
    layer = L.SpectralNormalization(L.Embedding(6, 4), power_iterations=30)
    y = layer(ids, training=True)
    assert y.dtype == np.float32 and y.shape == (2, 3, 4)
    assert abs(np.linalg.norm(np.asarray(layer.layer.embeddings.get_value()), 2) - 1.0) < 1e-3


def test_fit_matches_keras_and_inference_uses_the_raw_kernel(rng):
    x = rng.standard_normal((8, 5)).astype("float32")
    y = rng.standard_normal((8, 3)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.Sequential([keras.Input((5,)), keras.layers.SpectralNormalization(keras.layers.Dense(3))])
        theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        start = theirs.get_weights()
        theirs.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        expected = theirs.predict(x, verbose=0)
    ours = hl.Sequential([hl.Input((5,)), L.SpectralNormalization(L.Dense(3))])
    ours.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    ours.set_weights(start)
    ours.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    for got, want, before in zip(ours.get_weights(), theirs.get_weights(), start):
        assert not np.allclose(want, before)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_harness_config_and_saving(rng, tmp_path):
    layer = run_layer_test(L.SpectralNormalization, {"layer": L.Dense(3), "power_iterations": 2}, (2, 4), (2, 3),
                           expected_num_trainable_weights=2, expected_num_non_trainable_weights=1)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config and config["power_iterations"] == 2
    assert config["layer"]["class_name"] == "Dense"
    x = rng.standard_normal((6, 4)).astype("float32")
    model = hl.Sequential([hl.Input((4,)), L.SpectralNormalization(L.Dense(2))])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_zero_kernel_is_left_alone_and_mixed_precision():
    layer = L.SpectralNormalization(L.Dense(2, kernel_initializer="zeros"))
    layer(np.ones((1, 3), "float32"))
    u = layer.vector_u.get_value()
    assert np.all(np.isfinite(np.asarray(layer(np.ones((1, 3), "float32"), training=True))))
    np.testing.assert_array_equal(layer.vector_u.get_value(), u)
    mixed = L.SpectralNormalization(L.Dense(2, dtype="mixed_bfloat16"), dtype="mixed_bfloat16")
    out = mixed(np.ones((1, 3), "float32"), training=True)
    assert out.dtype == jax.numpy.bfloat16 and mixed.vector_u.get_value().dtype == np.float32


def test_errors():
    with pytest.raises(ValueError, match="SpectralNormalization needs a layer instance"):
        L.SpectralNormalization("dense")
    with pytest.raises(ValueError, match="power_iterations must be a positive integer, got 0"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Flatten '.*' has neither: wrap a layer such as Dense"):
        L.SpectralNormalization(L.Flatten())(np.ones((2, 3), "float32"))


def test_weights_pass_through_keras_weight_files_both_ways(tmp_path, rng):
    # Keras writes the wrapped kernel twice: the wrapper's vars (kernel, vector_u) and the
    # wrapped layer's (kernel, bias); both directions must give the same numbers.
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.Sequential([keras.Input((5,)), keras.layers.SpectralNormalization(keras.layers.Dense(3)),
                                   keras.layers.Dense(2)])
        theirs.set_weights([w + rng.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()])
        theirs.save_weights(tmp_path / "keras.weights.h5")
    ours = hl.Sequential([hl.Input((5,)), L.SpectralNormalization(L.Dense(3)), L.Dense(2)])
    ours.load_weights(tmp_path / "keras.weights.h5")
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    moved = [w * 0.5 for w in ours.get_weights()]
    ours.set_weights(moved)
    ours.save_weights(tmp_path / "ours.weights.h5")
    with jax.numpy_rank_promotion("allow"):
        theirs.load_weights(tmp_path / "ours.weights.h5")
        for a, b in zip(theirs.get_weights(), moved, strict=True):
            np.testing.assert_array_equal(a, b)
        x = rng.standard_normal((4, 5)).astype("float32")
        np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)),
                                   keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
