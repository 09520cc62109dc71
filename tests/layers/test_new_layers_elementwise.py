"""Activation, normalization, noise and dropout layers: the harness, equality with Keras 3, schedulable rates."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same

RNG = np.random.default_rng(5)
X = RNG.standard_normal((2, 6, 4)).astype("float32")
IMG = RNG.standard_normal((2, 5, 5, 6)).astype("float32")

HARNESS = [
    (hl.layers.LeakyReLU, {"negative_slope": 0.2}, (2, 6, 4), 0),
    (hl.layers.ELU, {"alpha": 0.5}, (2, 6, 4), 0),
    (hl.layers.PReLU, {"shared_axes": [1], "alpha_constraint": "non_neg"}, (2, 6, 4), 1),
    (hl.layers.Softmax, {"axis": [1, 2]}, (2, 6, 4), 0),
    (hl.layers.GroupNormalization, {"groups": 2, "gamma_constraint": "unit_norm"}, (2, 6, 4), 2),
    (hl.layers.UnitNormalization, {"axis": [1, 2]}, (2, 6, 4), 0),
    (hl.layers.RMSNormalization, {"axis": [-2, -1]}, (2, 6, 4), 1),
    (hl.layers.GaussianNoise, {"stddev": 0.1, "seed": 3}, (2, 6, 4), 0),
    (hl.layers.GaussianDropout, {"rate": 0.2}, (2, 6, 4), 0),
    (hl.layers.SpatialDropout1D, {"rate": 0.3}, (2, 6, 4), 0),
    (hl.layers.SpatialDropout2D, {"rate": 0.3}, (2, 5, 5, 6), 0),
    (hl.layers.SpatialDropout3D, {"rate": 0.3}, (2, 3, 5, 5, 6), 0),
    (hl.layers.ActivityRegularization, {"l1": 0.01, "l2": 0.1}, (2, 6, 4), 0),
]


@pytest.mark.parametrize("case", HARNESS, ids=lambda c: c[0].__name__)
def test_harness(case):
    cls, kwargs, shape, n = case
    run_layer_test(cls, kwargs, shape, shape, expected_num_trainable_weights=n, run_training_step=n > 0)


@pytest.mark.parametrize("name, kwargs, x", [
    ("LeakyReLU", {}, X), ("LeakyReLU", {"negative_slope": 0.05}, X), ("ELU", {"alpha": 0.7}, X),
    ("PReLU", {}, X), ("PReLU", {"shared_axes": [1, 2]}, IMG), ("Softmax", {"axis": 1}, X),
    ("GroupNormalization", {"groups": 3}, IMG), ("GroupNormalization", {"groups": -1, "center": False}, IMG),
    ("GroupNormalization", {"groups": 2, "axis": 1, "epsilon": 0.1}, X),
    ("UnitNormalization", {}, X), ("UnitNormalization", {"axis": [1, 2]}, IMG),
    ("RMSNormalization", {}, X), ("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, X),
])
def test_matches_keras(name, kwargs, x):
    assert_same(getattr(keras.layers, name)(**kwargs), getattr(hl.layers, name)(**kwargs), x)


def test_noise_layers_match_keras_outside_training_and_have_their_statistics_inside():
    for name, kwargs in (("GaussianNoise", {"stddev": 0.5}), ("GaussianDropout", {"rate": 0.5}),
                         ("SpatialDropout2D", {"rate": 0.5}), ("ActivityRegularization", {"l2": 1.0})):
        assert_same(getattr(keras.layers, name)(**kwargs), getattr(hl.layers, name)(**kwargs), IMG)
    big = np.ones((200, 50, 8), "float32")
    noise = np.asarray(hl.layers.GaussianNoise(0.5)(big, training=True)) - 1.0
    assert abs(noise.std() - 0.5) < 0.01 and abs(noise.mean()) < 0.01
    scaled = np.asarray(hl.layers.GaussianDropout(0.2)(big, training=True))
    assert abs(scaled.std() - np.sqrt(0.2 / 0.8)) < 0.01 and abs(scaled.mean() - 1.0) < 0.01
    dropped = np.asarray(hl.layers.SpatialDropout1D(0.25)(big, training=True))
    assert np.all(np.ptp(dropped, axis=1) == 0)   # a whole channel of a sample, at every step
    assert abs((dropped[:, 0] == 0).mean() - 0.25) < 0.03 and len(np.unique(dropped)) == 2


def test_noise_rates_change_without_recompiling():
    model = hl.Sequential([hl.Input((4,)), hl.layers.GaussianNoise(0.1), hl.layers.GaussianDropout(0.1),
                           hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.standard_normal((8, 4)).astype("float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, batch_size=4, verbose=0)
    noise, drop = model.layers[0], model.layers[1]
    with count_compilations() as compiled:
        noise.stddev, drop.rate = 0.0, 0.0
        model.fit(x, y, batch_size=4, verbose=0)
    assert not compiled, compiled
    assert noise.get_config()["stddev"] == 0.0 and drop.rate == 0.0
    # With both at 0 the training forward pass is the identity: the step's loss is the clean one.
    expected = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert model.train_on_batch(x, y) == pytest.approx(expected, rel=1e-5)


def test_elementwise_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"GroupNormalization layer .*: groups=4 must divide the 6 channels"):
        hl.layers.GroupNormalization(groups=4)(IMG)
    with pytest.raises(ValueError, match=r"GaussianDropout `rate` must be in \[0, 1\), got 1.0"):
        hl.layers.GaussianDropout(1.0)
    with pytest.raises(ValueError, match=r"GaussianNoise `stddev` must be a non-negative number, got -1"):
        hl.layers.GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"SpatialDropout2D `data_format` must be 'channels_last' or "
                                         r"'channels_first', got 'nhwc'"):
        hl.layers.SpatialDropout2D(0.1, data_format="nhwc")
    with pytest.raises(ValueError, match=r"the mask of shape \(3,\) must broadcast to the inputs of shape"):
        hl.layers.Softmax()(X, mask=np.ones(3, bool))
    with pytest.raises(ValueError, match=r"PReLU `shared_axes` must hold axes >= 1"):
        hl.layers.PReLU(shared_axes=[0])
