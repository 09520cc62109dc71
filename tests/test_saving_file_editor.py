"""``hl.saving.KerasFileEditor``: files written by highlevel and by Keras 3.15 opened without a model,
edited, compared with a model and resaved; the results load in highlevel and in Keras."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest
from keras.src.saving.file_editor import KerasFileEditor as KerasEditor

import highlevel as hl


def _source(lib):
    x = lib.Input((2,))
    h = lib.layers.Dense(3, name="mydense")(x)
    return lib.Model(x, lib.layers.Dense(3, name="output_layer")(h))


def _target(lib):
    x = lib.Input((2,))
    h = lib.layers.Dense(3, name="mydense")(x)
    h = lib.layers.Dense(3, name="myotherdense")(h)
    return lib.Model(x, lib.layers.Dense(3, name="output_layer")(h))


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """A trained highlevel model saved as a .keras zip (weights, optimizer state, step)."""
    path = tmp_path_factory.mktemp("ours") / "source.keras"
    model = _source(hl)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 3), "float32"), verbose=0)
    model.save(path)
    return model, path


@pytest.fixture(scope="module")
def theirs(tmp_path_factory):
    """A Keras model with built Adam state, saved by Keras as .keras and .weights.h5."""
    folder = tmp_path_factory.mktemp("theirs")
    model = _source(keras)
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    model.save(folder / "source.keras")
    model.save_weights(folder / "source.weights.h5")
    return model, folder


def test_keras_flow_on_a_highlevel_zip_and_the_edited_file_loads(ours, tmp_path, capsys):
    """Keras's own file_editor_test flow; the counts are hand-computed (one object missing
    from each side, then none)."""
    model, path = ours
    editor = hl.saving.KerasFileEditor(path)
    assert editor.metadata["format"] == "highlevel.keras/1" and editor.config is not None
    target = _target(hl)
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 4}
    assert editor.compare(target)["error_count"] == 1
    new_kernel, new_bias = np.full((3, 3), 0.5, "float32"), np.arange(3, dtype="float32")
    editor.add_object("layers/dense_3", weights={"0": new_kernel})
    assert editor.compare(target) == {"status": "error", "error_count": 2, "match_count": 4}
    editor.rename_object("dense_3", "dense_4")
    editor.rename_object("layers/dense_4", "dense_2")
    editor.add_weights("dense_2", weights={"1": new_bias})
    assert editor.compare(target) == {"status": "success", "error_count": 0, "match_count": 6}
    editor.add_object("layers/dense_3", weights={"0": new_kernel})
    assert editor.compare(target)["error_count"] == 1
    editor.delete_object("layers/dense_3")
    capsys.readouterr()
    editor.summary()
    shown = capsys.readouterr().out
    assert "Saved with highlevel" in shown
    assert "dense ('mydense')" in shown and "0: shape=(2, 3), dtype=float32" in shown

    out = tmp_path / "edited.weights.h5"
    editor.save(out)
    assert hl.saving.load_weights(target, out).complete
    old = model.get_weights()
    # Keras's flow appends dense_2: the file's dense_1 (output_layer) fills myotherdense.
    for got, want in zip(target.get_weights(), old + [new_kernel, new_bias]):
        np.testing.assert_array_equal(got, want)

    # The resaved file keeps highlevel's optimizer state where load_model's zip had it, and
    # reopens with a shape mismatch found when a weight of the wrong shape replaces one.
    again = hl.saving.KerasFileEditor(out)
    assert sorted(again.weights_dict) == ["highlevel", "layers"]
    np.testing.assert_array_equal(again.weights_dict["highlevel"]["step"]["0"],
                                  editor.weights_dict["highlevel"]["step"]["0"])
    again.delete_weight("dense_2", "1")
    assert again.compare(target)["error_count"] == 1
    again.add_weights("dense_2", {"1": np.zeros((7,))})
    assert again.compare(target) == {"status": "error", "error_count": 1, "match_count": 5}
    again.add_weights("dense_2", {"1": np.zeros((3,))})
    assert again.compare(target)["status"] == "success"
    # Weights keep their names: with "0" deleted, "1" stays "1" (as Keras's editor writes it).
    again.delete_weight("layers/dense_2", "0")
    again.save(tmp_path / "gap.weights.h5")
    assert list(hl.saving.KerasFileEditor(tmp_path / "gap.weights.h5").weights_dict["layers"]["dense_2"]) == ["1"]
    assert list(KerasEditor(str(tmp_path / "gap.weights.h5")).weights_dict["layers"]["dense_2"]) == ["1"]


def test_a_keras_written_file_reads_as_keras_reads_it_and_its_edit_loads_in_both(theirs, tmp_path, capsys):
    model, folder = theirs
    for name in ("source.keras", "source.weights.h5"):
        ours_, keras_ = hl.saving.KerasFileEditor(folder / name), KerasEditor(str(folder / name))
        assert keras.tree.map_structure(np.shape, ours_.weights_dict) == \
            keras.tree.map_structure(np.shape, dict(keras_.weights_dict))
        for a, b in zip(keras.tree.flatten(ours_.weights_dict), keras.tree.flatten(keras_.weights_dict)):
            np.testing.assert_array_equal(a, b)
    assert "optimizer" in ours_.weights_dict
    capsys.readouterr()
    editor = hl.saving.KerasFileEditor(folder / "source.keras")
    editor.summary()
    assert f"Saved with Keras {keras.__version__}" in capsys.readouterr().out
    assert editor.compare(_source(hl))["status"] == "success"   # the optimizer group is left out

    # Insert a layer between the two: the old dense_1 becomes dense_2.
    editor.rename_object("dense_1", "dense_2")
    inserted = {"0": np.eye(3, dtype="float32") * 2, "1": np.ones(3, "float32")}
    editor.add_object("layers/dense_1", inserted)
    out = tmp_path / "edited.weights.h5"
    editor.resave_weights(out)
    old = model.get_weights()
    expected = old[:2] + [inserted["0"], inserted["1"]] + old[2:]

    keras_target = _target(keras)
    keras_target.load_weights(out)
    for got, want in zip(keras_target.get_weights(), expected):
        np.testing.assert_array_equal(got, want)
    ours_target = _target(hl)
    assert ours_target.load_weights(out).complete
    for got, want in zip(ours_target.get_weights(), expected):
        np.testing.assert_array_equal(got, want)
    # Keras's editor reads the file highlevel wrote as highlevel's does.
    assert sorted(KerasEditor(str(out)).weights_dict["layers"]) == ["dense", "dense_1", "dense_2"]


def test_compare_counts_each_mismatch_and_match_once(tmp_path):
    """Three of six weights differ in shape: 3 errors and 3 matches (Keras 3.15 says 5 and 9)."""
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3), hl.layers.Dense(3), hl.layers.Dense(2)])
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3), hl.layers.Dense(5), hl.layers.Dense(2)])
    assert hl.saving.KerasFileEditor(path).compare(other) == {"status": "error", "error_count": 3, "match_count": 3}


def test_nested_groups_round_trip_unchanged_and_load(tmp_path, rng):
    """An LSTM's cell group and SpectralNormalization's wrapped layer (both dropped by Keras 3.15's
    editor) are kept: resaved unedited, the file holds the same datasets and loads."""
    model = hl.Sequential([hl.Input((5, 4)), hl.layers.LSTM(3),
                           hl.layers.SpectralNormalization(hl.layers.Dense(2))])
    path, out = tmp_path / "m.weights.h5", tmp_path / "resaved.weights.h5"
    model.save_weights(path)
    editor = hl.saving.KerasFileEditor(path)
    assert sorted(editor.weights_dict["layers"]["spectral_normalization"]) == ["0", "1", "layer"]
    assert editor.compare(model)["status"] == "success"
    editor.save(out)

    def datasets(p):
        with h5py.File(p, "r") as f:
            found = {}
            f.visititems(lambda name, obj: found.setdefault(name, obj[()]) if isinstance(obj, h5py.Dataset) else 0)
            return found

    before, after = datasets(path), datasets(out)
    assert sorted(before) == sorted(after)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    fresh = hl.Sequential([hl.Input((5, 4)), hl.layers.LSTM(3),
                           hl.layers.SpectralNormalization(hl.layers.Dense(2))])
    assert fresh.load_weights(out).complete
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_refusals_name_the_path_and_what_exists(ours, tmp_path):
    _, path = ours
    editor = hl.saving.KerasFileEditor(path)
    with pytest.raises(ValueError, match=r"'layers/dense_9' not found.*'layers' holds \['dense', 'dense_1'\]"):
        editor.delete_object("layers/dense_9")
    with pytest.raises(ValueError, match=r"'nope/dense' not found.*top level holds \['highlevel', 'layers'\]"):
        editor.rename_object("nope/dense", "x")
    with pytest.raises(ValueError, match=r"'blocks/dense' not found.*top level holds"):
        editor.add_object("blocks/dense", {"0": np.zeros(2)})
    with pytest.raises(ValueError, match=r"'dense_9' does not appear.*'layers/dense', 'layers/dense_1'"):
        editor.delete_object("dense_9")
    with pytest.raises(ValueError, match=r"'0' occurs more than once.*'layers/dense/0'"):
        editor.delete_object("0")
    with pytest.raises(ValueError, match=r"Weight 7 not found in object layers/dense_1\. Weights found: \['0', '1'\]"):
        editor.delete_weight("dense_1", "7")
    with pytest.raises(ValueError, match="already holds 'layers/dense_1'"):
        editor.rename_object("dense", "dense_1")
    with pytest.raises(ValueError, match="already holds it"):
        editor.add_object("layers/dense", {"0": np.zeros(2)})
    with pytest.raises(ValueError, match="leaf name"):
        editor.rename_object("dense", "layers/x")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("dense", [np.zeros(2)])
    with pytest.raises(ValueError, match=r"expected a `\.weights\.h5` extension.*x\.keras"):
        editor.save(tmp_path / "x.keras")
    with pytest.raises(ValueError, match=r"`\.keras` or `\.weights\.h5`.*x\.h5"):
        hl.saving.KerasFileEditor(tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        hl.saving.KerasFileEditor(tmp_path / "missing.weights.h5")
    link = tmp_path / "link.weights.h5"
    with h5py.File(link, "w") as f:
        f.create_group("real").create_dataset("inner", data=np.zeros((1,)))
        f["layers"] = h5py.SoftLink("/real")
    with pytest.raises(ValueError, match="SoftLink at 'layers'"):
        hl.saving.KerasFileEditor(link)
