"""AlphaDropout: Keras 3's formula (checked on Keras's own output), its statistics, the mask's
shape, inference, a schedulable rate, config and saving."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def _affine(rate):
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    return a, -a * ALPHA_P * rate


def _kept(x, y, rate):
    """Which units were kept: each output is a * x + b (kept) or a * alpha' + b (dropped)."""
    a, b = _affine(rate)
    kept = np.isclose(y, a * x + b, rtol=1e-5, atol=1e-5)
    dropped = np.isclose(y, a * ALPHA_P + b, rtol=1e-5, atol=1e-5)
    assert np.all(kept | dropped)
    return kept & ~dropped


@pytest.mark.parametrize("kwargs", [{"rate": 0.2}, {"rate": 0.3, "noise_shape": (None, 1, 4), "seed": 2}])
def test_harness_and_config(kwargs):
    layer = run_layer_test(hl.layers.AlphaDropout, kwargs, (2, 6, 4), (2, 6, 4))
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    keras_config = keras.layers.AlphaDropout(**kwargs).get_config()
    assert {k: config[k] for k in ("rate", "seed")} == {k: keras_config[k] for k in ("rate", "seed")}


def test_formula_is_keras_and_statistics_hold(rng):
    x = rng.standard_normal((400, 250)).astype("float32")
    rate = 0.3
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.ops.convert_to_numpy(keras.layers.AlphaDropout(rate, seed=1)(x, training=True))
    ours = np.asarray(hl.layers.AlphaDropout(rate)(x, training=True))
    for y in (theirs, ours):   # the same two values, a * x + b or a * alpha' + b, in both
        kept = _kept(x, y, rate)
        assert abs(1 - kept.mean() - rate) < 0.01
        assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01   # self-normalizing: mean 0, variance 1


def test_noise_shape_broadcasts_the_mask_and_inference_is_identity(rng):
    x = rng.standard_normal((8, 50, 6)).astype("float32")
    layer = hl.layers.AlphaDropout(0.5, noise_shape=(None, 1, None))
    y = np.asarray(layer(x, training=True))
    kept = _kept(x, y, 0.5)
    assert np.all(kept == kept[:, :1, :]) and 0 < kept.mean() < 1
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_allclose(np.asarray(hl.layers.AlphaDropout(0.0)(x, training=True)), x, atol=1e-6)
    assert hl.layers.AlphaDropout(0.1, dtype="mixed_bfloat16")(x, training=True).dtype == jax.numpy.bfloat16


def test_rate_changes_without_recompiling_and_the_model_saves(rng, tmp_path):
    x = rng.standard_normal((16, 5)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    model = hl.Sequential([hl.Input((5,)), hl.layers.Dense(4, activation="selu"), hl.layers.AlphaDropout(0.1),
                           hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with count_compilations() as compiled:
        model.layers[1].rate = 0.4
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not [name for name in compiled if "step" in name], compiled
    assert model.layers[1].rate == 0.4
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert loaded.layers[1].rate == 0.4 and type(loaded.layers[1]) is hl.layers.AlphaDropout
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"AlphaDropout `rate` must be in \[0, 1\), got 1"):
        hl.layers.AlphaDropout(1)
    with pytest.raises(ValueError, match="AlphaDropout `noise_shape` must be a tuple of positive integers"):
        hl.layers.AlphaDropout(0.1, noise_shape=(0, 2))
    with pytest.raises(ValueError, match=r"has noise_shape \(None, 1\), which does not fit inputs of shape"):
        hl.layers.AlphaDropout(0.1, noise_shape=(None, 1))(np.ones((2, 3, 4), "float32"), training=True)
