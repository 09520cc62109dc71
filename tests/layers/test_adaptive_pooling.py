"""Adaptive pooling layers and ops against Keras 3 (JAX backend), divisible and non-divisible sizes."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops
from tests.harness import run_layer_test
from tests.layers.oracle import keras_call

L = hl.layers
NAMES = ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
         "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]
# (rank, input spatial shape, output_size): divisible, not divisible, and larger than the input.
SIZES = [(1, (10,), 5), (1, (10,), 4), (1, (3,), 5), (2, (7, 9), (3, 4)), (2, (8, 8), 4), (2, (5, 6), (7, 2)),
         (3, (5, 6, 7), (2, 3, 4)), (3, (4, 4, 4), 2)]


def _cls(name):
    return getattr(L, name), getattr(keras.layers, name)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("mode", ["Average", "Max"])
@pytest.mark.parametrize("rank,spatial,output_size", SIZES)
def test_layer_equals_keras(mode, rank, spatial, output_size, data_format):
    name = f"Adaptive{mode}Pooling{rank}D"
    ours, theirs = _cls(name)
    rng = np.random.default_rng(rank)
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.standard_normal(shape).astype("float32")
    got = np.asarray(ours(output_size, data_format=data_format)(x))
    want = keras_call(theirs(output_size, data_format=data_format), x)[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", ["adaptive_average_pool", "adaptive_max_pool"])
@pytest.mark.parametrize("rank,spatial,output_size", SIZES)
def test_ops_equal_keras(fn, rank, spatial, output_size):
    x = np.random.default_rng(7).standard_normal((2, *spatial, 3)).astype("float32")
    for namespace in (ops, ops.nn):
        got = np.asarray(getattr(namespace, fn)(x, output_size))
        np.testing.assert_allclose(got, np.asarray(getattr(keras.ops, fn)(x, output_size)), rtol=1e-6, atol=1e-6)


def test_hand_computed_windows_overlap_where_the_size_does_not_divide():
    x = np.arange(5.0, dtype="float32").reshape(1, 5, 1)   # windows [0, 2), [1, 4), [3, 5)
    np.testing.assert_allclose(np.asarray(ops.adaptive_average_pool(x, 3))[0, :, 0], [0.5, 2.0, 3.5])
    np.testing.assert_allclose(np.asarray(ops.adaptive_max_pool(x, 3))[0, :, 0], [1.0, 3.0, 4.0])


@pytest.mark.parametrize("name", NAMES)
def test_harness(name):
    rank = int(name[-2])
    spatial = (7, 6, 5)[:rank]
    run_layer_test(getattr(L, name), {"output_size": 3}, (2, *spatial, 2), (2, *(3,) * rank, 2))


def test_functional_model_shapes_and_gradient_reach_the_weights_below():
    inputs = hl.Input((9, 7, 2))
    x = L.Conv2D(3, 2, padding="same")(inputs)
    x = L.AdaptiveMaxPooling2D((3, 2))(x)
    assert tuple(x.shape) == (None, 3, 2, 3)
    y = L.AdaptiveAveragePooling2D(2, data_format="channels_first")(x)
    assert tuple(y.shape) == (None, 3, 2, 2)
    out = L.Dense(1)(L.Flatten()(y))
    model = hl.Model(inputs, out)
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((8, 9, 7, 2)).astype("float32"), rng.standard_normal((8, 1)).astype("float32")
    kernel = np.array(model.layers[1].get_weights()[0])
    first = model.train_on_batch(xs, ys)
    for _ in range(20):
        last = model.train_on_batch(xs, ys)
    assert not np.allclose(model.layers[1].get_weights()[0], kernel)   # the gradient went through both poolings
    assert last < first


def test_op_on_symbolic_tensor_in_a_functional_model():
    inputs = hl.Input((10, 3))
    out = ops.adaptive_average_pool(inputs, 4)
    assert tuple(out.shape) == (None, 4, 3)
    model = hl.Model(inputs, out)
    x = np.random.default_rng(1).standard_normal((2, 10, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)),
                               np.asarray(keras.ops.adaptive_average_pool(x, 4)), rtol=1e-6, atol=1e-6)


def test_get_config_matches_keras_s_keys_and_values():
    ours = L.AdaptiveMaxPooling3D((1, 2, 3), data_format="channels_first").get_config()
    theirs = keras.layers.AdaptiveMaxPooling3D((1, 2, 3), data_format="channels_first").get_config()
    assert ours["output_size"] == tuple(theirs["output_size"]) == (1, 2, 3)
    assert ours["data_format"] == theirs["data_format"] == "channels_first"


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"AdaptiveAveragePooling2D `output_size` must be an int or a tuple of 2 "
                                        r"ints, got \(1, 2, 3\)"):
        L.AdaptiveAveragePooling2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"AdaptiveMaxPooling1D `output_size` must hold positive sizes, got 0"):
        L.AdaptiveMaxPooling1D(0)
    with pytest.raises(ValueError, match=r"AdaptiveMaxPooling1D `data_format` must be 'channels_last' or "
                                         r"'channels_first', got 'nhwc'"):
        L.AdaptiveMaxPooling1D(2, data_format="nhwc")
    with pytest.raises(ValueError, match=r"expects inputs of rank 4"):
        L.AdaptiveMaxPooling2D(2)(np.ones((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"adaptive_max_pool takes inputs with 1 to 3 spatial axes"):
        ops.adaptive_max_pool(np.ones((2, 3), "float32"), 2)
