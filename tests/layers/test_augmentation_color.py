"""Color and tone augmentation layers against Keras 3 (the same transformation parameters, or factors
that leave one value), plus statistics of the random draws, configs, compiled fits and errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel.layers.augmentation_color import hsv_to_rgb, rgb_to_hsv
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers
SHAPE = (2, 5, 4, 3)

CASES = [
    (L.RandomGrayscale, {}),
    (L.RandomGrayscale, {"factor": 0.8, "seed": 2, "data_format": "channels_first"}),
    (L.RandomHue, {"factor": 0.3}),
    (L.RandomHue, {"factor": (0.1, 0.6), "value_range": (0, 1), "seed": 1}),
    (L.RandomSaturation, {"factor": (0.2, 0.7)}),
    (L.RandomColorDegeneration, {"factor": 0.5, "value_range": (-1, 1)}),
    (L.RandomSharpness, {"factor": (0.1, 0.9), "seed": 4}),
    (L.RandomColorJitter, {"value_range": (0, 1), "brightness_factor": 0.2, "contrast_factor": (0.1, 0.3),
                           "saturation_factor": (0.4, 0.6), "hue_factor": 0.1}),
    (L.RandomColorJitter, {"hue_factor": (0.2, 0.3)}),
    (L.RandomInvert, {}),
    (L.RandomInvert, {"factor": (0.2, 0.9), "value_range": (-1, 1)}),
    (L.RandomPosterization, {"factor": 4}),
    (L.RandomPosterization, {"factor": (2, 6), "value_range": (0, 1)}),
    (L.Solarization, {}),
    (L.Solarization, {"addition_factor": (0.1, 0.2), "threshold_factor": 0.5, "value_range": (0, 1)}),
    (L.AutoContrast, {}),
    (L.AutoContrast, {"value_range": (-1, 1), "data_format": "channels_first"}),
    (L.Equalization, {}),
    (L.Equalization, {"value_range": (0, 1), "bins": 16, "data_format": "channels_first"}),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


def _keras_transformation(layer, x):
    with jax.numpy_rank_promotion("allow"):
        return layer.get_random_transformation(x, training=True)


def _images(rng, shape=(6, 5, 7, 3), high=255.0):
    return rng.uniform(0.0, high, shape).astype("float32")


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_layer_harness_and_config(cls, kwargs):
    shape = SHAPE if kwargs.get("data_format") != "channels_first" else (2, 3, 5, 4)
    layer = run_layer_test(cls, kwargs, shape, shape)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is cls and clone.get_config() == config
    keras_keys = set(getattr(keras.layers, cls.__name__)(**kwargs).get_config())
    assert keras_keys - {"bounding_box_format"} <= set(config), keras_keys - set(config)


@pytest.mark.parametrize("cls,kwargs", [c for c in CASES if c[0] is not L.AutoContrast],
                         ids=[i for c, i in zip(CASES, IDS) if c[0] is not L.AutoContrast])
def test_identity_outside_training(cls, kwargs, rng):
    shape = SHAPE if kwargs.get("data_format") != "channels_first" else (2, 3, 5, 4)
    x = rng.uniform(0.0, 1.0, shape).astype("float32")
    layer = cls(**kwargs)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])
    assert not np.allclose(np.asarray(cls(**{**kwargs, "seed": 9})(x, training=True)), x) or cls in (
        L.RandomGrayscale, L.RandomInvert, L.Equalization)   # [0, 1] is one bin of (0, 255)


# ---------------------------------------------------------------------------
# The same transformation parameters as Keras: the same images.

KERAS_TRANSFORM_CASES = [
    (L.RandomHue, {"factor": (0.1, 0.9)}, 255.0),
    (L.RandomHue, {"factor": 0.7, "value_range": (0, 1)}, 1.0),
    (L.RandomSaturation, {"factor": (0.1, 0.9), "value_range": (0, 1)}, 1.0),
    (L.RandomColorDegeneration, {"factor": (0.2, 0.8)}, 255.0),
    (L.RandomSharpness, {"factor": (0.0, 1.0)}, 255.0),
    (L.RandomSharpness, {"factor": 0.7, "value_range": (0, 1)}, 1.0),
    (L.RandomInvert, {"factor": 0.8}, 255.0),
    (L.RandomPosterization, {"factor": (1, 7)}, 255.0),
    (L.RandomPosterization, {"factor": (2, 8), "value_range": (0, 1)}, 1.0),
    (L.Solarization, {"addition_factor": (0.0, 0.3), "threshold_factor": (0.0, 0.8)}, 255.0),
    (L.Solarization, {"addition_factor": 0.0, "threshold_factor": 0.5, "value_range": (0, 1)}, 1.0),
    (L.RandomGrayscale, {"factor": 0.5}, 255.0),
    (L.AutoContrast, {}, 255.0),
    (L.AutoContrast, {"value_range": (0, 1)}, 1.0),
]


@pytest.mark.parametrize("cls,kwargs,high", KERAS_TRANSFORM_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(KERAS_TRANSFORM_CASES)])
def test_transform_matches_keras(cls, kwargs, high, rng):
    x = _images(rng, (16, 5, 7, 3), high)
    keras_layer = getattr(keras.layers, cls.__name__)(**kwargs)
    transformation = _keras_transformation(keras_layer, x)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(cls(**kwargs).transform_images(x, transformation))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4 * high)


# Factors that leave one value: the whole layer, draws included, equals Keras's.
DETERMINISTIC_CASES = [
    (L.RandomGrayscale, {"factor": 1.0}, 255.0),
    (L.RandomSaturation, {"factor": (0.3, 0.3), "value_range": (0, 1)}, 1.0),
    (L.RandomSaturation, {"factor": (1.0, 1.0), "value_range": (0, 1)}, 1.0),
    (L.RandomColorDegeneration, {"factor": (0.4, 0.4)}, 255.0),
    (L.RandomSharpness, {"factor": (0.8, 0.8)}, 255.0),
    (L.RandomSharpness, {"factor": (0.1, 0.1), "value_range": (0, 1)}, 1.0),
    (L.RandomInvert, {"factor": (1.0, 1.0)}, 255.0),
    (L.RandomPosterization, {"factor": (3, 3)}, 255.0),
    (L.RandomPosterization, {"factor": (5, 5), "value_range": (0, 1)}, 1.0),
    (L.Solarization, {}, 255.0),
    (L.Solarization, {"addition_factor": 0.0, "threshold_factor": 0.0, "value_range": (0, 1)}, 1.0),
    (L.AutoContrast, {"value_range": (0, 1)}, 1.0),
]


@pytest.mark.parametrize("cls,kwargs,high", DETERMINISTIC_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(DETERMINISTIC_CASES)])
def test_collapsed_factors_match_keras_layer(cls, kwargs, high, rng):
    x = _images(rng, (4, 6, 5, 3), high)
    expected = _keras(getattr(keras.layers, cls.__name__)(**kwargs), x, training=True)
    got = np.asarray(cls(**kwargs)(x, training=True))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4 * high)
    single = np.asarray(cls(**kwargs)(x[0], training=True))
    np.testing.assert_allclose(single, expected[0], rtol=1e-5, atol=1e-4 * high)


@pytest.mark.parametrize("value_range,bins", [((0, 255), 256), ((0, 1), 16), ((-1, 1), 256)])
def test_equalization_matches_keras_per_image(value_range, bins, rng):
    low, high = value_range
    x = np.round(rng.uniform(low, high, (3, 7, 6, 3)) * 40) / 40   # repeated values: a lumpy histogram
    x = x.astype("float32")
    layer = L.Equalization(value_range=value_range, bins=bins)
    got = np.asarray(layer(x, training=True))
    for i in range(3):   # Keras pools the histogram over a batch: compare image by image
        expected = _keras(keras.layers.Equalization(value_range=value_range, bins=bins), x[i])
        assert not np.allclose(expected, x[i])
        np.testing.assert_allclose(got[i], expected, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(layer(x[1], training=True)), got[1])
    flat = np.full((1, 4, 4, 3), low, "float32")           # one bin: left alone
    np.testing.assert_array_equal(np.asarray(layer(flat, training=True)), flat)


def test_hue_with_a_fixed_factor_is_keras_shift_either_way(rng):
    x = _images(rng, (32, 4, 4, 3))
    y = np.asarray(L.RandomHue((0.4, 0.4))(x, training=True))
    keras_layer = keras.layers.RandomHue((0.4, 0.4))
    plus = _keras(keras_layer.transform_images, x, {"factor": np.full((32,), 0.2, "float32")})
    minus = _keras(keras_layer.transform_images, x, {"factor": np.full((32,), -0.2, "float32")})
    is_plus = [np.allclose(y[i], plus[i], atol=1e-2) for i in range(32)]
    is_minus = [np.allclose(y[i], minus[i], atol=1e-2) for i in range(32)]
    assert all(p != m for p, m in zip(is_plus, is_minus))
    assert 4 < sum(is_plus) < 28


def test_hsv_round_trip_and_known_values():
    rgb = np.array([[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]]]], "float32")
    hsv = np.asarray(rgb_to_hsv(rgb))
    np.testing.assert_allclose(hsv[0, 0], [[0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 1], [0, 0, 0.5]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(hsv_to_rgb(hsv)), rgb, atol=1e-6)


def test_channels_first_equals_channels_last(rng):
    x = _images(rng, (3, 6, 5, 3))
    for cls, kwargs in [(L.AutoContrast, {}), (L.RandomSharpness, {"factor": (0.9, 0.9)}),
                        (L.RandomSaturation, {"factor": (0.2, 0.2)})]:
        last = np.asarray(cls(**kwargs)(x, training=True))
        first = np.asarray(cls(data_format="channels_first", **kwargs)(np.moveaxis(x, -1, 1), training=True))
        np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-6, atol=1e-4)


# ---------------------------------------------------------------------------
# Random draws: statistics and invariants.


def test_grayscale_and_invert_probabilities(rng):
    x = _images(rng, (400, 2, 2, 3))
    gray = np.asarray(L.RandomGrayscale(0.25)(x, training=True))
    is_gray = np.all(np.ptp(gray, axis=-1) < 1e-3, axis=(1, 2))
    assert np.all(is_gray | np.all(gray == x, axis=(1, 2, 3)))
    assert 0.17 < is_gray.mean() < 0.33
    inverted = np.asarray(L.RandomInvert()(x, training=True))    # p ~ U(0, 1): half overall
    flipped = np.all(inverted == 255.0 - x, axis=(1, 2, 3))
    assert np.all(flipped | np.all(inverted == x, axis=(1, 2, 3)))
    assert 0.4 < flipped.mean() < 0.6


def test_posterization_draws_every_bit_count_in_range(rng):
    x = np.full((300, 1, 1, 1), 255.0, "float32")
    y = np.asarray(L.RandomPosterization((2, 4))(x, training=True)).ravel()
    assert set(y.tolist()) == {255.0 - 63.0, 255.0 - 31.0, 255.0 - 15.0}   # 2, 3 and 4 bits kept


def test_hue_shift_size_follows_factor(rng):
    x = _images(rng, (64, 3, 3, 3)) * 0.5 + 64.0     # saturated enough for a stable hue
    y = np.asarray(L.RandomHue((0.2, 0.4))(x, training=True))
    hue_in, hue_out = np.asarray(rgb_to_hsv(x / 255.0))[..., 0], np.asarray(rgb_to_hsv(y / 255.0))[..., 0]
    shift = np.abs((hue_out - hue_in + 0.5) % 1.0 - 0.5)
    per_image = np.median(shift.reshape(64, -1), axis=1)
    assert np.all((per_image > 0.099) & (per_image < 0.201))
    assert np.ptp(per_image) > 0.03


def test_color_jitter_composes_keras_layers(rng):
    x = _images(rng, (4, 5, 5, 3), 1.0)
    got = np.asarray(L.RandomColorJitter((0, 1), brightness_factor=(0.3, 0.3))(x, training=True))
    np.testing.assert_allclose(got, np.clip(x + 0.3, 0, 1), atol=1e-6)
    keras_jitter = keras.layers.RandomColorJitter((0, 1), saturation_factor=(0.7, 0.7))
    got = np.asarray(L.RandomColorJitter((0, 1), saturation_factor=(0.7, 0.7))(x, training=True))
    np.testing.assert_allclose(got, _keras(keras_jitter, x, training=True), atol=1e-5)
    full = L.RandomColorJitter((0, 1), 0.2, 0.3, (0.2, 0.8), 0.3)
    y = np.asarray(full(x, training=True))
    assert y.min() >= 0.0 and y.max() <= 1.0 and not np.allclose(y, x)


# ---------------------------------------------------------------------------
# Inside fit: one compilation while the factors change.


class _Schedule(hl.callbacks.Callback):
    def __init__(self, compiled):
        super().__init__()
        self.compiled, self.counts = compiled, []

    def on_epoch_begin(self, epoch, logs=None):
        gray, hue, saturation, sharp, invert, poster, solar = self.model.layers[:7]
        strength = 0.1 * (epoch + 1)
        gray.factor, hue.factor, saturation.factor, sharp.factor = strength, strength, (0.5, 0.5 + strength), strength
        invert.factor, poster.factor = strength, (1, epoch + 2)
        solar.threshold_factor = strength

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_factors_change(rng):
    x, y = _images(rng, (20, 6, 6, 3), 1.0), rng.standard_normal((20, 2)).astype("float32")
    kw = {"value_range": (0, 1)}
    model = hl.Sequential([hl.Input((6, 6, 3)), L.RandomGrayscale(), L.RandomHue(0.1, **kw),
                           L.RandomSaturation(0.5, **kw), L.RandomSharpness(0.5, **kw), L.RandomInvert(**kw),
                           L.RandomPosterization(4, **kw), L.Solarization(0.1, 0.2, **kw),
                           L.RandomColorDegeneration(0.3, **kw), L.AutoContrast(**kw),
                           L.RandomColorJitter(brightness_factor=0.1, hue_factor=0.1, **kw),
                           L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.layers[5].factor == (1, 4) and model.layers[6].threshold_factor == (0.0, 0.3)


# ---------------------------------------------------------------------------
# Errors: one sentence naming the argument, the value and what is allowed.


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandomGrayscale(1.5), r"RandomGrayscale factor must be a probability in \[0, 1\], got 1.5"),
    (lambda: L.RandomHue(-0.2), r"RandomHue factor must be a number or a pair of numbers in \[0, 1\], got -0.2"),
    (lambda: L.RandomSaturation((0.1, 1.2)), r"RandomSaturation factor .*\[0, 1\], got \(0.1, 1.2\)"),
    (lambda: L.RandomSharpness("x"), r"RandomSharpness factor .*\[0, 1\], got 'x'"),
    (lambda: L.RandomColorDegeneration(0.5, value_range=(1, 1)),
     r"RandomColorDegeneration value_range must be a pair of two different numbers \(low, high\), got \(1, 1\)"),
    (lambda: L.RandomInvert((0.1, 0.2, 0.3)), r"RandomInvert factor .*got \(0.1, 0.2, 0.3\)"),
    (lambda: L.RandomPosterization(9), r"RandomPosterization factor must be .*in \[1, 8\], got 9"),
    (lambda: L.RandomPosterization(2.5), r"RandomPosterization factor must be an integer .*got 2.5"),
    (lambda: L.Solarization(threshold_factor=2), r"Solarization threshold_factor .*\[0, 1\], got 2"),
    (lambda: L.AutoContrast(value_range=5), r"AutoContrast value_range must be a pair .*got 5"),
    (lambda: L.Equalization(bins=0), r"Equalization bins must be an integer in \[1, 256\], got 0"),
    (lambda: L.RandomColorJitter(value_range=(0,)), r"RandomColorJitter value_range .*got \(0,\)"),
    (lambda: L.RandomColorJitter(hue_factor=3.0), r"RandomHue factor .*got 3.0"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_rgb_layers_reject_other_channel_counts():
    with pytest.raises(ValueError, match=r"RandomHue layer '.*' expects RGB images \(3 channels\), got 4"):
        L.RandomHue(0.2)(np.zeros((1, 2, 2, 4), "float32"), training=True)
