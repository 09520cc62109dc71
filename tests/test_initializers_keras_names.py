"""Identity, STFT, the lower-case aliases and initializers.deserialize against keras.initializers."""

import inspect

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import initializers


def _keras(init, shape):
    with jax.numpy_rank_promotion("allow"):
        return np.asarray(init(shape, dtype="float32"))


@pytest.mark.parametrize("gain, shape", [(1.0, (3, 3)), (2.5, (2, 4)), (0.5, (5, 2))])
def test_identity_matches_keras(gain, shape):
    ours = np.asarray(initializers.Identity(gain)(jax.random.key(0), shape))
    np.testing.assert_array_equal(ours, _keras(keras.initializers.Identity(gain), shape))
    assert ours.dtype == np.float32


@pytest.mark.parametrize("kwargs", [{}, {"side": "imag"}, {"window": None}, {"window": "hamming", "periodic": True},
                                    {"scaling": "spectrum", "side": "imag"}, {"scaling": None},
                                    {"window": [0.5, 1.0, 1.0, 0.5, 0.25, 0.1]}])
def test_stft_matches_keras(kwargs):
    shape = (6, 1, 5)
    ours = np.asarray(initializers.STFT(**kwargs)(jax.random.key(0), shape))
    np.testing.assert_allclose(ours, _keras(keras.initializers.STFT(**kwargs), shape), rtol=1e-6, atol=1e-6)


def test_lower_case_names_are_the_classes_as_in_keras():
    pairs = 0
    for name in dir(keras.initializers):
        alias = getattr(keras.initializers, name)
        if name[0].islower() and inspect.isclass(alias):
            ours = getattr(initializers, name)
            for other in dir(keras.initializers):
                if other != name and getattr(keras.initializers, other) is alias:
                    assert getattr(initializers, other) is ours, (name, other)
                    pairs += 1
    assert pairs >= 17
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert initializers.IdentityInitializer is initializers.Identity
    assert initializers.glorot_uniform is initializers.GlorotUniform


@pytest.mark.parametrize("keras_init", [keras.initializers.Identity(), keras.initializers.Orthogonal(gain=2.0, seed=3),
                                        keras.initializers.STFT(side="imag", window="hamming", periodic=True),
                                        keras.initializers.Constant(0.5), keras.initializers.HeNormal(seed=1)])
def test_keras_configs_deserialize(keras_init):
    config = keras.initializers.serialize(keras_init)
    ours = initializers.deserialize(config)
    assert type(ours).__name__ == type(keras_init).__name__
    for key, value in keras_init.get_config().items():
        if key not in ("input_axes", "output_axes"):
            assert ours.get_config()[key] == value, key
    again = initializers.deserialize(initializers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_deserialize_names_and_custom_objects():
    assert type(initializers.deserialize("identity")) is initializers.Identity
    assert type(initializers.deserialize("OrthogonalInitializer")) is initializers.Orthogonal
    assert type(initializers.deserialize({"class_name": "IdentityInitializer", "config": {}})) is initializers.Identity

    class Twos(initializers.Initializer):
        def __call__(self, key, shape, dtype=np.float32):
            return np.full(shape, 2.0, dtype)

    found = initializers.deserialize({"class_name": "Twos", "config": {}}, custom_objects={"Twos": Twos})
    assert isinstance(found, Twos)
    with pytest.raises(ValueError, match="Twos"):
        initializers.deserialize({"class_name": "Twos", "config": {}})


def test_names_resolve_in_layer_arguments():
    layer = hl.layers.Dense(3, kernel_initializer="identity", bias_initializer="ones")
    hl.Sequential([hl.Input((3,)), layer])
    kernel, bias = layer.get_weights()
    np.testing.assert_array_equal(kernel, np.eye(3))
    np.testing.assert_array_equal(bias, np.ones(3))
    config = layer.get_config()["kernel_initializer"]
    assert initializers.get(config).get_config() == {"gain": 1.0}


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match=r"Identity initializes only rank-2 weights.*\(2, 2, 2\)"):
        initializers.Identity()(jax.random.key(0), (2, 2, 2))
    with pytest.raises(ValueError, match="STFT's side must be 'real' or 'imag', got side='both'"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="STFT's scaling must be None, 'density' or 'spectrum'"):
        initializers.STFT(scaling="power")
    with pytest.raises(ValueError, match="STFT's window must have frame_length=4 values"):
        initializers.STFT(window=[1.0, 2.0])(jax.random.key(0), (4, 1, 3))
