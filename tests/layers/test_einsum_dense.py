"""EinsumDense against Keras 3 on the same weights: equations with and without ellipses, bias
axes, partial output shapes, the initializer's fans, config, saving and errors."""

import json

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (kwargs, input shape, output shape)
HARNESS = [
    ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (2, 3), (2, 4)),
    ({"equation": "abc,cd->abd", "output_shape": (None, 5), "bias_axes": "d", "activation": "relu"}, (2, 3, 4),
     (2, 3, 5)),
    ({"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"}, (2, 5, 4), (2, 5, 2, 3)),
]
# (kwargs, input shape)
CASES = [case[:2] for case in HARNESS] + [
    ({"equation": "abc,cde->abde", "output_shape": (5, 2, 3), "bias_axes": "b"}, (2, 5, 4)),
    ({"equation": "...b,bc->...c", "output_shape": 3, "bias_axes": "c"}, (2, 4, 5)),
    ({"equation": "ab...,bc->ac...", "output_shape": (3, 4, 2), "bias_axes": "c"}, (2, 5, 4, 2)),
    ({"equation": "abcd,cde->abe", "output_shape": (None, 6)}, (2, 3, 4, 5)),
]
IDS = [c[0]["equation"] for c in CASES]


def _keras(layer, x):
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(layer(x))


@pytest.mark.parametrize("kwargs,shape", CASES, ids=IDS)
def test_matches_keras_on_the_same_weights(kwargs, shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    theirs = keras.layers.EinsumDense(**kwargs)
    _keras(theirs, x)
    theirs.set_weights([rng.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()])
    ours = L.EinsumDense(**kwargs)
    ours(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)
    symbolic = L.EinsumDense(**kwargs)(hl.Input(shape[1:]))
    assert tuple(symbolic.shape) == (None,) + ours(x).shape[1:]
    config, keras_config = ours.get_config(), theirs.get_config()
    for key in ("equation", "bias_axes", "activation"):
        assert config[key] == keras_config[key], key
    assert tuple(config["output_shape"]) == tuple(keras_config["output_shape"])


@pytest.mark.parametrize("kwargs,shape,out", HARNESS, ids=IDS[:3])
def test_layer_harness(kwargs, shape, out):
    layer = run_layer_test(L.EinsumDense, kwargs, shape, out, 1 + ("bias_axes" in kwargs))
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.EinsumDense and clone.get_config() == config


def test_glorot_fans_are_the_kernels_input_and_output_axes():
    # kernel (c=64, d=4, e=256): fan_in 64, fan_out 4 * 256; Keras's limit sqrt(6 / (64 + 1024)).
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 4, 256))
    layer(np.ones((1, 2, 64), "float32"))
    kernel = np.asarray(layer.kernel.get_value())
    limit = np.sqrt(6.0 / (64 + 1024))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    # Keras's default fans for a 3-D kernel would give a limit of sqrt(6 / (4 * 64 + 4 * 256)).
    assert np.abs(kernel).max() > np.sqrt(6.0 / (4 * 64 + 4 * 256)) * 1.05


def test_fit_save_load_and_mixed_precision(rng, tmp_path):
    x = rng.standard_normal((8, 3, 4)).astype("float32")
    y = rng.standard_normal((8, 3, 2, 5)).astype("float32")
    model = hl.Sequential([hl.Input((3, 4)),
                           L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 5), bias_axes="de")])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    layer = L.EinsumDense("ab,bc->ac", 3, bias_axes="c", dtype="mixed_bfloat16")
    out = layer(x[:, 0])
    assert out.dtype == jax.numpy.bfloat16 and layer.kernel.get_value().dtype == np.float32


def test_errors():
    with pytest.raises(ValueError, match="EinsumDense equation 'ab->b' is not of a supported form"):
        L.EinsumDense("ab->b", 3)
    with pytest.raises(ValueError, match="output_shape must be a positive integer or a tuple"):
        L.EinsumDense("ab,bc->ac", (0,))
    with pytest.raises(ValueError, match=r"bias_axes 'x': 'x' is not an output dimension of 'ab,bc->ac'"):
        L.EinsumDense("ab,bc->ac", 3, bias_axes="x")(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="output_shape gives 7 for dimension 'b'"):
        L.EinsumDense("abc,cd->abd", (7, 3))(np.ones((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match="weight dimension 'z' is in neither the input nor the output spec"):
        L.EinsumDense("ab,bz->ab", 4)(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="output dimension 'q' is in neither"):
        L.EinsumDense("ab,bc->aq", 4)(np.ones((2, 4), "float32"))
