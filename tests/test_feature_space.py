"""hl.utils.FeatureSpace against Keras 3.15's.

TensorFlow is not installed here, and Keras's FeatureSpace (and its lookup, hashing and
Discretization adapt) need it. So each feature is checked against what Keras's FeatureSpace
composes: Keras's own ``Normalization`` adapted on the same column, Keras's quantile summary
functions run over the same 32-row batches ``tf.data`` would give, Keras's documented hash
bins (``Hashing``'s and ``HashedCrossing``'s docstring examples), and hand-computed
vocabularies in Keras's index layout.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import highlevel as hl

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
FS = hl.utils.FeatureSpace

N = 200   # more than 100 rows: Discretization's summaries then depend on the 32-row batches
RNG = np.random.default_rng(0)
TABLE = {
    "price": RNG.normal(10.0, 3.0, N).astype("float32"),
    "age": RNG.uniform(0.0, 1.0, N).astype("float32"),
    # frequencies 100, 60, 40: vocabulary ["red", "blue", "green"] after OOV
    "color": np.array(["red"] * 100 + ["blue"] * 60 + ["green"] * 40, dtype=object)[RNG.permutation(N)],
    # 3 x 100, 1 x 50, 7 x 50: a tie, broken by the larger value first (Keras's lexsort rule)
    "rooms": np.array([3] * 100 + [1] * 50 + [7] * 50)[RNG.permutation(N)],
    "letter": np.array(list("ABCDE") * 40, dtype=object),
}


def one_hot(ids, depth):
    return np.eye(depth, dtype="float32")[np.asarray(ids).reshape(-1)]


def keras_normalized(col):
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(col[:, None])
    return np.asarray(layer(col[:, None]))


def keras_discretized(col, num_bins):
    """Keras's Discretization adapt over ``from_tensor_slices(...).batch(32)``, then its bins."""
    from keras.src.layers.preprocessing.discretization import get_bin_boundaries, merge_summaries, summarize
    summary = np.array([[], []], dtype="float32")
    for start in range(0, len(col), 32):
        batch = np.array(col[start:start + 32, None]).astype("float32")
        summary = merge_summaries(summarize(batch, 0.01), summary, 0.01)
    bounds = get_bin_boundaries(summary, num_bins)
    return one_hot(np.digitize(col, bounds), num_bins)


def make_space(output_mode="concat"):
    return FS(features={"price": "float_normalized", "color": "string_categorical", "rooms": "integer_categorical",
                        "letter": FS.string_hashed(3), "age": FS.float_discretized(num_bins=4)},
              crosses=[FS.cross(("color", "rooms"), crossing_dim=8)], output_mode=output_mode)


def expected_parts():
    from highlevel.layers.hashed_crossing import cross_hash
    color_ids = np.array([{"red": 1, "blue": 2, "green": 3}[c] for c in TABLE["color"]])
    rooms_ids = np.array([{3: 1, 7: 2, 1: 3}[r] for r in TABLE["rooms"]])
    cross_ids = [cross_hash([c, r], 8) for c, r in zip(color_ids, rooms_ids)]
    return {"age": keras_discretized(TABLE["age"], 4), "color": one_hot(color_ids, 4),
            "letter": one_hot([1, 0, 1, 1, 2] * 40, 3),   # Keras's Hashing(num_bins=3) docstring bins of A..E
            "price": keras_normalized(TABLE["price"]), "rooms": one_hot(rooms_ids, 4),
            "color_X_rooms": one_hot(cross_ids, 8)}


def test_concat_equals_keras_layers():
    fs = make_space()
    fs.adapt(TABLE)
    parts = expected_parts()
    out = fs(TABLE)
    # Keras's order: features sorted by name, then crosses sorted by name.
    want = np.concatenate([parts[k] for k in ["age", "color", "letter", "price", "rooms", "color_X_rooms"]], -1)
    assert out.dtype == np.float32 and out.shape == (N, 4 + 4 + 3 + 1 + 4 + 8)
    np.testing.assert_allclose(out, want, atol=1e-5)
    assert fs.preprocessors["color"].get_vocabulary() == ["[UNK]", "red", "blue", "green"]
    assert fs.preprocessors["rooms"].get_vocabulary() == [-1, 3, 7, 1]


def test_dict_mode_and_single_row():
    fs = make_space("dict")
    fs.adapt(TABLE)
    parts = expected_parts()
    out = fs(TABLE)
    assert sorted(out) == sorted(parts)
    for name, want in parts.items():
        np.testing.assert_allclose(out[name], want, atol=1e-5, err_msg=name)
    row = fs({k: v[5] for k, v in TABLE.items()})   # scalars: no batch dimension, as Keras
    np.testing.assert_allclose(row["color"], parts["color"][5])
    concat = make_space()
    concat.adapt(TABLE)
    np.testing.assert_allclose(concat({k: v[5] for k, v in TABLE.items()}), concat(TABLE)[5], atol=1e-6)


def test_raw_cross_matches_keras_hashed_crossing_docs():
    # Keras's HashedCrossing docstring: ("A","B","A","B","A") x (101,101,101,102,102) -> [1, 4, 1, 1, 3].
    fs = FS(features={"s": FS.feature("string", hl.layers.Identity(), "int"),
                      "i": FS.feature("int32", hl.layers.Identity(), "int")},
            crosses=[FS.cross(("s", "i"), crossing_dim=5, output_mode="int")], output_mode="dict")
    fs.adapt({"s": ["A"], "i": [1]})
    out = fs({"s": ["A", "B", "A", "B", "A"], "i": [101, 101, 101, 102, 102]})
    assert out["s_X_i"].ravel().tolist() == [1, 4, 1, 1, 3]


def test_adapt_inputs_agree_and_other_types():
    batches = [{k: v[i:i + 32] for k, v in TABLE.items()} for i in range(0, N, 32)]
    a, b = make_space(), make_space()
    a.adapt(TABLE)
    b.adapt(iter(batches))
    np.testing.assert_allclose(a(TABLE), b(TABLE), atol=1e-6)
    pd = pytest.importorskip("pandas")
    c = make_space()
    c.adapt(pd.DataFrame(TABLE))
    np.testing.assert_allclose(c(TABLE), a(TABLE), atol=1e-6)
    fs = FS({"x": FS.float_rescaled(scale=2.0, offset=1.0), "y": "float", "h": "integer_hashed",
             "d": FS.float_discretized(3, bin_boundaries=[0.25, 0.5])}, hashing_dim=4)
    x = np.array([0.0, 0.3, 0.9], "float32")
    out = fs({"x": x, "y": x, "h": [1, 2, 3], "d": x})   # nothing to adapt
    want = np.concatenate([one_hot([0, 1, 2], 3), one_hot(hl.layers.Hashing(4)(np.array([1, 2, 3])), 4),
                           (2 * x + 1)[:, None], x[:, None]], -1)
    np.testing.assert_allclose(out, want, atol=1e-6)


def test_save_load_and_config_round_trip(tmp_path):
    fs = make_space()
    fs.adapt(TABLE)
    path = str(tmp_path / "fs.json")
    fs.save(path)
    again = FS.load(path)
    np.testing.assert_allclose(again(TABLE), fs(TABLE), atol=1e-6)
    assert FS.from_config(fs.get_config()).get_config() == fs.get_config()


def test_errors():
    fs = make_space()
    with pytest.raises(ValueError, match="call `.adapt"):
        fs(TABLE)
    with pytest.raises(ValueError, match="unknown features"):
        FS({"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="Invalid feature type"):
        FS({"a": "floaty"})
    with pytest.raises(ValueError, match="Expected one of"):
        FS({"a": "float"}, output_mode="list")
    ints = FS({"a": FS.integer_categorical(output_mode="int")})
    ints.adapt({"a": [1, 2]})
    with pytest.raises(ValueError, match="Cannot concatenate"):
        ints({"a": [1, 2]})
    with pytest.raises(ValueError, match="num_bins=3"):
        FS.float_discretized(5, bin_boundaries=[0.0, 1.0])


def test_structured_data_model_trains():
    # Keras's structured-data guide, small: FeatureSpace -> encoded features -> Dense model.
    labels = (TABLE["price"] > 10).astype("float32") * (TABLE["color"] != "green")
    fs = make_space()
    fs.adapt(TABLE)
    encoded = fs.get_encoded_features()
    assert encoded.shape == (None, 24) and fs.get_encoded_features() is encoded
    assert sorted(fs.get_inputs()) == ["age", "price", "rooms"]   # string columns have no hl.Input
    hidden = hl.layers.Dense(16, activation="relu")(encoded)
    model = hl.Model(encoded, hl.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(fs(TABLE), labels, epochs=30, batch_size=50, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.9
