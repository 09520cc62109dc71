"""Reshaping, 3-D convolution and pooling layers, ConvLSTM2D: the harness and equality with Keras 3."""

import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same

RNG = np.random.default_rng(4)
SEQ = RNG.standard_normal((2, 7, 3)).astype("float32")
IMG = RNG.standard_normal((2, 6, 5, 3)).astype("float32")
VOL = RNG.standard_normal((2, 4, 6, 5, 3)).astype("float32")
FRAMES = RNG.standard_normal((2, 3, 6, 5, 3)).astype("float32")

HARNESS = [
    (hl.layers.Cropping1D, {"cropping": (1, 2)}, (2, 7, 3), (2, 4, 3), 0),
    (hl.layers.Cropping2D, {"cropping": ((1, 0), (2, 1))}, (2, 6, 5, 3), (2, 5, 2, 3), 0),
    (hl.layers.Cropping3D, {"cropping": 1}, (2, 4, 6, 5, 3), (2, 2, 4, 3, 3), 0),
    (hl.layers.ZeroPadding1D, {"padding": (1, 2)}, (2, 7, 3), (2, 10, 3), 0),
    (hl.layers.ZeroPadding3D, {"padding": ((1, 0), (2, 1), (0, 1))}, (2, 4, 6, 5, 3), (2, 5, 9, 6, 3), 0),
    (hl.layers.UpSampling3D, {"size": (1, 2, 3)}, (2, 4, 6, 5, 3), (2, 4, 12, 15, 3), 0),
    (hl.layers.RepeatVector, {"n": 4}, (2, 3), (2, 4, 3), 0),
    (hl.layers.Permute, {"dims": (2, 1)}, (2, 7, 3), (2, 3, 7), 0),
    (hl.layers.Conv3D, {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 4, 6, 5, 3),
     (2, 2, 3, 3, 4), 2),
    (hl.layers.Conv1DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 7, 3), (2, 15, 4), 2),
    (hl.layers.Conv3DTranspose, {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"},
     (2, 4, 6, 5, 3), (2, 8, 12, 10, 4), 2),
    (hl.layers.MaxPooling3D, {"pool_size": 2}, (2, 4, 6, 5, 3), (2, 2, 3, 2, 3), 0),
    (hl.layers.AveragePooling3D, {"pool_size": 2, "padding": "same"}, (2, 4, 6, 5, 3), (2, 2, 3, 3, 3), 0),
    (hl.layers.GlobalAveragePooling3D, {}, (2, 4, 6, 5, 3), (2, 3), 0),
    (hl.layers.GlobalMaxPooling3D, {"keepdims": True}, (2, 4, 6, 5, 3), (2, 1, 1, 1, 3), 0),
    (hl.layers.ConvLSTM2D, {"filters": 2, "kernel_size": 3, "return_sequences": True, "dropout": 0.1},
     (2, 3, 6, 5, 3), (2, 3, 4, 3, 2), 3),
]


@pytest.mark.parametrize("case", HARNESS, ids=lambda c: c[0].__name__ if isinstance(c, tuple) else str(c))
def test_harness(case):
    cls, kwargs, shape, out, n = case
    # Weightless layers: the one training step would only move the Dense after them.
    run_layer_test(cls, kwargs, shape, out, expected_num_trainable_weights=n, run_training_step=n > 0)


@pytest.mark.parametrize("name, kwargs, x", [
    ("Cropping1D", {"cropping": (1, 2)}, SEQ),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, IMG),
    ("Cropping3D", {"cropping": ((1, 0), (2, 1), (1, 1))}, VOL),
    ("ZeroPadding1D", {"padding": 2}, SEQ),
    ("ZeroPadding3D", {"padding": ((1, 0), (2, 1), (0, 3))}, VOL),
    ("UpSampling3D", {"size": (2, 1, 3)}, VOL),
    ("RepeatVector", {"n": 3}, SEQ[:, 0]),
    ("Permute", {"dims": (3, 1, 2)}, IMG),
    ("Conv3D", {"filters": 4, "kernel_size": (2, 3, 1), "strides": (1, 2, 1)}, VOL),
    ("Conv3D", {"filters": 4, "kernel_size": 3, "padding": "same", "dilation_rate": 2}, VOL),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, SEQ),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 4, "strides": 3, "output_padding": 1}, SEQ),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": (2, 1, 2)}, VOL),
    ("MaxPooling3D", {"pool_size": (2, 3, 2), "strides": 1}, VOL),
    ("AveragePooling3D", {"pool_size": 3, "strides": 2, "padding": "same"}, VOL),
    ("GlobalAveragePooling3D", {}, VOL),
    ("GlobalMaxPooling3D", {}, VOL),
])
def test_matches_keras(name, kwargs, x):
    assert_same(getattr(keras.layers, name)(**kwargs), getattr(hl.layers, name)(**kwargs), x)


@pytest.mark.parametrize("kwargs", [{}, {"padding": "same", "return_sequences": True, "return_state": True},
                                    {"strides": 2, "go_backwards": True, "unit_forget_bias": False}], ids=str)
def test_conv_lstm_matches_keras(kwargs):
    assert_same(keras.layers.ConvLSTM2D(4, 3, **kwargs), hl.layers.ConvLSTM2D(4, 3, **kwargs), FRAMES)


def test_conv_lstm_mask_and_stateful():
    """Keras's ConvLSTM2D fails under a mask on its JAX backend; ours keeps the states at masked steps."""
    layer = hl.layers.ConvLSTM2D(2, 3, padding="same", return_state=True)
    layer(FRAMES)
    mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    out, h, c = layer(FRAMES, mask=mask)
    alone = layer(FRAMES[:1, :2])
    for got, want in zip((out, h, c), alone):
        np.testing.assert_allclose(np.asarray(got)[0], np.asarray(want)[0], rtol=1e-5, atol=1e-6)
    stateful = hl.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, stateful=True)
    stateful(FRAMES)
    stateful.set_weights(layer.get_weights())
    stateful.reset_states()
    whole = hl.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    whole(FRAMES)
    whole.set_weights(layer.get_weights())
    halves = np.concatenate([np.asarray(stateful(FRAMES[:, :1])), np.asarray(stateful(FRAMES[:, 1:]))], axis=1)
    np.testing.assert_allclose(halves, np.asarray(whole(FRAMES)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_conv_lstm_zero_output_for_mask(return_sequences, go_backwards):
    """Masked steps output zeros; everything else is the default's output (Keras's masked path fails on JAX)."""
    kwargs = {"padding": "same", "return_sequences": return_sequences, "go_backwards": go_backwards}
    zeroed = hl.layers.ConvLSTM2D(2, 3, zero_output_for_mask=True, **kwargs)
    zeroed(FRAMES)
    plain = hl.layers.ConvLSTM2D.from_config({**zeroed.get_config(), "zero_output_for_mask": False})
    plain(FRAMES)
    plain.set_weights(zeroed.get_weights())
    mask = np.array([[1, 0, 1], [1, 1, 0]], bool)
    processed = mask[:, ::-1] if go_backwards else mask   # outputs stay in processing order
    keep = processed if return_sequences else processed[:, -1]
    keep = keep.reshape(keep.shape + (1, 1, 1))
    expected = np.where(keep, np.asarray(plain(FRAMES, mask=mask)), 0.0)
    np.testing.assert_array_equal(np.asarray(zeroed(FRAMES, mask=mask)), expected)
    assert zeroed.get_config()["zero_output_for_mask"] is True


def test_shape_layer_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"Cropping2D layer .* crops 6 of 6 elements from an axis"):
        hl.layers.Cropping2D((3, 0))(IMG)
    with pytest.raises(ValueError, match=r"Permute `dims` must be a permutation of 1..n"):
        hl.layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"RepeatVector layer .* expects inputs of shape \(batch, features\)"):
        hl.layers.RepeatVector(2)(SEQ)
    with pytest.raises(ValueError, match=r"Conv3D layer .* expects inputs of rank 5 \(batch, depth, height"):
        hl.layers.Conv3D(2, 3)(IMG)
    with pytest.raises(ValueError, match=r"ZeroPadding3D `padding` must be an int, 3 ints"):
        hl.layers.ZeroPadding3D((1, 2))
