"""Image augmentation layers: RandomFlip, RandomTranslation, RandomRotation, RandomZoom, RandomContrast.

Checked against NumPy (flips, integer shifts, quarter turns, the contrast formula)
and against Keras 3's own layers given the same transformation parameters.
"""

import json

import jax
import keras
import numpy as np
import pytest
from flax import nnx

import highlevel as hl
from highlevel.layers.base import call_context
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers
SHAPE = (2, 6, 5, 3)

# (class, kwargs, input shape)
CASES = [
    (L.RandomFlip, {}, SHAPE),
    (L.RandomFlip, {"mode": "horizontal", "seed": 3}, SHAPE),
    (L.RandomFlip, {"mode": "vertical", "data_format": "channels_first"}, SHAPE),
    (L.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3)}, SHAPE),
    (L.RandomTranslation, {"height_factor": (0.1, 0.2), "width_factor": 0.0, "fill_mode": "constant",
                           "fill_value": 1.5, "interpolation": "nearest", "seed": 1}, SHAPE),
    (L.RandomRotation, {"factor": 0.1}, SHAPE),
    (L.RandomRotation, {"factor": (-0.2, 0.3), "fill_mode": "wrap", "data_format": "channels_first"}, SHAPE),
    (L.RandomZoom, {"height_factor": 0.2}, SHAPE),
    (L.RandomZoom, {"height_factor": (-0.2, 0.3), "width_factor": (0.1, 0.2), "fill_mode": "nearest"}, SHAPE),
    (L.RandomContrast, {"factor": 0.3}, SHAPE),
    (L.RandomContrast, {"factor": (0.1, 0.5), "value_range": (-5, 5), "seed": 7}, SHAPE),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


def _images(rng, shape=(4, 6, 6, 2)):
    return rng.uniform(0.0, 1.0, shape).astype("float32")


@pytest.mark.parametrize("cls,kwargs,shape", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape):
    layer = run_layer_test(cls, kwargs, shape, shape)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is cls and clone.get_config() == config


@pytest.mark.parametrize("cls,kwargs,shape", CASES, ids=IDS)
def test_identity_outside_training(cls, kwargs, shape, rng):
    x = rng.standard_normal(shape).astype("float32") * 100
    layer = cls(**kwargs)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(layer(x[0], training=False)), x[0])


def test_identity_in_predict_and_evaluate(rng):
    x = _images(rng, (10, 8, 8, 3))
    model = hl.Sequential([hl.Input((8, 8, 3)), L.RandomFlip(), L.RandomTranslation(0.2, 0.2),
                           L.RandomRotation(0.2), L.RandomZoom(0.2), L.RandomContrast(0.5, value_range=(0, 1))])
    np.testing.assert_array_equal(model.predict(x, batch_size=4, verbose=0), x)
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(x, x, batch_size=4, verbose=0) == 0.0


def test_augmentation_changes_images_in_training(rng):
    x = _images(rng, (3, 8, 8, 3))
    for layer in [L.RandomTranslation(0.3, 0.3), L.RandomRotation(0.2), L.RandomZoom(0.3),
                  L.RandomContrast(0.5, value_range=(0, 1))]:
        y = np.asarray(layer(x, training=True))
        assert y.shape == x.shape and y.dtype == np.float32
        assert all(not np.allclose(y[i], x[i]) for i in range(3)), type(layer).__name__


# ---------------------------------------------------------------------------
# RandomFlip: exact flips, per image, per mode.


def _flip_outcomes(x, y):
    """For each image, which of none/h/v/hv it equals exactly (-1 if none of them)."""
    out = []
    for xi, yi in zip(x, y):
        candidates = [xi, xi[:, ::-1], xi[::-1], xi[::-1, ::-1]]
        matches = [k for k, c in enumerate(candidates) if np.array_equal(yi, c)]
        out.append(matches[0] if len(matches) == 1 else -1)
    return out


@pytest.mark.parametrize("mode,allowed", [("horizontal", {0, 1}), ("vertical", {0, 2}),
                                          ("horizontal_and_vertical", {0, 1, 2, 3})])
def test_random_flip_flips_exactly(mode, allowed, rng):
    x = rng.standard_normal((64, 5, 4, 2)).astype("float32")
    y = np.asarray(L.RandomFlip(mode)(x, training=True))
    outcomes = _flip_outcomes(x, y)
    assert set(outcomes) == allowed, outcomes   # every allowed outcome occurs, nothing else


def test_random_flip_channels_first_and_unbatched(rng):
    x = rng.standard_normal((16, 3, 5, 4)).astype("float32")   # channels_first
    y = np.asarray(L.RandomFlip("horizontal", data_format="channels_first")(x, training=True))
    outcomes = _flip_outcomes(np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1))
    assert set(outcomes) == {0, 1}
    single = np.asarray(L.RandomFlip("vertical")(x[0], training=True))
    assert _flip_outcomes(x[:1], single[None])[0] in (0, 2)


def test_random_flip_seed_changes_draws(rng):
    x = rng.standard_normal((32, 4, 4, 1)).astype("float32")
    draws = []
    for seed in (None, 1, 2):
        hl.utils.set_random_seed(0)
        draws.append(_flip_outcomes(x, np.asarray(L.RandomFlip(seed=seed)(x, training=True))))
    assert draws[0] != draws[1] != draws[2]
    hl.utils.set_random_seed(0)
    assert _flip_outcomes(x, np.asarray(L.RandomFlip(seed=1)(x, training=True))) == draws[1]


# ---------------------------------------------------------------------------
# RandomTranslation: integer shifts against NumPy padding; Keras for random ones.


def _shifted(x, dy, dx, fill_mode, fill_value):
    """x shifted down by dy and right by dx (rows/columns), outside filled per fill_mode."""
    h, w = x.shape[1], x.shape[2]
    pad = ((0, 0), (abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0))
    if fill_mode == "constant":
        padded = np.pad(x, pad, mode="constant", constant_values=fill_value)
    else:
        padded = np.pad(x, pad, mode={"reflect": "symmetric", "wrap": "wrap", "nearest": "edge"}[fill_mode])
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[:, top:top + h, left:left + w]


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_translation_integer_shift(fill_mode, interpolation, rng):
    x = _images(rng, (3, 8, 6, 2))
    # 0.25 * 8 = 2 rows down, -0.5 * 6 = 3 columns left: exact in float32.
    layer = L.RandomTranslation((0.25, 0.25), (-0.5, -0.5), fill_mode=fill_mode,
                                interpolation=interpolation, fill_value=-7.0)
    y = np.asarray(layer(x, training=True))
    expected = _shifted(x, 2, -3, fill_mode, -7.0)
    if fill_mode == "constant":   # as the brief's np.roll-with-fill
        rolled = np.roll(x, (2, -3), axis=(1, 2))
        rolled[:, :2] = -7.0
        rolled[:, :, -3:] = -7.0
        np.testing.assert_array_equal(expected, rolled)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_translation_matches_keras(fill_mode, interpolation, rng):
    x = _images(rng, (4, 7, 9, 3))
    kwargs = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5)
    keras_layer = keras.layers.RandomTranslation(0.7, (-0.4, 0.9), **kwargs)
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomTranslation(0.7, (-0.4, 0.9), **kwargs).transform_images(x, transformation))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------
# RandomRotation: quarter turns against np.rot90; Keras for random angles.


@pytest.mark.parametrize("factor,k", [((0.25, 0.25), 1), ((0.5, 0.5), 2), ((-0.25, -0.25), -1)])
@pytest.mark.parametrize("fill_mode", ["constant", "reflect"])
def test_random_rotation_quarter_turns(factor, k, fill_mode, rng):
    x = _images(rng, (3, 7, 7, 2))
    y = np.asarray(L.RandomRotation(factor, fill_mode=fill_mode)(x, training=True))
    # Positive factors turn counter-clockwise, as np.rot90 does; cos(pi/2) is not 0 in float32.
    np.testing.assert_allclose(y, np.rot90(x, k=k, axes=(1, 2)), rtol=0, atol=1e-5)
    nearest = np.asarray(L.RandomRotation(factor, interpolation="nearest")(x, training=True))
    np.testing.assert_array_equal(nearest, np.rot90(x, k=k, axes=(1, 2)))


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_rotation_matches_keras(fill_mode, interpolation, rng):
    x = _images(rng, (4, 7, 9, 3))
    kwargs = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5)
    keras_layer = keras.layers.RandomRotation(0.5, **kwargs)
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomRotation(0.5, **kwargs).transform_images(x, transformation))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # Keras's own matrix, passed as is, gives the same.
    by_matrix = {"rotation_matrix": transformation["rotation_matrix"]}
    got = np.asarray(L.RandomRotation(0.5, **kwargs).transform_images(x, by_matrix))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_random_rotation_channels_first_and_unbatched(rng):
    x = _images(rng, (3, 6, 5, 2))
    hl.utils.set_random_seed(4)
    last = np.asarray(L.RandomRotation(0.3)(x, training=True))
    hl.utils.set_random_seed(4)
    first = np.asarray(L.RandomRotation(0.3, data_format="channels_first")(np.moveaxis(x, -1, 1),
                                                                           training=True))
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=0, atol=1e-6)
    single = np.asarray(L.RandomRotation((0.25, 0.25))(x[0], training=True))
    assert single.shape == x[0].shape


# ---------------------------------------------------------------------------
# RandomZoom: against Keras's own layer on the same parameters.


@pytest.mark.parametrize("fill_mode", ["constant", "reflect", "wrap", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_zoom_matches_keras(fill_mode, interpolation, rng):
    x = _images(rng, (4, 7, 9, 3))
    kwargs = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=0.5)
    # Fixed factors: both layers draw the same zoom, so their calls compare directly.
    for height, width in [((0.5, 0.5), None), ((-0.4, -0.4), (0.3, 0.3))]:
        expected = _keras(keras.layers.RandomZoom(height, width, **kwargs), x, training=True)
        got = np.asarray(L.RandomZoom(height, width, **kwargs)(x, training=True))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # Random factors: the same transformation given to both.
    keras_layer = keras.layers.RandomZoom((-0.5, 0.7), (-0.3, 0.6), **kwargs)
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomZoom((-0.5, 0.7), (-0.3, 0.6), **kwargs).transform_images(x, transformation))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_random_zoom_width_follows_height(rng):
    x = _images(rng, (8, 9, 9, 1))
    # A square image zoomed equally on both axes stays symmetric under transposition.
    sym = x + np.swapaxes(x, 1, 2)
    y = np.asarray(L.RandomZoom(0.5, fill_mode="constant")(sym, training=True))
    np.testing.assert_allclose(y, np.swapaxes(y, 1, 2), rtol=0, atol=1e-5)
    assert not np.allclose(y, sym)


# ---------------------------------------------------------------------------
# RandomContrast: the formula, per image, and Keras on the same factors.


def _contrast(x, c, value_range):
    mean = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - mean) * c.reshape(-1, 1, 1, 1) + mean, *value_range)


def test_random_contrast_formula(rng):
    x = rng.uniform(0.3, 0.7, (16, 6, 5, 3)).astype("float32")
    layer = L.RandomContrast((0.2, 0.4), value_range=(0, 1))
    y = np.asarray(layer(x, training=True))
    # No pixel is clipped at these factors: recover each image's factor and check it is one number.
    mean = x.mean(axis=(1, 2), keepdims=True)
    ratio = (y - mean) / (x - mean)
    c = np.median(ratio.reshape(16, -1), axis=1)
    assert np.all(c >= 0.8 - 1e-5) and np.all(c <= 1.4 + 1e-5), c
    assert len(np.unique(np.round(c, 4))) == 16   # a factor per image
    np.testing.assert_allclose(y, _contrast(x, c, (0, 1)), rtol=0, atol=1e-5)
    # Clipping to value_range, with a known factor.
    factors = np.array([0.5, 2.0, 3.0], "float32")
    x3 = rng.uniform(0, 255, (3, 4, 4, 2)).astype("float32")
    got = np.asarray(L.RandomContrast(0.5).transform_images(x3, {"contrast_factor": factors}))
    np.testing.assert_allclose(got, _contrast(x3, factors, (0, 255)), rtol=1e-6, atol=1e-4)
    assert got.max() == 255.0 and got.min() == 0.0


def test_random_contrast_matches_keras(rng):
    x = rng.uniform(0, 255, (4, 7, 9, 3)).astype("float32")
    keras_layer = keras.layers.RandomContrast((0.3, 0.9))
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomContrast((0.3, 0.9)).transform_images(x, transformation))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-3)


# ---------------------------------------------------------------------------
# Inside fit: fresh draws per step and per image, reproducible, nothing recompiled.


class _Recorder(hl.layers.Layer):
    """Hands the images it sees in training to the host (a test probe, not registered)."""

    def __init__(self, seen, **kwargs):
        super().__init__(**kwargs)
        # A function, not the list itself: nnx copies a module's containers when it merges.
        self._record = lambda v: seen.append(np.asarray(v))

    def call(self, inputs, training=False):
        if training:
            jax.debug.callback(self._record, inputs)
        return inputs


def _fit_flips(seed, x):
    hl.utils.set_random_seed(seed)
    seen = []
    model = hl.Sequential([hl.Input(x.shape[1:]), L.RandomFlip(), _Recorder(seen), L.Flatten(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((len(x), 1), "float32"), batch_size=8, epochs=2, shuffle=False, verbose=0)
    jax.effects_barrier()
    batches = [x[i:i + 8] for i in range(0, len(x), 8)] * 2
    assert len(seen) == len(batches)
    return [tuple(_flip_outcomes(b, s)) for b, s in zip(batches, seen)], model.get_weights()


def test_flips_in_fit_differ_per_step_and_image_and_reproduce(rng):
    x = rng.standard_normal((16, 5, 4, 1)).astype("float32")
    outcomes, weights = _fit_flips(1, x)
    assert all(-1 not in step for step in outcomes)             # each image exactly flipped
    assert all(len(set(step)) > 1 for step in outcomes)         # different flips within a batch
    assert len(set(outcomes)) == len(outcomes)                  # and a fresh draw every step
    again, weights_again = _fit_flips(1, x)
    assert again == outcomes
    for a, b in zip(weights, weights_again):
        np.testing.assert_array_equal(a, b)
    other, _ = _fit_flips(2, x)
    assert other != outcomes


class _Schedule(hl.callbacks.Callback):
    """Changes every augmentation strength each epoch and notes the compilations so far."""

    def __init__(self, compiled):
        super().__init__()
        self.compiled = compiled
        self.counts = []

    def on_epoch_begin(self, epoch, logs=None):
        flip, shift, rotate, zoom, contrast = self.model.layers[:5]
        strength = 0.1 * (epoch + 1)
        shift.height_factor = strength
        shift.width_factor = (-strength, 0.0)
        rotate.factor = strength
        zoom.height_factor = (-strength, strength)
        zoom.width_factor = strength
        contrast.factor = (strength, 2 * strength)

    def on_epoch_end(self, epoch, logs=None):
        self.counts.append(len(self.compiled))


def test_fit_compiles_once_while_strengths_change(rng):
    x = _images(rng, (20, 8, 8, 3))        # 20 = 2 full batches of 8 + a partial one
    y = rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((8, 8, 3)), L.RandomFlip(), L.RandomTranslation(0.1, 0.1),
                           L.RandomRotation(0.1), L.RandomZoom(0.1, 0.1),
                           L.RandomContrast(0.1, value_range=(0, 1)), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0
    assert schedule.counts[1:] == [schedule.counts[0]] * 3, compiled
    assert np.all(np.isfinite(history.history["loss"]))
    shift, rotate, zoom, contrast = model.layers[1:5]
    assert shift.height_factor == 0.4 and (shift.height_lower, shift.height_upper) == (-0.4, 0.4)
    assert shift.width_factor == (-0.4, 0.0) and (shift.width_lower, shift.width_upper) == (-0.4, 0.0)
    assert rotate.factor == (-0.4, 0.4) and contrast.factor == (0.4, 0.8)
    assert zoom.get_config()["height_factor"] == [-0.4, 0.4] and zoom.get_config()["width_factor"] == 0.4


def test_changed_factor_takes_effect_without_recompiling(rng):
    x = _images(rng, (2, 5, 5, 1))
    layer = L.RandomRotation(0.0)
    graphdef, _ = nnx.split(layer)

    @jax.jit
    def rotate_step(state, x, key):
        module = nnx.merge(graphdef, state, copy=True)
        with call_context(training=True, rng=key):
            return module(x)

    with count_compilations() as compiled:
        for i, (factor, k) in enumerate([((0.25, 0.25), 1), ((0.5, 0.5), 2), (0.0, 0)]):
            layer.factor = factor
            y = np.asarray(rotate_step(nnx.split(layer)[1], x, jax.random.key(i)))
            np.testing.assert_allclose(y, np.rot90(x, k=k, axes=(1, 2)), rtol=0, atol=1e-5)
    assert sum(name == "jit(rotate_step)" for name in compiled) == 1, compiled


# ---------------------------------------------------------------------------
# Errors.


def test_errors():
    with pytest.raises(ValueError, match="RandomFlip got mode='diagonal'; expected one of 'horizontal', "
                                         "'vertical', 'horizontal_and_vertical'"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"RandomTranslation height_factor must be a number or a pair of "
                                         r"numbers in \[-1, 1\] \(fractions of the image height\), got 1.5"):
        L.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match=r"width_factor must be .*got \(0.1, 0.2, 0.3\)"):
        L.RandomTranslation(0.1, (0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match=r"RandomRotation factor must be .*\[-1, 1\] \(fractions of a full "
                                         r"turn\), got 'big'"):
        L.RandomRotation("big")
    with pytest.raises(ValueError, match=r"RandomZoom height_factor must be .*in \(-1, 1\], got -1.0"):
        L.RandomZoom(-1.0)
    with pytest.raises(ValueError, match=r"RandomContrast factor must be a number in \[0, 1\].*got 1.5"):
        L.RandomContrast(1.5)
    with pytest.raises(ValueError, match=r"RandomContrast factor .*got \(-0.1, 0.2\)"):
        L.RandomContrast((-0.1, 0.2))
    with pytest.raises(ValueError, match=r"value_range must be a pair \(low, high\) with low < high, got \(1, 0\)"):
        L.RandomContrast(0.2, value_range=(1, 0))
    with pytest.raises(ValueError, match="RandomRotation got fill_mode='mirror'; expected one of 'reflect', "
                                         "'wrap', 'constant', 'nearest'"):
        L.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="RandomZoom got interpolation='bicubic'; expected one of"):
        L.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="RandomFlip got data_format='nhwc'"):
        L.RandomFlip(data_format="nhwc")
    with pytest.raises(ValueError, match="RandomFlip seed must be a non-negative integer or None, got -1"):
        L.RandomFlip(seed=-1)
    with pytest.raises(ValueError, match=r"RandomFlip layer 'flip' expects images of rank 3 .* or 4 .*got "
                                         r"shape \(2, 3\)"):
        L.RandomFlip(name="flip")(np.ones((2, 3), "float32"))
    zoom = L.RandomZoom(0.2, name="zoom")
    with pytest.raises(ValueError, match="RandomZoom layer 'zoom' was created with width_factor=None"):
        zoom.width_factor = 0.3
    rotation = L.RandomRotation(0.2)
    with pytest.raises(ValueError, match="RandomRotation factor must be"):
        rotation.factor = 2.0
    assert rotation.factor == (-0.2, 0.2)   # unchanged by the refused value
