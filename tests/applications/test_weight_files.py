"""Keras weight files (Keras 3 .weights.h5 and legacy .h5) loaded by layer name, and what is left out."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl


def _keras_model(head_units=3):
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu", name="inner_dense"),
                              keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    i = keras.Input((4,), name="x")
    h = keras.layers.Dense(6, activation="tanh", name="d1")(i)
    h = inner(h)
    o = keras.layers.Dense(head_units, name="head")(h)
    return keras.Model(i, o)


def _hl_model(head_units=3):
    inner = hl.Sequential([hl.Input((6,)), hl.layers.Dense(5, activation="relu", name="inner_dense"),
                           hl.layers.BatchNormalization(name="inner_bn")], name="inner")
    i = hl.Input((4,), name="x")
    h = hl.layers.Dense(6, activation="tanh", name="d1")(i)
    h = inner(h)
    o = hl.layers.Dense(head_units, name="head")(h)
    return hl.Model(i, o)


def _randomize(kmodel, rng):
    kmodel.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in kmodel.get_weights()])


@pytest.mark.parametrize("fmt", ["weights.h5", "legacy.h5"])
def test_keras_file_loads_by_name_and_gives_keras_outputs(tmp_path, rng, fmt):
    with jax.numpy_rank_promotion("allow"):
        kmodel = _keras_model()
        _randomize(kmodel, rng)
        path = tmp_path / ("k.weights.h5" if fmt == "weights.h5" else "k.h5")
        if fmt == "weights.h5":
            kmodel.save_weights(path)
        else:
            kmodel.save(path)
        x = rng.normal(size=(5, 4)).astype("float32")
        expected = np.asarray(kmodel.predict(x, verbose=0))
    model = _hl_model()
    before = model.predict(x, verbose=0)
    report = model.load_weights(path)
    assert report.complete and sorted(report.loaded) == ["d1", "head", "inner_bn", "inner_dense"]
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got - before).max() > 1e-2


def test_a_different_head_raises_naming_it_and_changes_nothing(tmp_path, rng):
    with jax.numpy_rank_promotion("allow"):
        kmodel = _keras_model(head_units=3)
        _randomize(kmodel, rng)
        kmodel.save_weights(tmp_path / "k.weights.h5")
    model = _hl_model(head_units=7)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer .head. holds \(5, 7\), \(7,\) but the file has \(5, 3\), \(3,\)"):
        model.load_weights(tmp_path / "k.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_the_rest_and_reports_the_head(tmp_path, rng):
    with jax.numpy_rank_promotion("allow"):
        kmodel = _keras_model(head_units=3)
        _randomize(kmodel, rng)
        kmodel.save(tmp_path / "k.h5")
    model = _hl_model(head_units=7)
    head_before = model.get_layer("head").get_weights()
    report = model.load_weights(tmp_path / "k.h5", skip_mismatch=True)
    assert report.mismatched and report.mismatched[0][0] == "head"
    assert sorted(report.loaded) == ["d1", "inner_bn", "inner_dense"]
    assert "shape mismatch, skipped: head" in str(report)
    np.testing.assert_array_equal(model.get_layer("d1").get_weights()[0], kmodel.get_layer("d1").get_weights()[0])
    np.testing.assert_array_equal(model.get_layer("head").get_weights()[0], head_before[0])


def test_a_layer_missing_from_the_file_is_named(tmp_path, rng):
    with jax.numpy_rank_promotion("allow"):
        i = keras.Input((4,), name="x")
        kmodel = keras.Model(i, keras.layers.Dense(6, name="d1")(i))
        kmodel.save(tmp_path / "small.h5")
    model = _hl_model()
    with pytest.raises(ValueError, match="the model's layers 'inner_dense', 'inner_bn', 'head' have no weights"):
        model.load_weights(tmp_path / "small.h5")
    report = model.load_weights(tmp_path / "small.h5", skip_mismatch=True)
    assert report.loaded == ["d1"] and report.missing == ["inner_dense", "inner_bn", "head"]


def test_not_a_weight_file(tmp_path):
    import h5py
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a Keras weight file"):
        _hl_model().load_weights(tmp_path / "other.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _hl_model().load_weights(tmp_path / "none.weights.h5")


def test_torch_file_into_a_plain_model_says_why(tmp_path):
    with pytest.raises(ValueError, match="loads only into hl.applications models"):
        _hl_model().load_weights(tmp_path / "x.pth")
