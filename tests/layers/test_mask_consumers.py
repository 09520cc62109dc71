"""Layers that consume a mask, called with an explicit ``mask=``: equal to Keras 3's outputs with the same mask."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.layers.oracle import assert_same, keras_call, leaves

B, T, F, U = 3, 6, 4, 5
RNG = np.random.default_rng(3)
X = RNG.standard_normal((B, T, F)).astype("float32")
MASK = np.ones((B, T), bool)
MASK[0, 4:] = False
MASK[1, 2:] = False
MASK[2, 0] = False   # a masked first step too


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_layers_with_a_mask_match_keras(name):
    for options in ({"return_sequences": True, "return_state": True},
                    {"return_sequences": True, "go_backwards": True}):
        assert_same(getattr(keras.layers, name)(U, **options), getattr(hl.layers, name)(U, **options), X, mask=MASK)
    # The mask changes the result (masked steps are not simply ignored by accident).
    layer = getattr(hl.layers, name)(U)
    assert not np.allclose(np.asarray(layer(X, mask=MASK)), np.asarray(layer(X)))


def test_bidirectional_with_a_mask_matches_keras():
    for merge_mode, options in (("concat", {"return_sequences": True}), (None, {"return_state": True})):
        assert_same(keras.layers.Bidirectional(keras.layers.GRU(U, **options), merge_mode=merge_mode),
                    hl.layers.Bidirectional(hl.layers.GRU(U, **options), merge_mode=merge_mode), X, mask=MASK)
    layer = hl.layers.Bidirectional(hl.layers.LSTM(U, return_sequences=True, return_state=True))
    assert layer.compute_mask(X, MASK)[0] is MASK and layer.compute_mask(X, MASK)[1:] == [None] * 4


def test_masked_steps_get_no_gradient():
    """The plain scan under a mask: a masked step's input has no effect on the loss."""
    layer = hl.layers.LSTM(U, return_sequences=True)
    layer(X)

    def loss(x):
        return jnp.sum(layer(x, mask=MASK) ** 2)

    grad = np.asarray(jax.jit(jax.grad(loss))(X))
    assert np.all(grad[~MASK] == 0) and np.all(np.abs(grad[MASK]).sum(axis=-1) > 0)


def test_global_pooling_with_a_mask_matches_keras():
    assert_same(keras.layers.GlobalAveragePooling1D(), hl.layers.GlobalAveragePooling1D(), X, mask=MASK)
    assert_same(keras.layers.GlobalAveragePooling1D(keepdims=True), hl.layers.GlobalAveragePooling1D(keepdims=True),
                X, mask=MASK)
    lengths = MASK.sum(axis=1)
    got = np.asarray(hl.layers.GlobalAveragePooling1D()(X, mask=MASK))
    for i, n in enumerate(lengths):   # the mean of the sample's own steps
        np.testing.assert_allclose(got[i], X[i][MASK[i]].mean(axis=0), rtol=1e-6, atol=1e-6)
    assert hl.layers.GlobalAveragePooling1D().compute_mask(X, MASK) is None
    # Keras's GlobalMaxPooling1D takes no mask: neither does ours (the same numbers as Keras).
    assert np.allclose(keras_call(keras.layers.GlobalMaxPooling1D(), X)[0],
                       np.asarray(hl.layers.GlobalMaxPooling1D()(X)))


def test_softmax_and_time_distributed_with_a_mask_match_keras():
    scores = RNG.standard_normal((B, T, T)).astype("float32")
    square = RNG.random((B, T, T)) > 0.4
    square[0, 0] = False   # a fully masked row: zeros, as in Keras
    assert_same(keras.layers.Softmax(), hl.layers.Softmax(), scores, mask=square)
    assert_same(keras.layers.Softmax(axis=[1, 2]), hl.layers.Softmax(axis=[1, 2]), scores, mask=square)
    # TimeDistributed hands each step its slice of the mask, as Keras's.
    assert_same(keras.layers.TimeDistributed(keras.layers.Softmax()),
                hl.layers.TimeDistributed(hl.layers.Softmax()), scores, mask=square)
    assert hl.layers.TimeDistributed(hl.layers.Softmax()).compute_mask(scores, MASK) is MASK
