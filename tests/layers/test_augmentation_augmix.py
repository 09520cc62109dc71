"""AugMix against Keras 3.15 (Keras's own drawn chains and weights), plus its per-image draws, the mixing
by hand, configs, a compiled fit whose factor changes, and errors."""

import json
import random

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers


@pytest.mark.parametrize("kwargs", [{}, {"value_range": (0, 1), "num_chains": 2, "chain_depth": 1,
                                         "factor": (0.1, 0.4), "alpha": 0.5, "all_ops": False,
                                         "interpolation": "nearest", "seed": 2, "data_format": "channels_first"}])
def test_layer_harness_and_config(kwargs):
    shape = (2, 3, 6, 5) if "data_format" in kwargs else (2, 6, 5, 3)
    # One training step for the small configuration only (the fit below trains the layer too): the
    # default one compiles all eleven operations, slowly on a loaded CPU.
    layer = run_layer_test(L.AugMix, kwargs, shape, shape, run_training_step=bool(kwargs))
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.AugMix and clone.get_config() == config
    assert set(keras.layers.AugMix(**kwargs).get_config()) <= set(config)


def test_equals_keras_on_kerass_own_draws(rng):
    """Keras draws the chains (its Python ``random``), their operations' parameters and the weights;
    highlevel applies that same transformation. One image at a time: Keras's Equalization pools
    the histogram over the batch, highlevel's equalizes each image on its own."""
    random.seed(0)
    keras_layer = keras.layers.AugMix(num_chains=2, chain_depth=9, factor=(0.2, 0.6), seed=3)
    layer = L.AugMix(factor=(0.2, 0.6))
    seen = set()
    for _ in range(2):
        x = rng.uniform(0, 255, (1, 10, 9, 3)).astype("float32")
        with jax.numpy_rank_promotion("allow"):
            transformation = keras_layer.get_random_transformation(x, training=True)
            expected = keras.ops.convert_to_numpy(keras_layer.transform_images(x, transformation))
        seen |= {step["layer_name"] for chain in transformation["chain_transforms"] for step in chain}
        got = np.asarray(layer.transform_images(x, transformation))
        np.testing.assert_allclose(got, expected, atol=2e-3)
        assert np.abs(got - x).max() > 1
    assert len(seen) == 11, seen   # every one of Keras's operations was compared


def test_mixing_by_hand(rng):
    x = rng.uniform(0, 1, (1, 4, 4, 3)).astype("float32")
    layer = L.AugMix(value_range=(0, 1))
    stretched = np.asarray(L.AutoContrast((0, 1))(x))
    transformation = {"chain_mixing_weights": np.array([0.25, 0.75], "float32"), "weight_sample": 0.4,
                      "chain_transforms": [[{"layer_name": "auto_contrast", "transformation": None}], []]}
    expected = 0.4 * x + 0.6 * (0.25 * stretched + 0.75 * x)
    np.testing.assert_allclose(np.asarray(layer.transform_images(x, transformation)), expected, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(layer.transform_images(x, transformation, training=False)), x)


def test_training_inference_and_per_image_draws(rng):
    x = rng.uniform(0, 255, (6, 8, 8, 3)).astype("float32")
    layer = L.AugMix(num_chains=2, chain_depth=1, all_ops=False)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])
    same = np.repeat(x[:1], 6, axis=0)
    y = np.asarray(layer(same, training=True))
    assert y.shape == same.shape and y.dtype == np.float32 and y.min() >= 0 and y.max() <= 255
    assert len({image.tobytes() for image in y}) == 6   # each image its own chains and weights
    # No steps: every chain is the image, and so is the mix.
    np.testing.assert_allclose(np.asarray(L.AugMix(chain_depth=0)(x, training=True)), x, rtol=1e-5)
    assert np.abs(np.asarray(L.AugMix(chain_depth=0, value_range=(0, 100))(x, training=True)) - x).max() > 100


def test_factor_reaches_every_operation():
    layer = L.AugMix(all_ops=False)
    assert layer.factor == (0.0, 0.3) and layer.random_posterization.factor == (1, 2)
    layer.factor = (0.1, 0.5)
    assert layer.random_shear.x_factor == (0.1, 0.5) and layer.random_translation.width_factor == (0.1, 0.5)
    assert layer.random_sharpness.factor == (0.1, 0.5) and layer.solarization.threshold_factor == (0.1, 0.5)
    assert layer.random_posterization.factor == (1, 4)


class _Schedule(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_begin(self, epoch, logs=None):
        self.model.layers[0].factor = 0.2 * (epoch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_the_factor_changes(rng):
    x, y = rng.uniform(0, 1, (20, 6, 6, 3)).astype("float32"), rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((6, 6, 3)), L.AugMix(value_range=(0, 1), num_chains=2, chain_depth=1,
                                                                  all_ops=False),
                           L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"])) and model.layers[0].factor == (0.0, 0.6)


@pytest.mark.parametrize("make,message", [
    (lambda: L.AugMix(num_chains=0), r"AugMix num_chains must be an integer of at least 1, got 0"),
    (lambda: L.AugMix(chain_depth=-1), r"AugMix chain_depth must be an integer of at least 0, got -1"),
    (lambda: L.AugMix(alpha=0), r"AugMix alpha must be a positive number, got 0"),
    (lambda: L.AugMix(all_ops="yes"), r"AugMix all_ops must be True or False, got 'yes'"),
    (lambda: L.AugMix(factor=1.5), r"AugMix factor must be a number or a pair of numbers in \[0, 1\], got 1.5"),
    (lambda: L.AugMix(interpolation="cubic"), r"AugMix got interpolation='cubic'"),
    (lambda: L.AugMix(value_range=(3, 3)), r"value_range must be a pair of two different numbers"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_mixing_weights_are_dirichlet_and_beta(alpha):
    from highlevel.layers.augmentation_augmix import _mixing_weights
    chain_weights, weight = (np.asarray(w) for w in _mixing_weights(jax.random.key(1), alpha, shape=(40000, 3)))
    np.testing.assert_allclose(chain_weights.sum(axis=1), 1.0, rtol=1e-5)
    # Dirichlet(alpha, alpha, alpha): mean 1/3, variance (1/3)(2/3) / (3 alpha + 1); Beta(alpha, alpha):
    # mean 1/2, variance 1 / (4 (2 alpha + 1)).
    np.testing.assert_allclose(chain_weights.mean(axis=0), 1 / 3, atol=0.01)
    np.testing.assert_allclose(chain_weights.var(axis=0), (2 / 9) / (3 * alpha + 1), rtol=0.05)
    np.testing.assert_allclose([weight.mean(), weight.var()], [0.5, 1 / (4 * (2 * alpha + 1))], rtol=0.05)
