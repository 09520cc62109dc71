"""Keras 3's alias names of layers (``MaxPool2D``, ``Convolution2D``...) against ``keras.layers``."""

import inspect

import jax
import keras
import numpy as np
import pytest

import highlevel as hl

L = hl.layers


def _keras_alias_groups():
    """Names of ``keras.layers`` bound to the same class, each group sorted."""
    groups = {}
    for name in dir(keras.layers):
        obj = getattr(keras.layers, name)
        if not name.startswith("_") and inspect.isclass(obj):
            groups.setdefault(id(obj), []).append(name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def test_every_keras_alias_of_a_class_we_have_is_exported_as_that_class():
    groups = _keras_alias_groups()
    assert len(groups) >= 19
    for group in groups:
        ours = [getattr(L, name, None) for name in group]
        present = [o for o in ours if o is not None]
        if not present:
            continue   # the class itself is missing, so is every alias
        assert all(o is present[0] for o in ours), group
        assert all(name in L.__all__ for name in group), group
        assert present[0].__name__ == getattr(keras.layers, group[0]).__name__


@pytest.mark.parametrize("alias,full", [("MaxPool2D", "MaxPooling2D"), ("AvgPool1D", "AveragePooling1D"),
                                        ("GlobalAvgPool3D", "GlobalAveragePooling3D"),
                                        ("GlobalMaxPool1D", "GlobalMaxPooling1D"), ("Convolution2D", "Conv2D"),
                                        ("Convolution2DTranspose", "Conv2DTranspose"),
                                        ("SeparableConvolution2D", "SeparableConv2D"),
                                        ("SeparableConvolution1D", "SeparableConv1D")])
def test_a_config_naming_the_alias_loads_and_saves_the_full_class(alias, full):
    kwargs = ({"filters": 2, "kernel_size": 3} if "Conv" in full
              else {"pool_size": 2} if alias.startswith("AvgPool") else {})
    keras_layer = getattr(keras.layers, alias)(**kwargs)
    config = {"class_name": alias, "config": getattr(L, alias)(name="x", **kwargs).get_config()}
    layer = L.deserialize(config)
    assert type(layer) is getattr(L, full)
    assert L.serialize(layer)["class_name"] == full == keras.layers.serialize(keras_layer)["class_name"]


def test_alias_layers_compute_what_keras_aliases_compute(rng):
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.Convolution2D(4, 3)
        expected_conv = keras.ops.convert_to_numpy(theirs(x))
        expected_pool = keras.ops.convert_to_numpy(keras.layers.AvgPool2D(2)(x))
    ours = L.Convolution2D(4, 3)
    ours(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected_conv, atol=1e-5)
    np.testing.assert_allclose(np.asarray(L.AvgPool2D(2)(x)), expected_pool, atol=1e-6)
