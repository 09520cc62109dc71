"""HashedCrossing against Keras 3's documented outputs and TensorFlow's cross-hash test values.

Keras's layer needs TensorFlow (absent here), so the references are the outputs in Keras's
docstring and ``hashed_crossing_test.py``, and those of TensorFlow's ``sparse_cross_op_test``.
"""

import json

import numpy as np
import pytest

import highlevel as hl
from highlevel.layers.hashed_crossing import cross_hash

L = hl.layers
LETTERS = np.array(["A", "B", "A", "B", "A"])
NUMBERS = np.array([101, 101, 101, 102, 102])


def test_int_output_is_keras_documented_bins():
    out = L.HashedCrossing(num_bins=5)((LETTERS, NUMBERS))
    assert out.dtype == np.int64 and out.shape == (5,)
    assert out.tolist() == [1, 4, 1, 1, 3]
    # (batch, 1) inputs keep their shape; lists, bytes and int32 give the same bins.
    column = L.HashedCrossing(num_bins=5)((LETTERS[:, None], NUMBERS[:, None]))
    assert column.shape == (5, 1) and column.ravel().tolist() == [1, 4, 1, 1, 3]
    assert L.HashedCrossing(5)(([s.encode() for s in LETTERS], NUMBERS.astype("int32").tolist())).tolist() == [
        1, 4, 1, 1, 3]
    assert L.HashedCrossing(num_bins=10)(("A", 101)) == 1   # Keras's scalar example


def test_one_hot_output_is_keras_documented_vectors():
    expected = np.eye(5, dtype="float32")[[1, 4, 1, 1, 3]]
    for shape in ((5,), (5, 1)):
        out = L.HashedCrossing(num_bins=5, output_mode="one_hot")((LETTERS.reshape(shape), NUMBERS.reshape(shape)))
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, expected)


def test_cross_hash_is_tensorflows_fingerprint_cat64_chain():
    # TensorFlow's sparse_cross_op_test: the hashed cross of three strings, raw and in 100 buckets.
    features = ["batch1-FC1-F1", "batch1-FC2-F1", "batch1-FC3-F1"]
    assert cross_hash(features, (1 << 63) - 1) == 1971693436396284976   # num_buckets=0: modulo int64 max
    assert cross_hash(features, 100) == 83
    # Integers and strings of three features, order mattering (FingerprintCat64 is not commutative).
    three = L.HashedCrossing(1 << 30)((np.array([1, -2]), np.array(["x", "y"]), np.array([3, 4])))
    swapped = L.HashedCrossing(1 << 30)((np.array(["x", "y"]), np.array([1, -2]), np.array([3, 4])))
    assert three.tolist() == [cross_hash([1, "x", 3], 1 << 30), cross_hash([-2, "y", 4], 1 << 30)]
    assert three.tolist() != swapped.tolist()
    assert all(0 <= b < 1 << 30 for b in three.tolist())


def test_config_has_keras_keys_and_round_trips():
    layer = L.HashedCrossing(num_bins=7, output_mode="one_hot", name="cross")
    config = layer.get_config()
    assert {k: config[k] for k in ("num_bins", "output_mode", "sparse")} == {
        "num_bins": 7, "output_mode": "one_hot", "sparse": False}
    clone = L.deserialize(json.loads(json.dumps(L.serialize(layer))))
    assert type(clone) is L.HashedCrossing and clone.name == "cross"
    np.testing.assert_array_equal(clone((LETTERS, NUMBERS)), layer((LETTERS, NUMBERS)))
    assert L.HashedCrossing(3).dtype == "int64" and L.HashedCrossing(3, output_mode="one_hot").dtype == "float32"


@pytest.mark.parametrize("inputs,match", [
    (np.array(1), r"should be called on a list or tuple of features, got a ndarray"),
    ([np.array(1)], r"at least two features, got 1"),
    ((np.array([1.0]), np.array([1.0])), r"integer or string dtype, got \['float64', 'float64'\]"),
    ((np.array([[[1]]]), np.array([[[1]]])), r"shape \(\), \(batch,\) or \(batch, 1\), got \(1, 1, 1\)"),
    ((np.array([1, 2]), np.array([1])), r"equal shape, got \(2\), \(1\)|equal shape, got \(2,\), \(1,\)"),
])
def test_bad_inputs_are_refused_as_keras(inputs, match):
    with pytest.raises(ValueError, match=match):
        L.HashedCrossing(num_bins=10)(inputs)


def test_bad_arguments_and_symbolic_inputs_are_refused():
    with pytest.raises(ValueError, match=r"HashedCrossing\(sparse=True\) needs TensorFlow"):
        L.HashedCrossing(4, output_mode="one_hot", sparse=True)
    with pytest.raises(ValueError, match=r"`output_mode` must be one of 'int', 'one_hot', got 'count'"):
        L.HashedCrossing(4, output_mode="count")
    with pytest.raises(ValueError, match=r"`num_bins` must be a positive integer, got 0"):
        L.HashedCrossing(0)
    with pytest.raises(ValueError, match=r"runs on the host .* before fit"):
        L.HashedCrossing(4)((hl.Input((1,), dtype="int32"), hl.Input((1,), dtype="int32")))
