"""``hl.ops`` and operators on a functional model's symbolic tensors, as Keras 3 writes them."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops


def _tagger(lib, lib_ops):
    """A functional model written the Keras 3 way: a mask from the tokens, scaling, slicing, ops."""
    tokens = lib.Input((6,), dtype="int32")
    mask = tokens != 0
    x = lib.layers.Embedding(12, 4)(tokens)
    x = lib.layers.LSTM(5, return_sequences=True)(x, mask=mask)
    scaled = x / 2.0 - 1
    last = scaled[:, -1, :]
    pooled = lib_ops.mean(scaled, axis=1)
    both = lib_ops.concatenate([last, lib_ops.square(pooled)], axis=-1)
    out = lib.layers.Dense(3)(lib_ops.expand_dims(both, 1))
    out = lib_ops.squeeze(out, axis=1) * lib_ops.cast(lib_ops.sum(lib_ops.cast(mask, "float32"), axis=1,
                                                                   keepdims=True) > 2, "float32")
    return lib.Model(tokens, out)


@pytest.fixture(scope="module")
def tagger_pair():
    with jax.numpy_rank_promotion("allow"):   # Keras's LSTM relies on implicit rank promotion
        reference = _tagger(keras, keras.ops)
    model = _tagger(hl, ops)
    model.set_weights(reference.get_weights())
    return model, reference


def _tokens(n=8, seed=0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 12, size=(n, 6)).astype("int32")
    tokens[:, 4:] = 0          # padding the mask must hide
    tokens[1, 2:] = 0          # two real tokens: the output gate is shut
    return tokens


def test_ops_on_symbolic_tensors_match_keras(tagger_pair):
    model, reference = tagger_pair
    tokens = _tokens()
    with jax.numpy_rank_promotion("allow"):
        expected = np.asarray(reference(tokens))
    np.testing.assert_allclose(np.asarray(model(tokens)), expected, atol=1e-5, rtol=1e-5)
    assert np.all(np.asarray(model(tokens))[1] == 0)   # the comparison op really ran


def test_operations_are_graph_nodes_with_keras_names(tagger_pair):
    model, _ = tagger_pair
    names = [layer.name for layer in model.layers]
    assert "not_equal" in names and "get_item" in names and "expand_dims" in names
    assert len(names) == len(set(names))   # two casts: cast and cast_1
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "OpLayer" in kinds


def test_shape_queries_answer_from_the_spec():
    x = hl.Input((3, 4))
    assert ops.shape(x) == (None, 3, 4) and ops.ndim(x) == 3 and ops.dtype(x) == "float32"
    assert ops.size(x) is None


@pytest.mark.parametrize("suffix", [".keras", ""])
def test_a_model_with_operations_saves_and_loads(tagger_pair, tmp_path, suffix):
    model, _ = tagger_pair
    path = tmp_path / f"tagger{suffix}"
    model.save(path)
    loaded = hl.models.load_model(path)
    tokens = _tokens(seed=1)
    np.testing.assert_array_equal(np.asarray(loaded(tokens)), np.asarray(model(tokens)))
    rebuilt = hl.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(np.asarray(rebuilt(tokens)), np.asarray(model(tokens)))


def test_a_model_with_operations_trains():
    inputs = hl.Input((4,))
    x = hl.layers.Dense(8, activation="relu")(inputs * 0.5)
    model = hl.Model(inputs, hl.layers.Dense(1)(x) + ops.sum(inputs, axis=-1, keepdims=True))
    model.compile("sgd", "mse")
    x_data = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    history = model.fit(x_data, x_data.sum(1, keepdims=True) * 2, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_indexing_keeps_slices_ellipsis_and_newaxis(tmp_path):
    inputs = hl.Input((5, 3))
    model = hl.Model(inputs, inputs[..., ::2, None][:, 1:4])
    data = np.arange(30, dtype="float32").reshape(2, 5, 3)
    np.testing.assert_array_equal(np.asarray(model(data)), data[..., ::2, None][:, 1:4])
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(np.asarray(hl.models.load_model(tmp_path / "m.keras")(data)),
                                  data[..., ::2, None][:, 1:4])


def test_symbolic_tensors_refuse_truth_values_and_iteration():
    x = hl.Input((3,))
    with pytest.raises(TypeError, match="no truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(x)
    assert (x == x) is True   # identity, as Keras's KerasTensor


def test_an_operation_taking_a_python_function_runs_but_is_refused_by_save(tmp_path):
    inputs = hl.Input((3,))
    outputs = ops.vectorized_map(lambda row: row * 2.0, inputs)
    model = hl.Model(inputs, outputs)
    np.testing.assert_allclose(np.asarray(model(np.ones((2, 3), "float32"))), 2.0)
    with pytest.raises(ValueError, match="cannot hold; write the computation as a Layer subclass"):
        model.save(tmp_path / "m.keras")
