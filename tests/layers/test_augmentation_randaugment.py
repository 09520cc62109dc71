"""RandAugment: Keras's arguments and config, each image through operations drawn from Keras's eleven."""

import json

import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers


@pytest.mark.parametrize("kwargs", [{}, {"value_range": (0, 1), "num_ops": 3, "factor": (0.1, 0.4),
                                         "interpolation": "nearest", "seed": 2, "data_format": "channels_first"}])
def test_layer_harness_and_config(kwargs):
    shape = (2, 6, 5, 3) if "data_format" not in kwargs else (2, 3, 6, 5)
    layer = run_layer_test(L.RandAugment, kwargs, shape, shape)
    config = layer.get_config()
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.RandAugment and clone.get_config() == config
    assert set(keras.layers.RandAugment(**kwargs).get_config()) <= set(config)


def test_identity_outside_training_and_without_operations(rng):
    x = rng.uniform(0, 255, (3, 6, 6, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(L.RandAugment()(x)), x)
    np.testing.assert_array_equal(np.asarray(L.RandAugment()(x[0], training=False)), x[0])
    np.testing.assert_array_equal(np.asarray(L.RandAugment(num_ops=0)(x, training=True)), x)
    y = np.asarray(L.RandAugment()(x, training=True))
    assert y.shape == x.shape and not np.allclose(y, x)


def test_each_image_goes_through_one_of_the_operations(rng):
    x = rng.uniform(0, 255, (330, 6, 6, 3)).astype("float32")
    layer = L.RandAugment(num_ops=1, factor=(0.3, 0.3))
    y = np.asarray(layer(x, training=True))
    # The operations that (0.3, 0.3) makes deterministic, run on their own.
    names = ["random_translation", "random_rotation", "random_brightness", "random_color_degeneration",
             "random_sharpness", "solarization", "auto_contrast", "equalization"]
    candidates = {n: np.asarray(getattr(layer, n)(x, training=True)) for n in names}
    chosen = []
    for i in range(len(x)):
        matches = [n for n in names if np.allclose(y[i], candidates[n][i], atol=1e-3)]
        assert len(matches) <= 1, matches
        chosen.append(matches[0] if matches else None)
    assert set(chosen) == set(names) | {None}                       # every one is drawn
    assert 0.6 < sum(c is not None for c in chosen) / len(x) < 0.85   # 8 of 11 candidates
    layer.factor = 0.2
    assert layer.factor == (0.0, 0.2) and layer.random_shear.x_factor == (0.0, 0.2)
    assert layer.random_posterization.factor == (1, 1) and layer.solarization.threshold_factor == (0.0, 0.2)


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
    model = hl.Sequential([hl.Input((6, 6, 3)), L.RandAugment(value_range=(0, 1)), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with count_compilations() as compiled:
        schedule = _Schedule(compiled)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[schedule])
    assert schedule.counts[0] > 0 and schedule.counts[1:] == [schedule.counts[0]] * 2, compiled
    assert np.all(np.isfinite(history.history["loss"])) and model.layers[0].factor == (0.0, 0.6)


@pytest.mark.parametrize("make,message", [
    (lambda: L.RandAugment(num_ops=-1), r"RandAugment num_ops must be a non-negative integer, got -1"),
    (lambda: L.RandAugment(factor=1.5), r"RandAugment factor must be a number or a pair of numbers in \[0, 1\], "
                                        r"got 1.5"),
    (lambda: L.RandAugment(interpolation="cubic"), r"RandAugment got interpolation='cubic'"),
    (lambda: L.RandAugment(value_range=(3, 3)), r"value_range must be a pair of two different numbers"),
])
def test_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
