"""data_format="channels_first" in the convolution, pooling, up-sampling and padding layers,
against Keras 3 (JAX backend) with the same weights: outputs, shapes and configs."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (layer name, kwargs, channels-first input shape)
CASES = [
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "softmax"}, (2, 3, 9)),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2}, (2, 4, 7)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "softmax"}, (2, 4, 6, 5)),
    ("Conv2D", {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same"}, (2, 2, 7, 6)),
    ("Conv3D", {"filters": 3, "kernel_size": 2}, (2, 2, 4, 5, 3)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 2, 5)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 2, 4, 5)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (2, 3, 2, 3, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 3, 6, 5)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 3, 7, 6)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 3, 9)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 1}, (2, 3, 9)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 3, 9)),
    ("MaxPooling2D", {"pool_size": 2}, (2, 3, 6, 5)),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same"}, (2, 2, 3, 5, 4)),
    ("AveragePooling1D", {"pool_size": 2}, (2, 3, 9)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 3, 7, 6)),
    ("AveragePooling3D", {"pool_size": 2}, (2, 2, 4, 4, 5)),
    ("GlobalAveragePooling1D", {}, (2, 3, 9)),
    ("GlobalMaxPooling1D", {"keepdims": True}, (2, 3, 9)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (2, 3, 6, 5)),
    ("GlobalMaxPooling2D", {}, (2, 3, 6, 5)),
    ("GlobalAveragePooling3D", {}, (2, 2, 3, 4, 5)),
    ("GlobalMaxPooling3D", {"keepdims": True}, (2, 2, 3, 4, 5)),
    ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 5)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 5)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (2, 2, 3, 2, 4)),
    ("ZeroPadding1D", {"padding": (1, 2)}, (2, 3, 5)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 3))}, (2, 3, 4, 5)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (2, 2, 3, 4, 5)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 3, 4, 5)),
    ("Cropping3D", {"cropping": 1}, (2, 2, 3, 4, 5)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("name,kwargs,shape", CASES, ids=IDS)
def test_matches_keras_channels_first_with_the_same_weights(name, kwargs, shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    with jax.numpy_rank_promotion("allow"):  # Keras relies on implicit rank promotion
        theirs = getattr(keras.layers, name)(data_format="channels_first", **kwargs)
        expected = keras.ops.convert_to_numpy(theirs(x))
        expected_shape = theirs.compute_output_shape((None,) + shape[1:])
    ours = getattr(L, name)(data_format="channels_first", **kwargs)
    ours(x)
    ours.set_weights(theirs.get_weights())
    got = np.asarray(ours(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert ours.get_config()["data_format"] == theirs.get_config()["data_format"] == "channels_first"
    symbolic = getattr(L, name)(data_format="channels_first", **kwargs)(hl.Input(shape[1:]))
    assert tuple(symbolic.shape) == tuple(expected_shape) == (None,) + expected.shape[1:]


@pytest.mark.parametrize("name,kwargs,shape,weights", [
    ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 3, 6, 5), 2),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 3, 5), 2),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (2, 3, 6, 5), 3),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, (2, 3, 9), 3),
    ("DepthwiseConv1D", {"kernel_size": 2}, (2, 3, 9), 2),
    ("MaxPooling2D", {}, (2, 3, 6, 4), 0),
    ("GlobalAveragePooling2D", {"keepdims": True}, (2, 3, 6, 5), 0),
    ("UpSampling2D", {}, (2, 3, 2, 3), 0),
    ("ZeroPadding2D", {"padding": 1}, (2, 3, 2, 3), 0),
])
def test_layer_harness_channels_first(name, kwargs, shape, weights):
    with jax.numpy_rank_promotion("allow"):
        out = getattr(keras.layers, name)(data_format="channels_first", **kwargs).compute_output_shape(shape)
    run_layer_test(getattr(L, name), {"data_format": "channels_first", **kwargs}, shape, tuple(out),
                   expected_num_trainable_weights=weights)


def test_global_average_pooling_1d_mask_channels_first_matches_keras(rng):
    x = rng.standard_normal((3, 4, 6)).astype("float32")   # (batch, features, steps)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0]], bool)
    with jax.numpy_rank_promotion("allow"):
        expected = keras.ops.convert_to_numpy(
            keras.layers.GlobalAveragePooling1D(data_format="channels_first")(x, mask=mask))
    got = L.GlobalAveragePooling1D(data_format="channels_first")(x, mask=mask)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6, atol=1e-6)


def test_a_built_conv_takes_other_spatial_sizes_and_checks_channels_on_axis_1(rng):
    layer = L.Conv2D(4, 3, data_format="Channels_First")   # case ignored, as Keras's standardize_data_format
    assert layer.data_format == "channels_first"
    layer(np.zeros((2, 3, 8, 8), "float32"))
    assert layer.kernel.shape == (3, 3, 3, 4)
    assert layer(rng.standard_normal((1, 3, 10, 12)).astype("float32")).shape == (1, 4, 8, 10)
    with pytest.raises(ValueError, match=r"does not match layer .* built for inputs of shape \(None, 3, 8, 8\)"):
        layer(np.zeros((1, 5, 8, 8), "float32"))


def test_channels_first_model_saves_loads_and_trains(tmp_path, rng):
    inputs = hl.Input((3, 8, 8))
    x = L.Conv2D(4, 3, padding="same", activation="relu", data_format="channels_first")(inputs)
    x = L.MaxPooling2D(data_format="channels_first")(x)
    x = L.UpSampling2D(data_format="channels_first")(x)
    x = L.GlobalAveragePooling2D(data_format="channels_first")(x)
    model = hl.Model(inputs, L.Dense(1)(x))
    model.compile(optimizer=hl.optimizers.SGD(0.01), loss="mse")
    data, target = rng.standard_normal((8, 3, 8, 8)).astype("float32"), rng.standard_normal((8, 1)).astype("float32")
    model.fit(data, target, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert loaded.layers[1].data_format == "channels_first"
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), atol=1e-6)


@pytest.mark.parametrize("cls", [L.Conv2D, L.MaxPooling2D, L.GlobalMaxPooling3D, L.UpSampling2D, L.Cropping2D])
def test_unknown_data_format_names_both_values(cls):
    kwargs = {"filters": 2, "kernel_size": 3} if cls is L.Conv2D else {}
    with pytest.raises(ValueError, match=rf"{cls.__name__} `data_format` must be 'channels_last' or "
                                         r"'channels_first', got 'nchw'"):
        cls(data_format="nchw", **kwargs)


def test_conv_lstm_still_refuses_channels_first_with_the_fix():
    with pytest.raises(ValueError, match=r"ConvLSTM2D supports data_format='channels_last' only.*moveaxis.*"
                                         r"pass data_format='channels_last'"):
        L.ConvLSTM2D(2, 3, data_format="channels_first")
    hl.backend.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match=r"\(passed, or hl.backend.image_data_format\(\)\)"):
            L.ConvLSTM2D(2, 3)
        assert L.ConvLSTM2D(2, 3, data_format="channels_last").data_format == "channels_last"
    finally:
        hl.backend.set_image_data_format("channels_last")


@pytest.mark.parametrize("name,shape", [("SpatialDropout2D", (4, 6, 5, 5)), ("SpatialDropout3D", (4, 6, 2, 3, 3))])
def test_spatial_dropout_channels_first_drops_whole_channels_on_axis_1(name, shape):
    # Keras's noise shape (batch, channels, 1, ...): each (sample, channel) is all kept or all zero.
    x = np.ones(shape, "float32")
    layer = getattr(L, name)(0.5, data_format="channels_first")
    y = np.asarray(layer(x, training=True)).reshape(shape[0], shape[1], -1)
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    assert (y.std(axis=-1) == 0).all()
    assert layer.get_config()["data_format"] == "channels_first"
    with jax.numpy_rank_promotion("allow"):
        keras_noise = getattr(keras.layers, name)(0.5, data_format="channels_first")._get_noise_shape(x)
    assert tuple(keras_noise) == (shape[0], shape[1]) + (1,) * (len(shape) - 2)


@pytest.fixture
def channels_first_default():
    hl.backend.set_image_data_format("channels_first")
    keras.config.set_image_data_format("channels_first")
    try:
        yield
    finally:
        hl.backend.set_image_data_format("channels_last")
        keras.config.set_image_data_format("channels_last")


def test_image_data_format_default_is_followed_as_keras(channels_first_default, rng):
    assert hl.backend.image_data_format() == keras.config.image_data_format() == "channels_first"
    x = rng.standard_normal((2, 3, 6, 5)).astype("float32")
    for name, kwargs in (("Conv2D", {"filters": 2, "kernel_size": 3}), ("MaxPooling2D", {}), ("Flatten", {}),
                         ("GlobalAveragePooling2D", {}), ("UpSampling2D", {}), ("Cropping2D", {"cropping": 1}),
                         ("SpatialDropout2D", {"rate": 0.1})):
        theirs, ours = getattr(keras.layers, name)(**kwargs), getattr(L, name)(**kwargs)
        assert ours.data_format == theirs.data_format == "channels_first", name
        with jax.numpy_rank_promotion("allow"):
            expected = keras.ops.convert_to_numpy(theirs(x))
        ours(x)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-5, atol=1e-5, err_msg=name)
    assert L.RandomFlip().data_format == keras.layers.RandomFlip().data_format == "channels_first"
    # Layers without a data_format in Keras stay channels-last.
    seq = rng.standard_normal((2, 6, 3)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        np.testing.assert_array_equal(np.asarray(L.Cropping1D(1)(seq)),
                                      keras.ops.convert_to_numpy(keras.layers.Cropping1D(1)(seq)))
    assert L.SpatialDropout1D(0.1).data_format == "channels_last"
    # A saved config keeps the format it was built with.
    layer = L.Conv2D(2, 3)
    hl.backend.set_image_data_format("channels_last")
    assert L.Conv2D.from_config(layer.get_config()).data_format == "channels_first"
    with pytest.raises(ValueError, match=r"set_image_data_format's data_format must be 'channels_last' or "
                                         r"'channels_first', got 'nchw'"):
        hl.backend.set_image_data_format("nchw")


def test_batch_normalization_axis_1_matches_keras(rng):
    # Channels-first networks normalize with axis=1: a training step's outputs and moving statistics.
    x = (2 * rng.standard_normal((4, 3, 5, 5)) + 1).astype("float32")
    theirs, ours = keras.layers.BatchNormalization(axis=1), L.BatchNormalization(axis=1)
    with jax.numpy_rank_promotion("allow"):
        expected = keras.ops.convert_to_numpy(theirs(x, training=True))
        expected_inference = keras.ops.convert_to_numpy(theirs(x))
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(x)), expected_inference, rtol=1e-5, atol=1e-5)
