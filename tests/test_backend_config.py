"""hl.backend's Keras settings and dtype helpers, and hl.utils' serialization/graph helpers, against Keras."""

import itertools

import jax
import numpy as np
import pytest

import highlevel as hl

keras = pytest.importorskip("keras")

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bfloat16", "float16",
          "float32", "float64", "complex64", "complex128", int, float, complex, bool, None]


def test_result_type_matches_keras_on_every_pair():
    for pair in itertools.product(DTYPES, repeat=2):
        assert hl.backend.result_type(*pair) == keras.backend.result_type(*pair), pair
    for triple in [("int8", "uint64", float), ("bfloat16", "float16", int), (int, float, bool)]:
        assert hl.backend.result_type(*triple) == keras.backend.result_type(*triple), triple
    assert hl.backend.result_type() == "float32"
    with pytest.raises(ValueError, match="does not promote float8"):
        hl.backend.result_type("float8_e4m3fn", "float32")


@pytest.mark.parametrize("dtype", DTYPES + [np.float32, np.dtype("int8"), jax.numpy.bfloat16, "string",
                                            jax.numpy.zeros(1, "int16").dtype])
def test_standardize_and_kinds_match_keras(dtype):
    assert hl.utils.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)
    assert hl.backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
    assert hl.backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)


def test_standardize_dtype_error():
    with pytest.raises(ValueError, match="'float128' is not a dtype highlevel knows"):
        hl.backend.standardize_dtype("float128")


def test_floatx_sets_the_weights_dtype():
    assert hl.backend.floatx() == "float32"
    try:
        hl.backend.set_floatx("bfloat16")
        assert hl.backend.standardize_dtype(None) == "bfloat16"
        layer = hl.layers.Dense(2)
        layer.build((None, 3))
        assert layer.kernel.value.dtype == jax.numpy.bfloat16
        assert hl.layers.Dense(2, dtype="float32").variable_dtype == "float32"
    finally:
        hl.backend.set_floatx("float32")
    layer = hl.layers.Dense(2)
    layer.build((None, 3))
    assert layer.kernel.value.dtype == jax.numpy.float32
    with pytest.raises(ValueError, match="set_floatx takes one of"):
        hl.backend.set_floatx("int32")


def test_backend_name():
    assert hl.backend.backend() == keras.backend.backend() == "jax"


def test_epsilon_and_uid():
    assert hl.backend.epsilon() == keras.backend.epsilon() == 1e-7
    hl.backend.set_epsilon(1e-4)
    try:
        assert hl.backend.epsilon() == 1e-4
    finally:
        hl.backend.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="positive float"):
        hl.backend.set_epsilon(-1.0)
    hl.backend.clear_session()
    assert [hl.backend.get_uid("a"), hl.backend.get_uid("a"), hl.backend.get_uid("b")] == [1, 2, 1]
    hl.backend.clear_session()
    assert hl.backend.get_uid("a") == 1
    assert hl.backend.clear_session is hl.utils.clear_session


def test_source_inputs_like_keras():
    a, b, c = hl.Input((2,)), hl.Input((3,)), hl.Input((1,))
    y = hl.layers.Dense(1)(hl.layers.Concatenate()([b, hl.layers.Dense(3)(a)]))
    z = hl.layers.Add()([y, hl.layers.Dense(1)(c), y])
    assert hl.utils.get_source_inputs(z) == [b, a, c]
    assert hl.utils.get_source_inputs(a) == [a]
    with jax.numpy_rank_promotion("allow"):
        ka, kb, kc = keras.Input((2,)), keras.Input((3,)), keras.Input((1,))
        ky = keras.layers.Dense(1)(keras.layers.Concatenate()([kb, keras.layers.Dense(3)(ka)]))
        kz = keras.layers.Add()([ky, keras.layers.Dense(1)(kc), ky])
        assert keras.utils.get_source_inputs(kz) == [kb, ka, kc]
    assert hl.utils.is_keras_tensor(z) and hl.backend.is_keras_tensor(a) and not hl.utils.is_keras_tensor(1.0)
    with pytest.raises(TypeError, match="get_source_inputs takes a KerasTensor"):
        hl.utils.get_source_inputs(np.zeros(2))


def test_serialize_round_trip():
    for obj in (hl.layers.Dense(3, activation="relu"), hl.losses.Huber(delta=2.0), hl.optimizers.Adam(0.01)):
        config = hl.utils.serialize_keras_object(obj)
        assert config["class_name"] == type(obj).__name__
        back = hl.utils.deserialize_keras_object(config)
        assert type(back) is type(obj) and back.get_config() == obj.get_config()
