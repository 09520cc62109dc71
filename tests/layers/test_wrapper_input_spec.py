"""Wrapper (Keras's abstract wrapper base, TimeDistributed's base) and InputSpec checked at call
time, accepting and refusing the same inputs as Keras 3.15's assert_input_compatibility."""

import jax
import keras
import numpy as np
import pytest
from keras.src.layers.input_spec import assert_input_compatibility as keras_check

import highlevel as hl
from highlevel.layers.input_spec import assert_input_compatibility

L = hl.layers

CASES = [({"ndim": 2}, (3, 4), "float32"), ({"ndim": 2}, (3, 4, 1), "float32"),
         ({"min_ndim": 3}, (3, 4), "float32"), ({"max_ndim": 2}, (3, 4, 5), "float32"),
         ({"dtype": "int32"}, (3,), "float32"), ({"dtype": "float32"}, (3,), "float32"),
         ({"axes": {-1: 4}}, (2, 4), "float32"), ({"axes": {-1: 4}}, (2, 5), "float32"),
         ({"shape": (None, 28, 28, 1)}, (2, 28, 28, 1), "float32"),
         ({"shape": (None, 28, 28, 1)}, (2, 28, 27, 1), "float32"),
         ({"shape": (None, 28, 28, 1), "allow_last_axis_squeeze": True}, (2, 28, 28), "float32"),
         ({"ndim": 2, "allow_last_axis_squeeze": True}, (2, 3, 1), "float32"),
         ({"shape": (None, 3)}, (5, 4), "float32")]


@pytest.mark.parametrize("kwargs,shape,dtype", CASES)
def test_accepts_and_refuses_what_keras_does(kwargs, shape, dtype):
    x = np.zeros(shape, dtype)
    try:
        keras_check(keras.InputSpec(**kwargs), x, "probe")
        keras_ok = True
    except ValueError:
        keras_ok = False
    try:
        assert_input_compatibility(hl.InputSpec(**kwargs), x, "probe")
        ours_ok = True
    except ValueError as err:
        assert "layer 'probe'" in str(err)
        ours_ok = False
    assert ours_ok == keras_ok
    assert hl.InputSpec(**kwargs).get_config() == keras.InputSpec(**kwargs).get_config()


class Checked(L.Layer):
    """A layer that declares what it takes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = [L.InputSpec(ndim=2, axes={-1: 3}, name="a"), L.InputSpec(min_ndim=1, name="b")]

    def call(self, inputs):
        a, b = (inputs["a"], inputs["b"]) if isinstance(inputs, dict) else inputs
        return a * b[:, None]


def test_layer_input_spec_is_checked_on_arrays_and_keras_tensors():
    layer = Checked(name="checked")
    assert layer([np.ones((2, 3), "float32"), np.ones((2,), "float32")]).shape == (2, 3)
    with pytest.raises(ValueError, match="Input 0 \\(named 'a'\\) of layer 'checked' is incompatible with the "
                                         "layer: expected axis -1 of input shape to have value 3"):
        layer([np.ones((2, 4), "float32"), np.ones((2,), "float32")])
    with pytest.raises(ValueError, match="Layer 'checked' expects 2 named input\\(s\\) with keys \\['a', 'b'\\]"):
        layer(np.ones((2, 3), "float32"))
    out = layer({"b": np.ones((2,), "float32"), "a": np.ones((2, 3), "float32")})   # dicts go by name
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="of layer 'checked' is incompatible with the layer: expected ndim=2"):
        Checked(name="checked")([hl.Input((3, 3)), hl.Input(())])
    assert L.Dense(2).input_spec is None
    assert hl.InputSpec is L.InputSpec


class Doubled(L.Wrapper):
    """Twice the wrapped layer's output."""

    def call(self, inputs):
        return 2.0 * self.layer(inputs)


hl.saving.register_keras_serializable("test_wrapper")(Doubled)


def test_wrapper_holds_builds_and_serializes_its_layer(rng, tmp_path):
    x = rng.standard_normal((4, 3)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        inner = keras.layers.Dense(2)
        inner(x)
    layer = Doubled(L.Dense(2))
    layer.build((None, 3))
    assert layer.layer.built and layer.layer.kernel.shape == (3, 2)
    layer.set_weights(inner.get_weights())
    with jax.numpy_rank_promotion("allow"):
        expected = 2 * np.asarray(inner(x))
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6)
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Dense" and set(keras.layers.Wrapper(inner).get_config()) >= {"layer"}
    clone = Doubled.from_config(config)
    clone(x)
    assert clone.layer.get_config()["units"] == 2
    assert isinstance(L.TimeDistributed(L.Dense(2)), L.Wrapper)
    model = hl.Sequential([hl.Input((3,)), layer])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = hl.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="Wrapper must implement call"):
        L.Wrapper(L.Dense(2))(x)
    with pytest.raises(ValueError, match="Doubled wraps a layer instance"):
        Doubled("dense")
