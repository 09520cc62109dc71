"""Image preprocessing layers: Resizing, CenterCrop, RandomCrop, RandomBrightness.

Deterministic outputs are compared with Keras 3's layers on the same images; the
random ones with hand-checked windows and shifts, Keras's transformation for the
brightness formula, and a compile counter inside fit.
"""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers
SHAPE = (2, 6, 8, 3)

CASES = [
    (L.Resizing, {"height": 4, "width": 5}, SHAPE, (2, 4, 5, 3)),
    (L.Resizing, {"height": 3, "width": 3, "interpolation": "nearest", "crop_to_aspect_ratio": True}, SHAPE,
     (2, 3, 3, 3)),
    (L.Resizing, {"height": 5, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 1.0,
                  "data_format": "channels_first"}, SHAPE, (2, 6, 5, 4)),
    (L.CenterCrop, {"height": 4, "width": 4}, SHAPE, (2, 4, 4, 3)),
    (L.RandomCrop, {"height": 4, "width": 5, "seed": 3}, SHAPE, (2, 4, 5, 3)),
    (L.RandomBrightness, {"factor": 0.2}, SHAPE, SHAPE),
    (L.RandomBrightness, {"factor": (-0.1, 0.3), "value_range": (1, -1), "seed": 2}, SHAPE, SHAPE),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


def _keras(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


@pytest.mark.parametrize("cls,kwargs,shape,out_shape", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out_shape):
    layer = run_layer_test(cls, kwargs, shape, out_shape)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is cls and clone.get_config() == config


RESIZE_KWARGS = [{}, {"interpolation": "nearest"}, {"interpolation": "bicubic", "crop_to_aspect_ratio": True},
                 {"pad_to_aspect_ratio": True, "fill_value": 0.5}, {"interpolation": "lanczos3", "antialias": True},
                 {"interpolation": "lanczos5", "pad_to_aspect_ratio": True}]


@pytest.mark.parametrize("kwargs", RESIZE_KWARGS)
@pytest.mark.parametrize("size", [(4, 4), (3, 7), (12, 10)])
def test_resizing_matches_keras(kwargs, size, rng):
    for shape in [(2, 6, 8, 3), (2, 9, 5, 2)]:
        x = rng.uniform(0, 1, shape).astype("float32")
        np.testing.assert_allclose(np.asarray(L.Resizing(*size, **kwargs)(x)),
                                   _keras(keras.layers.Resizing(*size, **kwargs), x), rtol=0, atol=1e-5)
        xt = x.transpose(0, 3, 1, 2)
        np.testing.assert_allclose(np.asarray(L.Resizing(*size, data_format="channels_first", **kwargs)(xt)),
                                   _keras(keras.layers.Resizing(*size, data_format="channels_first", **kwargs), xt),
                                   rtol=0, atol=1e-5)


def test_resizing_integers_unbatched_and_bfloat16(rng):
    x = rng.uniform(0, 255, (2, 6, 8, 3)).astype("uint8")
    got = np.asarray(L.Resizing(4, 5)(x))
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, _keras(keras.layers.Resizing(4, 5), x))
    xf = x.astype("float32")
    np.testing.assert_allclose(np.asarray(L.Resizing(3, 3)(xf[0])), _keras(keras.layers.Resizing(3, 3), xf[0]),
                               atol=1e-4)
    y = L.Resizing(3, 3, dtype="mixed_bfloat16")(xf)
    assert y.dtype == jax.numpy.bfloat16
    np.testing.assert_allclose(np.asarray(y, "float32"), _keras(keras.layers.Resizing(3, 3), xf), rtol=2e-2)


@pytest.mark.parametrize("size", [(4, 4), (3, 7), (12, 10), (6, 3), (6, 8)])
def test_center_crop_matches_keras(size, rng):
    x = rng.uniform(0, 1, (2, 6, 8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(L.CenterCrop(*size)(x)), _keras(keras.layers.CenterCrop(*size), x),
                               rtol=0, atol=1e-5)
    xt = x.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(np.asarray(L.CenterCrop(*size, data_format="channels_first")(xt)),
                               _keras(keras.layers.CenterCrop(*size, data_format="channels_first"), xt),
                               rtol=0, atol=1e-5)


def test_random_crop_windows_per_image_in_training(rng):
    x = rng.uniform(0, 1, (16, 6, 8, 2)).astype("float32")
    y = np.asarray(L.RandomCrop(3, 4)(x, training=True))
    assert y.shape == (16, 3, 4, 2)
    windows = []
    for i in range(16):
        found = [(t, l) for t in range(4) for l in range(5) if np.array_equal(y[i], x[i, t:t + 3, l:l + 4])]
        assert found, i
        windows.append(found[0])
    assert len(set(windows)) > 4   # each image draws its own window
    # channels_first and one image: a window of that image.
    yt = np.asarray(L.RandomCrop(3, 4, data_format="channels_first")(x[:1].transpose(0, 3, 1, 2), training=True))
    assert any(np.array_equal(yt[0], x[0, t:t + 3, l:l + 4].transpose(2, 0, 1)) for t in range(4) for l in range(5))
    y1 = np.asarray(L.RandomCrop(6, 8)(x[0], training=True))
    np.testing.assert_array_equal(y1, x[0])


@pytest.mark.parametrize("size", [(4, 4), (3, 7), (12, 10), (6, 3)])
def test_random_crop_at_inference_is_keras_smart_resize(size, rng):
    x = rng.uniform(0, 1, (2, 6, 8, 3)).astype("float32")
    expected = _keras(keras.layers.Resizing(*size, crop_to_aspect_ratio=True), x)
    np.testing.assert_allclose(np.asarray(L.RandomCrop(*size)(x)), expected, rtol=0, atol=1e-5)
    with jax.numpy_rank_promotion("allow"):
        smart = keras.ops.convert_to_numpy(keras.preprocessing.image.smart_resize(x, size))
    np.testing.assert_allclose(np.asarray(L.RandomCrop(*size)(x)), smart, rtol=0, atol=1e-5)
    if size[0] > 6 or size[1] > 8:   # too small to crop: resized in training too
        np.testing.assert_allclose(np.asarray(L.RandomCrop(*size)(x, training=True)), expected, atol=1e-5)


def test_random_brightness_matches_keras(rng):
    x = rng.uniform(0, 255, (4, 5, 6, 3)).astype("float32")
    keras_layer = keras.layers.RandomBrightness((-0.4, 0.6))
    with jax.numpy_rank_promotion("allow"):
        transformation = keras_layer.get_random_transformation(x, training=True)
    expected = _keras(keras_layer.transform_images, x, transformation)
    got = np.asarray(L.RandomBrightness((-0.4, 0.6)).transform_images(x, transformation))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-3)


def test_random_brightness_shifts_each_image_within_bounds(rng):
    x = rng.uniform(0.3, 0.7, (64, 4, 4, 3)).astype("float32")
    y = np.asarray(L.RandomBrightness((-0.2, 0.1), value_range=(0, 1))(x, training=True))
    delta = (y - x).reshape(64, -1)
    np.testing.assert_allclose(delta, delta[:, :1] * np.ones_like(delta), atol=1e-6)   # one shift per image
    assert delta.min() >= -0.2 - 1e-6 and delta.max() <= 0.1 + 1e-6
    assert delta[:, 0].min() < -0.1 and delta[:, 0].max() > 0.0 and len(np.unique(delta[:, 0].round(5))) > 32
    clipped = np.asarray(L.RandomBrightness((1.0, 1.0), value_range=(0, 1))(x, training=True))
    np.testing.assert_array_equal(clipped, np.ones_like(x))
    np.testing.assert_array_equal(np.asarray(L.RandomBrightness(0.5)(x)), x)


def test_fit_predict_save_load(rng, tmp_path):
    x = rng.uniform(0, 1, (20, 10, 12, 3)).astype("float32")
    y = rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((10, 12, 3)), L.RandomBrightness(0.1, value_range=(0, 1)),
                           L.RandomCrop(8, 8, seed=1), L.Resizing(6, 6), L.CenterCrop(4, 4),
                           L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")

    class Strength(hl.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.layers[0].factor = 0.1 * (epoch + 1)

    with count_compilations() as compiled:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Strength()])
        first = len(compiled)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Strength()])
    assert len(compiled) == first, compiled
    inference = L.Flatten()(L.CenterCrop(4, 4)(L.Resizing(6, 6)(L.Resizing(8, 8, crop_to_aspect_ratio=True)(x))))
    expected = np.asarray(inference) @ model.layers[-1].get_weights()[0] + model.layers[-1].get_weights()[1]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="Resizing height must be a positive integer, got 0"):
        L.Resizing(0, 3)
    with pytest.raises(ValueError, match="Resizing got interpolation='area'; expected one of"):
        L.Resizing(3, 3, interpolation="area")
    with pytest.raises(ValueError, match="Resizing got fill_mode='reflect'; expected one of 'constant'"):
        L.Resizing(3, 3, fill_mode="reflect")
    with pytest.raises(ValueError, match="crop_to_aspect_ratio or pad_to_aspect_ratio, not both"):
        L.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="CenterCrop width must be a positive integer, got 2.5"):
        L.CenterCrop(2, 2.5)
    with pytest.raises(ValueError, match="RandomCrop seed must be a non-negative integer"):
        L.RandomCrop(2, 2, seed=-1)
    with pytest.raises(ValueError, match="CenterCrop layer '.*' expects images of rank 3"):
        L.CenterCrop(2, 2)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"RandomBrightness factor must be a number or a pair of numbers in "
                                         r"\[-1, 1\] \(fractions of the value range\), got 1.5"):
        L.RandomBrightness(1.5)
    with pytest.raises(ValueError, match="RandomBrightness value_range must be a pair of two different numbers"):
        L.RandomBrightness(0.1, value_range=(1, 1))
