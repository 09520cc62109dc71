"""Core layers: Dense, Activation, Identity, Flatten, Reshape, Embedding (against Keras 3)."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (class, kwargs, input shape, output shape, trainable, non-trainable, input dtype)
CASES = [
    (L.Dense, {"units": 4}, (2, 3), (2, 4), 2, 0, "float32"),
    (L.Dense, {"units": 4, "use_bias": False, "activation": "relu"}, (2, 5, 3), (2, 5, 4), 1, 0, "float32"),
    (L.Activation, {"activation": "tanh"}, (2, 3), (2, 3), 0, 0, "float32"),
    (L.Identity, {}, (2, 3, 4), (2, 3, 4), 0, 0, "float32"),
    (L.Flatten, {}, (2, 3, 4), (2, 12), 0, 0, "float32"),
    (L.Flatten, {"data_format": "channels_first"}, (2, 3, 4, 5), (2, 60), 0, 0, "float32"),
    (L.Reshape, {"target_shape": (6, 2)}, (2, 3, 4), (2, 6, 2), 0, 0, "float32"),
    (L.Reshape, {"target_shape": (-1, 3)}, (2, 3, 4), (2, 4, 3), 0, 0, "float32"),
    (L.Embedding, {"input_dim": 10, "output_dim": 4}, (2, 5), (2, 5, 4), 1, 0, "int32"),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out,nt,nnt,dtype", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out, nt, nnt, dtype):
    run_layer_test(cls, kwargs, shape, out, nt, nnt, input_dtype=dtype, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("cls,kwargs,shape,out,nt,nnt,dtype", CASES, ids=IDS)
def test_layer_harness_training_step(cls, kwargs, shape, out, nt, nnt, dtype):
    run_layer_test(cls, kwargs, shape, out, nt, nnt, input_dtype=dtype)


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


def _same_as_keras(hl_layer, keras_layer, x, **call_kwargs):
    _keras(keras_layer, x)
    hl_layer(x)
    hl_layer.set_weights(keras_layer.get_weights())
    expected = _keras(keras_layer, x, **call_kwargs)
    got = np.asarray(hl_layer(x, **call_kwargs))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert hl_layer.count_params() == keras_layer.count_params()


def test_dense_matches_keras(rng):
    x = rng.standard_normal((4, 3, 5)).astype("float32")
    _same_as_keras(L.Dense(6, activation="gelu"), keras.layers.Dense(6, activation="gelu"), x)


def test_embedding_matches_keras(rng):
    ids = rng.integers(0, 20, size=(3, 7)).astype("int32")
    _same_as_keras(L.Embedding(20, 8), keras.layers.Embedding(20, 8), ids)


def test_embedding_default_initializer_is_keras_uniform():
    layer = L.Embedding(500, 40)
    layer(np.zeros((1, 1), "int32"))
    w = layer.get_weights()[0]
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.025  # uniform(-0.05, 0.05): std 0.0289


def test_embedding_other_sequence_length_and_float_ids():
    layer = L.Embedding(10, 3)
    layer(np.zeros((2, 5), "int32"))
    assert layer(np.ones((2, 9), "int32")).shape == (2, 9, 3)
    np.testing.assert_array_equal(np.asarray(layer(np.array([[2.0]], "float32"))),
                                  layer.get_weights()[0][None, [2]])


def test_embedding_regularizer_and_mask_zero():
    layer = L.Embedding(4, 2, embeddings_regularizer=hl.regularizers.L2(0.5))
    layer(np.zeros((1, 1), "int32"))
    w = layer.get_weights()[0]
    np.testing.assert_allclose(float(layer.regularization_loss()), 0.5 * np.sum(w**2), rtol=1e-6)
    masked = L.Embedding(4, 2, mask_zero=True)
    assert masked.supports_masking and not L.Embedding(4, 2).supports_masking
    assert masked.compute_mask(np.array([[0, 3]])).tolist() == [[False, True]]
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        L.Embedding(0, 2)


def test_flatten_and_reshape_match_keras(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    for fmt in ("channels_last", "channels_first"):
        np.testing.assert_array_equal(np.asarray(L.Flatten(data_format=fmt)(x)),
                                      _keras(keras.layers.Flatten(data_format=fmt), x))
    np.testing.assert_array_equal(np.asarray(L.Reshape((-1, 10))(x)),
                                  _keras(keras.layers.Reshape((-1, 10)), x))
    assert L.Flatten()(np.ones((3,), "float32")).shape == (3, 1)


def test_activation_matches_function(rng):
    x = rng.standard_normal((2, 5)).astype("float32")
    np.testing.assert_allclose(np.asarray(L.Activation("softmax")(x)),
                               _keras(keras.layers.Activation("softmax"), x), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(L.Activation(lambda v: 2 * v)(x)), 2 * x)
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        L.Activation("nope")


def test_reshape_errors_name_layer_and_shapes():
    layer = L.Reshape((4, 2), name="to_pairs")
    with pytest.raises(ValueError, match=r"'to_pairs' cannot reshape inputs of shape \(None, 2, 3\).*"
                                         r"target shape \(4, 2\)"):
        layer(np.ones((5, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"cannot reshape inputs of shape \(None, 7\).*\(-1, 2\).*"
                                         "does not divide 7"):
        L.Reshape((-1, 2))(hl.Input((7,)))
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="positive integers"):
        L.Reshape((0, 2))


def test_reshape_infers_minus_one_per_call():
    layer = L.Reshape((-1, 2))
    assert layer(np.ones((3, 5, 4), "float32")).shape == (3, 10, 2)
    assert layer(np.ones((3, 7, 4), "float32")).shape == (3, 14, 2)
