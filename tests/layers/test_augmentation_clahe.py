"""ContrastLimitedAdaptiveHistogramEqualization against Keras 3.15's layer on the same images, plus a
hand-computed case, training and inference, configs, a compiled fit and errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers
CLAHE = L.ContrastLimitedAdaptiveHistogramEqualization


@pytest.mark.parametrize("kwargs", [{}, {"value_range": (-1, 1), "clip_limit": 2.0, "tile_grid_size": (2, 3),
                                         "data_format": "channels_first"}])
def test_layer_harness_and_config(kwargs):
    shape = (2, 3, 9, 8) if "data_format" in kwargs else (2, 9, 8, 3)
    layer = run_layer_test(CLAHE, kwargs, shape, shape)
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is CLAHE and clone.get_config() == config
    assert set(keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs).get_config()) == set(config)


@pytest.mark.parametrize("value_range,shape,grid,clip_limit,data_format", [
    ((0, 255), (2, 16, 16, 3), (8, 8), 4.0, "channels_last"),     # tiles that divide the image
    ((0, 255), (2, 19, 13, 3), (4, 3), 2.0, "channels_last"),     # padded tiles
    ((0, 1), (2, 1, 17, 23), (3, 5), 0.0, "channels_first"),      # no clipping
    ((-1, 1), (25, 30, 2), (8, 8), 1.0, "channels_last"),         # one image, tiles of 4 x 4 pixels
])
def test_equals_keras(rng, value_range, shape, grid, clip_limit, data_format):
    x = rng.uniform(*value_range, shape).astype("float32")
    if value_range == (0, 255):
        x[0] = np.round(x[0])   # whole pixel values too, which sit on the histogram's bin edges
    kwargs = {"value_range": value_range, "clip_limit": clip_limit, "tile_grid_size": grid,
              "data_format": data_format}
    with jax.numpy_rank_promotion("allow"):
        expected = keras.ops.convert_to_numpy(keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)(x))
    got = np.asarray(CLAHE(**kwargs)(x))
    np.testing.assert_allclose(got, expected, atol=1e-4 * (value_range[1] - value_range[0]))
    assert np.abs(got - x).max() > 0.01 * (value_range[1] - value_range[0])   # not the identity


def test_by_hand_and_in_training_and_inference():
    # One 2 x 4 tile, values 10, 10, 20, 30 in each row: counts 4, 2, 2 of 8. The flat histogram
    # holds 8 / 256 per bin, so clip_limit=64 caps each bin at 2: the 2 counts over the cap are
    # spread as 2 / 256 over every bin.
    x = np.tile(np.array([10.0, 10.0, 20.0, 30.0], "float32")[None, :, None], (2, 1, 1))
    spread = 2 / 256
    cdf = {v: (2 + spread * (v + 1) if v >= 10 else spread * (v + 1)) for v in (10, 20, 30)}
    cdf[20] += 2
    cdf[30] += 4
    low = spread   # the cumulative count of bin 0
    expected = [(cdf[v] - low) * 255 / (8 - low) for v in (10, 10, 20, 30)]
    layer = CLAHE(clip_limit=64.0, tile_grid_size=(1, 1))
    np.testing.assert_allclose(np.asarray(layer(x))[0, :, 0], expected, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), np.asarray(layer(x, training=False)))
    unclipped = np.asarray(CLAHE(clip_limit=0, tile_grid_size=(1, 1))(x))[0, :, 0]
    np.testing.assert_allclose(unclipped, [127.5, 127.5, 191.25, 255.0])


def test_fit_compiles_once(rng):
    x, y = rng.uniform(0, 1, (20, 8, 8, 3)).astype("float32"), rng.standard_normal((20, 2)).astype("float32")
    model = hl.Sequential([hl.Input((8, 8, 3)), CLAHE(value_range=(0, 1), tile_grid_size=(2, 2)), L.Flatten(),
                           L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        counts = []
        model.fit(x, y, batch_size=8, epochs=2, verbose=0,
                  callbacks=[hl.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: counts.append(
                      len(compiled)))])
    assert counts[0] > 0 and counts[1] == counts[0], compiled
    # Deterministic and applied at inference too, as Keras's.
    np.testing.assert_allclose(np.asarray(model.layers[0](x[:3])),
                               np.asarray(CLAHE(value_range=(0, 1), tile_grid_size=(2, 2))(x[:3])))


@pytest.mark.parametrize("make,message", [
    (lambda: CLAHE(clip_limit="4"), r"ContrastLimitedAdaptiveHistogramEqualization clip_limit must be a number, "
                                    r"got '4'"),
    (lambda: CLAHE(tile_grid_size=(8, 0)), r"tile_grid_size must be a pair of positive integers \(rows, "
                                           r"columns\), got \(8, 0\)"),
    (lambda: CLAHE(tile_grid_size=8), r"tile_grid_size must be a pair of positive integers"),
    (lambda: CLAHE(value_range=(1, 1)), r"value_range must be a pair of two different numbers"),
    (lambda: CLAHE(data_format="NHWC"), r"got data_format='NHWC'"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
