"""Upsampling layers against Keras 3 (JAX backend): shapes, numbers, config, saving, errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (class, kwargs, input shape, output shape)
CASES = [
    (L.UpSampling1D, {}, (2, 5, 3), (2, 10, 3)),
    (L.UpSampling1D, {"size": 3}, (2, 4, 2), (2, 12, 2)),
    (L.UpSampling2D, {}, (2, 3, 4, 2), (2, 6, 8, 2)),
    (L.UpSampling2D, {"size": (3, 1)}, (2, 3, 4, 2), (2, 9, 4, 2)),
    (L.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 8, 2)),
    (L.UpSampling2D, {"size": (2, 3), "interpolation": "bicubic"}, (2, 3, 4, 2), (2, 6, 12, 2)),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out):
    layer = run_layer_test(cls, kwargs, shape, out)
    assert layer.weights == []


def test_unknown_spatial_sizes_stay_unknown():
    y = L.UpSampling2D((2, 3))(hl.Input((None, 5, 4)))
    assert y.shape == (None, None, 15, 4)
    assert L.UpSampling1D(2)(hl.Input((None, 4))).shape == (None, None, 4)


# ---------------------------------------------------------------------------
# Same numbers as Keras.


def _keras(name, kwargs, x):
    with jax.numpy_rank_promotion("allow"):  # Keras relies on implicit rank promotion
        return keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsampling1d_matches_keras(size, rng):
    x = rng.standard_normal((2, 7, 3)).astype("float32")
    expected = _keras("UpSampling1D", {"size": size}, x)
    got = np.asarray(L.UpSampling1D(size)(x))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("interpolation,size,image", [
    *[(i, size, image) for i in ("nearest", "bilinear") for size in (2, (3, 2), (1, 4))
      for image in ((5, 7), (1, 3))],
    ("bicubic", (2, 3), (5, 7)), ("lanczos3", 2, (5, 7)), ("lanczos5", (3, 2), (4, 6)),
])
def test_upsampling2d_matches_keras(interpolation, size, image, rng):
    x = rng.standard_normal((2, *image, 3)).astype("float32")
    kwargs = {"size": size, "interpolation": interpolation}
    expected = _keras("UpSampling2D", kwargs, x)
    got = np.asarray(L.UpSampling2D(**kwargs)(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_bilinear_matches_hand_computed_half_pixel_weights():
    # Half-pixel centres: output i reads input (i + 0.5) / 2 - 0.5, clamped at the edges.
    x = np.array([0.0, 4.0, 8.0], "float32").reshape(1, 3, 1, 1)
    got = np.asarray(L.UpSampling2D((2, 1), interpolation="bilinear")(x))[0, :, 0, 0]
    np.testing.assert_allclose(got, [0.0, 1.0, 3.0, 5.0, 7.0, 8.0], rtol=1e-6)


def test_nearest_keeps_integers_and_gradient_sums_repeats(rng):
    x = np.arange(6, dtype="int32").reshape(1, 2, 3, 1)
    y = L.UpSampling2D((2, 2))(x)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(y), np.repeat(np.repeat(x, 2, 1), 2, 2))
    # Each input pixel feeds size[0] * size[1] outputs, so a sum's gradient is that count.
    xf = rng.standard_normal((2, 3, 4, 2)).astype("float32")
    for interpolation in ("nearest", "bilinear"):
        grad = jax.grad(lambda v: L.UpSampling2D((2, 3), interpolation=interpolation)(v).sum())(xf)
        np.testing.assert_allclose(np.asarray(grad), np.full_like(xf, 6.0), rtol=1e-6)


def test_config_matches_keras():
    for name, kwargs in (("UpSampling1D", {}), ("UpSampling1D", {"size": 4}), ("UpSampling2D", {}),
                         ("UpSampling2D", {"size": (3, 1), "interpolation": "Bilinear"})):
        ours, theirs = getattr(L, name)(**kwargs).get_config(), getattr(keras.layers, name)(**kwargs).get_config()
        for key in ("size", "data_format", "interpolation"):
            assert ours.get(key) == theirs.get(key), (name, key, ours.get(key), theirs.get(key))


def test_config_round_trip_through_json():
    layer = L.UpSampling2D((3, 2), interpolation="bilinear", name="up")
    config = json.loads(json.dumps(hl.layers.serialize(layer)))
    clone = hl.layers.deserialize(config)
    assert type(clone) is L.UpSampling2D
    assert (clone.size, clone.interpolation, clone.name) == ((3, 2), "bilinear", "up")
    assert hl.layers.deserialize(hl.layers.serialize(L.UpSampling1D(3))).size == 3


def test_model_with_upsampling_saves_and_loads(tmp_path, rng):
    inputs = hl.Input((4, 4, 1))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = L.UpSampling2D(2, interpolation="bilinear")(x)
    x = L.Conv2D(4, 3, strides=2, padding="same")(x)
    x = L.UpSampling2D((1, 2))(x)
    seq = L.Reshape((32, 4))(x)
    seq = L.UpSampling1D(2)(seq)
    model = hl.Model(inputs, L.Dense(1)(seq))
    assert model.outputs[0].shape == (None, 64, 1)
    model.compile(optimizer=hl.optimizers.Adam(1e-2), loss="mse")
    x_data = rng.standard_normal((8, 4, 4, 1)).astype("float32")
    y_data = rng.standard_normal((8, 64, 1)).astype("float32")
    model.fit(x_data, y_data, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(loaded.predict(x_data, verbose=0), model.predict(x_data, verbose=0), atol=1e-6)


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize("size", [0, -1, 1.5, (2,), True, "2"])
def test_bad_size_1d(size):
    with pytest.raises(ValueError, match=r"UpSampling1D `size` must be a positive integer .* got .*Pass"):
        L.UpSampling1D(size)


def test_bad_size_2d():
    with pytest.raises(ValueError, match=r"UpSampling2D `size` must be an integer or a tuple of 2 integers, "
                                         r"got \(2, 2, 2\)"):
        L.UpSampling2D((2, 2, 2))
    with pytest.raises(ValueError, match=r"UpSampling2D `size` must be positive, got \(2, 0\)"):
        L.UpSampling2D((2, 0))


def test_bad_interpolation_lists_allowed_values():
    with pytest.raises(ValueError, match=r"UpSampling2D `interpolation` must be one of 'nearest', 'bilinear', "
                                         r"'bicubic', 'lanczos3', 'lanczos5', got 'area'\. Use 'nearest'"):
        L.UpSampling2D(interpolation="area")


def test_unknown_data_format_is_refused():   # channels_first: tests/layers/test_channels_first.py
    with pytest.raises(ValueError, match=r"UpSampling2D `data_format` must be 'channels_last' or "
                                         r"'channels_first', got 'nchw'"):
        L.UpSampling2D(data_format="nchw")


@pytest.mark.parametrize("cls,bad_shape", [(L.UpSampling2D, (2, 5, 3)), (L.UpSampling1D, (2, 5, 5, 3)),
                                           (L.UpSampling1D, (2, 5))])
def test_wrong_rank_names_layer_and_shape(cls, bad_shape):
    shape_text = r"\(" + ", ".join(str(d) for d in bad_shape) + r"\)"
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer 'up' expects inputs of rank .*{shape_text}"):
        cls(name="up")(np.zeros(bad_shape, "float32"))
    with pytest.raises(ValueError, match=r"'up'.*\(None, " + ", ".join(str(d) for d in bad_shape[1:])):
        cls(name="up")(hl.Input(bad_shape[1:]))


def test_unexpected_argument_is_a_type_error():
    with pytest.raises(TypeError, match="UpSampling1D got unexpected arguments: data_format"):
        L.UpSampling1D(2, data_format="channels_last")


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos3"])
@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_interpolated_integers_keep_their_dtype_as_keras(interpolation, dtype):
    # Keras rounds (half to even) and clips to the dtype's range: bicubic and Lanczos overshoot 0..255.
    x = (np.arange(24).reshape(1, 3, 4, 2) * 11 % 256).astype(dtype)
    kwargs = {"size": (2, 3), "interpolation": interpolation}
    expected = _keras("UpSampling2D", kwargs, x)
    got = L.UpSampling2D(**kwargs)(x)
    assert got.dtype == np.dtype(dtype) == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), expected)
