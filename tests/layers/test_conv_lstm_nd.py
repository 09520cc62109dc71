"""ConvLSTM1D and ConvLSTM3D against Keras 3 (JAX backend) on the same weights, and ConvLSTM2D unchanged."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same, keras_build

RNG = np.random.default_rng(5)
SIGNALS = RNG.standard_normal((2, 4, 7, 3)).astype("float32")          # (batch, time, steps, channels)
VOLUMES = RNG.standard_normal((2, 3, 4, 5, 4, 2)).astype("float32")    # (batch, time, d, h, w, channels)
FRAMES = RNG.standard_normal((2, 3, 6, 5, 3)).astype("float32")

KWARGS = [{}, {"padding": "same", "return_sequences": True, "return_state": True},
          {"strides": 2, "go_backwards": True, "unit_forget_bias": False},
          {"dilation_rate": 2, "return_sequences": True, "go_backwards": True}]


@pytest.mark.parametrize("kwargs", KWARGS, ids=str)
def test_conv_lstm_1d_matches_keras(kwargs):
    assert_same(keras.layers.ConvLSTM1D(4, 3, **kwargs), hl.layers.ConvLSTM1D(4, 3, **kwargs), SIGNALS)


@pytest.mark.parametrize("kwargs", KWARGS[:3], ids=str)
def test_conv_lstm_3d_matches_keras(kwargs):
    assert_same(keras.layers.ConvLSTM3D(3, 2, **kwargs), hl.layers.ConvLSTM3D(3, 2, **kwargs), VOLUMES)


def test_conv_lstm_2d_still_matches_keras_after_the_generalisation():
    kwargs = {"padding": "same", "return_sequences": True, "strides": 1}
    assert_same(keras.layers.ConvLSTM2D(2, (3, 2), **kwargs), hl.layers.ConvLSTM2D(2, (3, 2), **kwargs), FRAMES)


def test_weight_shapes_are_keras_s():
    ours, theirs = hl.layers.ConvLSTM3D(3, (2, 1, 2)), keras.layers.ConvLSTM3D(3, (2, 1, 2))
    ours(VOLUMES)
    keras_build(theirs, VOLUMES)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()] == [
        (2, 1, 2, 2, 12), (2, 1, 2, 3, 12), (12,)]


@pytest.mark.parametrize("cls,shape,out", [
    (hl.layers.ConvLSTM1D, (2, 3, 7, 2), (2, 3, 5, 2)),
    (hl.layers.ConvLSTM3D, (2, 2, 4, 4, 3, 2), (2, 2, 2, 2, 1, 2)),
], ids=["1d", "3d"])
def test_harness(cls, shape, out):
    run_layer_test(cls, {"filters": 2, "kernel_size": 3, "return_sequences": True, "recurrent_dropout": 0.1},
                   shape, out, expected_num_trainable_weights=3)


def test_mask_keeps_the_states_at_masked_steps_1d():
    layer = hl.layers.ConvLSTM1D(2, 3, padding="same", return_state=True)
    layer(SIGNALS)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    out, h, c = layer(SIGNALS, mask=mask)
    alone = layer(SIGNALS[:1, :2])
    for got, want in zip((out, h, c), alone):
        np.testing.assert_allclose(np.asarray(got)[0], np.asarray(want)[0], rtol=1e-5, atol=1e-6)


def test_functional_model_trains_through_conv_lstm_3d():
    inputs = hl.Input((3, 4, 5, 4, 2))
    x = hl.layers.ConvLSTM3D(2, 2, padding="same")(inputs)
    assert tuple(x.shape) == (None, 4, 5, 4, 2)
    model = hl.Model(inputs, hl.layers.Dense(1)(hl.layers.GlobalAveragePooling3D()(x)))
    model.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
    kernel = np.array(model.layers[1].get_weights()[0])
    model.train_on_batch(VOLUMES, np.ones((2, 1), "float32"))
    assert not np.allclose(model.layers[1].get_weights()[0], kernel)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"ConvLSTM1D `kernel_size`"):
        hl.layers.ConvLSTM1D(2, (3, 3))
    with pytest.raises(ValueError, match=r"ConvLSTM3D `filters` must be a positive integer, got 0"):
        hl.layers.ConvLSTM3D(0, 3)
    with pytest.raises(ValueError, match=r"ConvLSTM3D supports data_format='channels_last' only.*\(batch, time, "
                                         r"depth, height, width, channels\)"):
        hl.layers.ConvLSTM3D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"ConvLSTM1D layer '.*' expects inputs of shape \(batch, timesteps, "
                                         r"steps, channels\), got \(2, 3, 6, 5, 3\)"):
        hl.layers.ConvLSTM1D(2, 3)(FRAMES)
