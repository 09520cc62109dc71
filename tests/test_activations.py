"""``hl.activations`` against ``keras.activations``: every name of either registry, on random inputs."""

from __future__ import annotations

import jax
import keras
import numpy as np
import pytest

import highlevel as hl

_NOT_ACTIVATIONS = {"get", "serialize", "deserialize"}
KERAS_ACTIVATIONS = {n for n in dir(keras.activations) if not n.startswith("_")} - _NOT_ACTIVATIONS
HL_ACTIVATIONS = set(hl.activations.__all__) - _NOT_ACTIVATIONS

# Activations whose Keras form has required arguments beyond ``x``.
_ARGS = {"threshold": (0.3, -2.0)}


def _keras(fn, *args, **kwargs):
    if fn is keras.activations.sparsemax:
        return numpy_sparsemax(*args, **kwargs)
    with jax.numpy_rank_promotion("allow"):
        return np.asarray(fn(*args, **kwargs))


def numpy_sparsemax(x, axis=-1):
    """Sparsemax by its definition (Martins and Astudillo 2016), in float64: the reference where
    Keras 3.15's JAX backend is wrong (it zeroes every output once two entries survive)."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cumsum = np.cumsum(z, axis=-1)
    support = 1 + k * z > cumsum
    size = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumsum, size - 1, axis=-1) - 1) / size
    return np.moveaxis(np.maximum(x - tau, 0.0), -1, axis).astype(np.float32)


@pytest.mark.parametrize("name", sorted(set(KERAS_ACTIVATIONS) | set(HL_ACTIVATIONS)))
def test_every_activation_name_matches_keras(name):
    x = (3 * np.random.default_rng(0).standard_normal((3, 4, 6))).astype("float32")
    assert name in HL_ACTIVATIONS, f"Keras activation {name!r} is missing from hl.activations"
    assert name in KERAS_ACTIVATIONS, f"hl.activations has {name!r}, which Keras does not"
    args = _ARGS.get(name, ())
    expected = _keras(keras.activations.get(name), x, *args)
    got = np.asarray(hl.activations.get(name)(x, *args))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.dtype == expected.dtype
    # The public function of the same name is the registered one.
    assert getattr(hl.activations, name) is hl.activations.get(name)
    assert hl.activations.get(hl.activations.serialize(hl.activations.get(name))) is hl.activations.get(name)


@pytest.mark.parametrize("name, kwargs", [("celu", {"alpha": 0.5}), ("glu", {"axis": 1}), ("squareplus", {"b": 1.0}),
                                          ("soft_shrink", {"threshold": 1.0}), ("hard_shrink", {"threshold": 1.0}),
                                          ("sparsemax", {"axis": 1}), ("elu", {"alpha": 0.3}),
                                          ("leaky_relu", {"negative_slope": 0.1})])
def test_activation_arguments_match_keras(name, kwargs):
    x = (2 * np.random.default_rng(1).standard_normal((3, 4, 6))).astype("float32")
    expected = _keras(getattr(keras.activations, name), x, **kwargs)
    np.testing.assert_allclose(np.asarray(getattr(hl.activations, name)(x, **kwargs)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"negative_slope": 0.3}, {"max_value": 2.5}, {"max_value": 6.0},
                                    {"threshold": 1.0}, {"threshold": -0.5}, {"negative_slope": 0.2, "max_value": 3.0},
                                    {"negative_slope": 0.1, "threshold": 0.7},
                                    {"negative_slope": 0.5, "max_value": 4.0, "threshold": 1.5}])
def test_relu_arguments_match_keras(kwargs):
    x = (3 * np.random.default_rng(3).standard_normal((3, 4, 6))).astype("float32")
    x[0, 0, :3] = [kwargs.get("threshold", 0.0), kwargs.get("max_value") or 1.0, 0.0]   # the edges exactly
    expected = _keras(keras.activations.relu, x, **kwargs)
    got = hl.activations.relu(x, **kwargs)
    np.testing.assert_array_equal(np.asarray(got), expected)
    assert got.dtype == expected.dtype


def test_dense_with_each_new_activation_matches_keras():
    x = np.random.default_rng(2).standard_normal((4, 5)).astype("float32")
    for name in ["mish", "hard_swish", "celu", "glu", "log_sigmoid", "hard_tanh", "tanh_shrink", "sparse_plus",
                 "squareplus", "soft_shrink", "hard_shrink", "sparsemax", "sparse_sigmoid"]:
        k = keras.layers.Dense(4, activation=name)
        _keras(k, x)
        h = hl.layers.Dense(4, activation=name)
        h(x)
        h.set_weights(k.get_weights())
        logits = x @ np.asarray(k.kernel) + np.asarray(k.bias)
        expected = numpy_sparsemax(logits) if name == "sparsemax" else _keras(k, x)
        np.testing.assert_allclose(np.asarray(h(x)), expected, rtol=1e-5, atol=1e-6, err_msg=name)
        assert h.get_config()["activation"] == k.get_config()["activation"]
