"""Pooling layers against Keras 3: windowed max/average (1-D, 2-D) and global pooling."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (class, kwargs, input shape, output shape)
CASES = [
    (L.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3)),
    (L.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 3), (2, 5, 3)),
    (L.MaxPooling2D, {}, (2, 7, 6, 3), (2, 3, 3, 3)),
    (L.MaxPooling2D, {"pool_size": (3, 2), "strides": 1, "padding": "same"}, (2, 7, 6, 3), (2, 7, 6, 3)),
    (L.AveragePooling1D, {"pool_size": 3}, (2, 9, 3), (2, 3, 3)),
    (L.AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 3), (2, 4, 3, 3)),
    (L.GlobalAveragePooling1D, {}, (2, 9, 3), (2, 3)),
    (L.GlobalAveragePooling2D, {"keepdims": True}, (2, 7, 6, 3), (2, 1, 1, 3)),
    (L.GlobalMaxPooling1D, {"keepdims": True}, (2, 9, 3), (2, 1, 3)),
    (L.GlobalMaxPooling2D, {}, (2, 7, 6, 3), (2, 3)),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, out, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("cls,kwargs,shape,out", CASES, ids=IDS)
def test_layer_harness_training_step(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, out)


# ---------------------------------------------------------------------------
# Same numbers as Keras.


def _check_against_keras(name, kwargs, input_shape, rng):
    x = rng.standard_normal(input_shape).astype("float32")
    with jax.numpy_rank_promotion("allow"):  # Keras relies on implicit rank promotion
        expected = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x))
    layer = getattr(L, name)(**kwargs)
    got = np.asarray(layer(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert layer.weights == []
    symbolic = getattr(L, name)(**kwargs)(hl.Input(input_shape[1:]))
    assert symbolic.shape == (None,) + expected.shape[1:]


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool_size,strides", [(2, None), (3, None), (3, 1), (2, 3), (3, 2)])
@pytest.mark.parametrize("steps", [7, 8])
def test_pooling1d_matches_keras(name, padding, pool_size, strides, steps, rng):
    _check_against_keras(name, {"pool_size": pool_size, "strides": strides, "padding": padding}, (2, steps, 3), rng)


@pytest.mark.parametrize("name", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool_size,strides", [(2, None), (3, None), (3, 1), ((3, 2), (2, 1)), (2, 3)])
@pytest.mark.parametrize("size", [(7, 7), (8, 6)])
def test_pooling2d_matches_keras(name, padding, pool_size, strides, size, rng):
    _check_against_keras(name, {"pool_size": pool_size, "strides": strides, "padding": padding},
                         (2, *size, 3), rng)


def test_same_average_pooling_divides_by_real_elements():
    # A 3x3 "same" window at a corner covers 2x2 real ones: the mean is 1, not 4/9.
    y = np.asarray(L.AveragePooling2D(3, strides=1, padding="same")(np.ones((1, 4, 5, 1), "float32")))
    np.testing.assert_allclose(y, np.ones((1, 4, 5, 1)), rtol=1e-6)


def test_same_max_pooling_ignores_padding():
    x = -np.ones((1, 3, 3, 1), "float32")
    np.testing.assert_array_equal(np.asarray(L.MaxPooling2D(2, padding="same")(x)), -np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize("name", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling1d_matches_keras(name, keepdims, rng):
    _check_against_keras(name, {"keepdims": keepdims}, (2, 7, 3), rng)


@pytest.mark.parametrize("name", ["GlobalAveragePooling2D", "GlobalMaxPooling2D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling2d_matches_keras(name, keepdims, rng):
    _check_against_keras(name, {"keepdims": keepdims}, (2, 7, 6, 3), rng)


def test_defaults_and_config_match_keras():
    # Keras's AveragePooling layers have no default pool_size; its MaxPooling layers pool by 2.
    for name, args in (("MaxPooling1D", ()), ("MaxPooling2D", ()), ("AveragePooling1D", (3,)),
                       ("AveragePooling2D", ((3, 2), 1, "same"))):
        ours, theirs = getattr(L, name)(*args).get_config(), getattr(keras.layers, name)(*args).get_config()
        for key in ("pool_size", "strides", "padding", "data_format"):
            assert ours[key] == theirs[key], (name, key)
    with pytest.raises(TypeError, match="pool_size"):
        L.AveragePooling2D()
    for name in ("GlobalAveragePooling2D", "GlobalMaxPooling1D"):
        ours, theirs = getattr(L, name)().get_config(), getattr(keras.layers, name)().get_config()
        assert ours["keepdims"] == theirs["keepdims"] and ours["data_format"] == theirs["data_format"]


def test_max_pooling_gradient_flows_to_the_maximum():
    x = np.array([[[1.0], [3.0], [2.0], [0.0]]], "float32")
    grad = jax.grad(lambda v: L.MaxPooling1D(2)(v).sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), [[[0.0], [1.0], [1.0], [0.0]]])


@pytest.mark.parametrize("name,pool_size,strides,padding,shape", [
    ("MaxPooling2D", 2, None, "valid", (2, 7, 6, 3)),      # non-overlapping, remainder dropped
    ("MaxPooling2D", (2, 3), None, "same", (2, 6, 6, 2)),  # non-overlapping, nothing to pad
    ("MaxPooling2D", 3, 2, "same", (2, 7, 6, 2)),          # overlapping windows: reduce_window
    ("MaxPooling2D", 2, None, "same", (2, 7, 6, 2)),       # padded: reduce_window
    ("MaxPooling1D", 3, None, "valid", (2, 10, 3)),
    ("MaxPooling1D", 2, 1, "valid", (2, 9, 3)),
])
def test_max_pooling_gradient_matches_keras_with_ties(name, pool_size, strides, padding, shape, rng):
    # Small integers make many ties: the gradient must go to the same element of each window as Keras's.
    x = rng.integers(0, 3, shape).astype("float32")
    weights = rng.standard_normal(getattr(L, name)(pool_size, strides, padding)(x).shape).astype("float32")
    ours = jax.grad(lambda v: (getattr(L, name)(pool_size, strides, padding)(v) * weights).sum())(x)
    with jax.numpy_rank_promotion("allow"):
        theirs = jax.grad(lambda v: (keras.ops.max_pool(v, pool_size, strides or pool_size, padding) * weights).sum())(x)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize("cls,kwargs,bad_shape", [
    (L.MaxPooling2D, {}, (2, 5, 3)),
    (L.MaxPooling1D, {}, (2, 5, 5, 3)),
    (L.AveragePooling2D, {"pool_size": 2}, (2, 5, 3)),
    (L.AveragePooling1D, {"pool_size": 2}, (2, 5)),
    (L.GlobalAveragePooling2D, {}, (2, 5, 3)),
    (L.GlobalMaxPooling1D, {}, (2, 5, 5, 3)),
])
def test_wrong_rank_names_layer_and_shape(cls, kwargs, bad_shape):
    shape_text = r"\(" + ", ".join(str(d) for d in bad_shape) + r"\)"
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer 'pool' expects inputs of rank .*{shape_text}"):
        cls(name="pool", **kwargs)(np.zeros(bad_shape, "float32"))
    with pytest.raises(ValueError, match=r"'pool'.*\(None, " + ", ".join(str(d) for d in bad_shape[1:])):
        cls(name="pool", **kwargs)(hl.Input(bad_shape[1:]))


def test_wrong_rank_after_first_call_is_caught():
    layer = L.MaxPooling2D(name="pool")
    layer(np.zeros((1, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match=r"MaxPooling2D layer 'pool' expects inputs of rank 4.*\(1, 4, 2\)"):
        layer(np.zeros((1, 4, 2), "float32"))


# channels_first: tests/layers/test_channels_first.py.


def test_bad_padding_lists_allowed_values():
    with pytest.raises(ValueError, match=r"MaxPooling2D `padding` must be one of 'valid', 'same', got 'causal'"):
        L.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match=r"AveragePooling1D `padding` must be one of 'valid', 'same', got 'full'"):
        L.AveragePooling1D(2, padding="full")


def test_bad_pool_size_and_too_small_input():
    with pytest.raises(ValueError, match=r"MaxPooling2D `pool_size` must be an integer or a tuple of 2 integers"):
        L.MaxPooling2D(pool_size=(2, 2, 2))
    with pytest.raises(ValueError, match=r"MaxPooling2D `pool_size` must be positive"):
        L.MaxPooling2D(pool_size=0)
    with pytest.raises(ValueError, match=r"'p'.*\(1, 2, 2, 1\) is smaller than pool_size \(3, 3\)"):
        L.MaxPooling2D(3, name="p")(np.zeros((1, 2, 2, 1), "float32"))
