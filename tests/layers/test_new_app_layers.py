"""The layers the applications need: ReLU and Normalization (against Keras 3)."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (class, kwargs, input shape, output shape, trainable, non-trainable)
CASES = [
    (L.ReLU, {}, (2, 3, 4), (2, 3, 4), 0, 0),
    (L.ReLU, {"max_value": 6.0}, (2, 5), (2, 5), 0, 0),
    (L.ReLU, {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5}, (2, 5), (2, 5), 0, 0),
    (L.Normalization, {}, (2, 4, 4, 3), (2, 4, 4, 3), 0, 3),
    (L.Normalization, {"axis": (1, 2)}, (2, 4, 3), (2, 4, 3), 0, 3),
    (L.Normalization, {"axis": None}, (2, 5), (2, 5), 0, 3),
    (L.Normalization, {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 4, 3), (2, 4, 3), 0, 0),
    (L.Normalization, {"mean": 2.0, "variance": 4.0, "invert": True}, (2, 3), (2, 3), 0, 0),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out,nt,nnt", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out, nt, nnt):
    run_layer_test(cls, kwargs, shape, out, nt, nnt)


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


RELU_ARGS = [{}, {"max_value": 6.0}, {"max_value": 2.0}, {"negative_slope": 0.3},
             {"negative_slope": 0.2, "max_value": 6.0}, {"threshold": 0.5},
             {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5}]


@pytest.mark.parametrize("kwargs", RELU_ARGS, ids=[str(k) for k in RELU_ARGS])
def test_relu_matches_keras(kwargs, rng):
    x = (rng.standard_normal((3, 4, 5)) * 4).astype("float32")
    expected = _keras(keras.layers.ReLU(**kwargs), x)
    np.testing.assert_array_equal(np.asarray(L.ReLU(**kwargs)(x)), expected)
    assert L.ReLU(**kwargs).get_config() | {"name": None} == {
        **keras.layers.ReLU(**kwargs).get_config(), "name": None, "trainable": True, "dtype": "float32",
        "max_value": kwargs.get("max_value"), "negative_slope": kwargs.get("negative_slope", 0.0),
        "threshold": kwargs.get("threshold", 0.0)}


@pytest.mark.parametrize("bad,match", [({"max_value": -1.0}, "max_value"), ({"negative_slope": None}, "negative_slope"),
                                       ({"threshold": -0.1}, "threshold")])
def test_relu_rejects_negative_arguments(bad, match):
    with pytest.raises(ValueError, match=f"ReLU `{match}` must be a non-negative number"):
        L.ReLU(**bad)


@pytest.mark.parametrize("axis", [-1, 3, (1, 2), None])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_weights_match_keras(axis, invert, rng):
    x = (rng.standard_normal((2, 4, 5, 3)) * 3 + 1).astype("float32")
    k = keras.layers.Normalization(axis=axis, invert=invert)
    k.build(x.shape)
    stats = [rng.standard_normal(w.shape).astype("float32") if w.dtype == "float32" else w.numpy()
             for w in k.weights]
    stats[1] = np.abs(stats[1]) + 0.1
    k.set_weights(stats)
    k.finalize_state()  # Keras's set_weights leaves the broadcast statistics stale; loading calls this.
    ours = L.Normalization(axis=axis, invert=invert)
    ours(x)
    ours.set_weights(k.get_weights())
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in k.get_weights()]
    assert [w.dtype for w in ours.get_weights()] == [w.dtype for w in k.get_weights()]
    assert ours.count_params() == k.count_params()
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(k, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mean,variance,axis", [([1.0, 2.0, 3.0], [1.0, 4.0, 0.0], -1), (2.0, 9.0, -1),
                                                ([[1.0, 2.0, 3.0]] * 5, [[4.0, 1.0, 2.0]] * 5, (2, 3))])
def test_normalization_given_statistics_match_keras(mean, variance, axis, rng):
    x = rng.standard_normal((2, 4, 5, 3)).astype("float32")
    k = keras.layers.Normalization(axis=axis, mean=mean, variance=variance)
    ours = L.Normalization(axis=axis, mean=mean, variance=variance)
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(k, x), rtol=1e-6, atol=1e-6)
    assert ours.get_weights() == []


def test_normalization_adapt_matches_keras(rng):
    x = (rng.standard_normal((40, 6, 3)) * [1.0, 2.0, 5.0] + [0.0, -1.0, 3.0]).astype("float32")
    k = keras.layers.Normalization(axis=-1)
    k.adapt(x)
    whole = L.Normalization(axis=-1)
    whole.adapt(x)
    batched = L.Normalization(axis=-1)
    batched.adapt([x[:7], x[7:30], x[30:]])
    for ours in (whole, batched):
        for got, want in zip(ours.get_weights()[:2], k.get_weights()[:2]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(ours(x)), _keras(k, x), rtol=1e-5, atol=1e-5)


def test_normalization_errors():
    with pytest.raises(ValueError, match="needs both `mean` and `variance`"):
        L.Normalization(mean=[1.0])
    with pytest.raises(ValueError, match="must have the same shape"):
        L.Normalization(mean=[1.0, 2.0], variance=[1.0])
    layer = L.Normalization(axis=-1)
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"Input of shape \(2, 4\) does not match layer .*statistics have shape"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="cannot adapt"):
        L.Normalization(mean=1.0, variance=1.0).adapt(np.zeros((2, 3), "float32"))


def test_normalization_uint8_images_become_floats():
    layer = L.Normalization(mean=127.5, variance=127.5 ** 2)
    y = layer(np.array([[0, 255]], "uint8"))
    assert y.dtype == np.float32 and np.asarray(y).tolist() == [[-1.0, 1.0]]
