"""RandomPerspective against Keras 3 (the same corner points), plus its draws, config, fit and errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers


def _keras(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


@pytest.mark.parametrize("kwargs", [{}, {"factor": (0.5, 1.0), "scale": 0.3, "interpolation": "nearest",
                                         "fill_value": 2.0, "seed": 4, "data_format": "channels_first"}])
def test_layer_harness_and_config(kwargs):
    shape = (3, 6, 5, 3) if "data_format" not in kwargs else (3, 3, 6, 5)
    layer = run_layer_test(L.RandomPerspective, kwargs, shape, shape)
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.RandomPerspective and clone.get_config() == config
    assert set(keras.layers.RandomPerspective(**kwargs).get_config()) <= set(config)


@pytest.mark.parametrize("kwargs", [{"factor": 0.9, "scale": 0.8},
                                    {"factor": (1.0, 1.0), "scale": 0.4, "interpolation": "nearest",
                                     "fill_value": 7.0}])
def test_transform_matches_keras(kwargs, rng):
    x = rng.uniform(0.0, 255.0, (6, 9, 8, 3)).astype("float32")
    keras_layer = keras.layers.RandomPerspective(**kwargs)
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomPerspective(**kwargs).transform_images(x, transformation))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-2)


def test_identity_outside_training_and_with_no_warp(rng):
    x = rng.uniform(0.0, 1.0, (4, 6, 7, 2)).astype("float32")
    layer = L.RandomPerspective(factor=(1.0, 1.0), scale=0.5)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])
    y = np.asarray(layer(x, training=True))
    assert all(not np.allclose(y[i], x[i]) for i in range(4))
    np.testing.assert_allclose(y[:, 0, 0], x[:, 0, 0], atol=1e-5)      # the top-left corner stays
    layer.scale = 0.0
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), x, atol=1e-5)


def test_warping_probability(rng):
    x = rng.uniform(0.0, 1.0, (300, 4, 4, 1)).astype("float32")
    y = np.asarray(L.RandomPerspective(factor=(0.3, 0.3))(x, training=True))
    warped = ~np.all(y == x, axis=(1, 2, 3))
    assert 0.2 < warped.mean() < 0.4


class _Schedule(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_begin(self, epoch, logs=None):
        self.model.layers[0].factor = 0.3 * (epoch + 1)
        self.model.layers[0].scale = 0.2 * (epoch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_factors_change(rng):
    x, y = rng.uniform(0, 1, (20, 6, 6, 3)).astype("float32"), rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((6, 6, 3)), L.RandomPerspective(), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"])) and model.layers[0].scale == 0.6


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandomPerspective(scale=1.5), r"RandomPerspective scale must be a number in \[0, 1\], got 1.5"),
    (lambda: L.RandomPerspective(factor=(0.2, 2)), r"RandomPerspective factor .*\[0, 1\], got \(0.2, 2\)"),
    (lambda: L.RandomPerspective(interpolation="bicubic"), r"RandomPerspective got interpolation='bicubic'"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
