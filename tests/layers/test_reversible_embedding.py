"""ReversibleEmbedding against Keras 3.15 on the same weights: forward and reverse calls (tied,
untied, soft cap, reverse dtype), masks, config, a functional model trained by fit, saving."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers
IDS = np.array([[1, 2, 0, 5], [4, 3, 3, 0]])


def _pair(rng, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.layers.ReversibleEmbedding(6, 4, **kwargs)
        theirs(IDS)
        weights = [rng.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
        theirs.set_weights(weights)
    ours = L.ReversibleEmbedding(6, 4, **kwargs)
    ours(IDS)
    ours.set_weights(weights)
    return theirs, ours


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False}, {"logit_soft_cap": 1.5},
                                    {"tie_weights": False, "logit_soft_cap": 0.5, "mask_zero": True},
                                    {"reverse_dtype": "bfloat16"}])
def test_forward_and_reverse_match_keras(kwargs, rng):
    theirs, ours = _pair(rng, **kwargs)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [n.split("/")[-1] for n, _ in ours.named_weights()] == [w.name for w in theirs.weights]
    hidden = rng.standard_normal((2, 4, 4)).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        k_fwd, k_rev = np.asarray(theirs(IDS)), theirs(hidden, reverse=True)
    got = ours(hidden, reverse=True)
    np.testing.assert_allclose(np.asarray(ours(IDS)), k_fwd, rtol=1e-6)
    assert str(got.dtype) == str(k_rev.dtype)
    tol = 1e-2 if "reverse_dtype" in kwargs else 1e-5
    np.testing.assert_allclose(np.asarray(got, "float32"), np.asarray(k_rev, "float32"), rtol=tol, atol=tol)
    if "logit_soft_cap" in kwargs:
        assert np.abs(np.asarray(got)).max() <= kwargs["logit_soft_cap"]


def test_config_matches_keras_keys_and_round_trips(rng):
    theirs, ours = _pair(rng, tie_weights=False, logit_soft_cap=2.0, reverse_dtype="float32", mask_zero=True)
    config = ours.get_config()
    for key in ("input_dim", "output_dim", "tie_weights", "reverse_dtype", "logit_soft_cap", "mask_zero"):
        assert config[key] == theirs.get_config()[key], key
    clone = L.ReversibleEmbedding.from_config(config)
    clone(IDS)
    clone.set_weights(ours.get_weights())
    hidden = rng.standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(clone(hidden, reverse=True)), np.asarray(ours(hidden, reverse=True)))
    assert isinstance(ours, L.Embedding)
    run_layer_test(L.ReversibleEmbedding, {"input_dim": 10, "output_dim": 3, "tie_weights": False}, (2, 5),
                   (2, 5, 3), expected_num_trainable_weights=2, input_dtype="int32")


def test_masks_forward_only(rng):
    layer = L.ReversibleEmbedding(6, 4, mask_zero=True)
    out, mask = layer.call_with_mask(IDS)
    assert mask.tolist() == (IDS != 0).tolist()
    logits, rev_mask = layer.call_with_mask(out, reverse=True)
    assert logits.shape == (2, 4, 6) and rev_mask is None
    inputs = hl.Input((4,), dtype="int32")
    hidden = layer(inputs)
    assert hidden.keras_mask is not None and layer(hidden, reverse=True).keras_mask is None


def _tied_model():
    inputs = hl.Input((4,), dtype="int32")
    embedding = L.ReversibleEmbedding(6, 8, name="tied")
    hidden = L.Dense(8, activation="tanh")(embedding(inputs))
    return hl.Model(inputs, embedding(hidden, reverse=True))


def test_functional_model_trains_and_saves(tmp_path):
    model = _tied_model()
    assert tuple(model.outputs[0].shape) == (None, 4, 6)
    assert len(model.get_layer("tied").weights) == 1   # one table, used both ways
    model.compile(hl.optimizers.Adam(0.05), hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(IDS, IDS, epochs=15, batch_size=2, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = hl.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(IDS, verbose=0), model.predict(IDS, verbose=0), rtol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="logit_soft_cap must be a positive number"):
        L.ReversibleEmbedding(5, 2, logit_soft_cap=-1.0)
    with pytest.raises(ValueError, match="reverse_dtype must be a dtype name"):
        L.ReversibleEmbedding(5, 2, reverse_dtype="not_a_dtype")
    layer = L.ReversibleEmbedding(5, 2, name="emb")
    with pytest.raises(ValueError, match="'emb' called with reverse=True needs hidden states whose last axis"):
        layer(np.ones((1, 3), "float32"), reverse=True)


def test_a_keras_model_file_loads_its_weights_here(tmp_path):
    with jax.numpy_rank_promotion("allow"):
        inputs = keras.Input((4,), dtype="int32")
        embedding = keras.layers.ReversibleEmbedding(6, 4, tie_weights=False, logit_soft_cap=3.0)
        theirs = keras.Model(inputs, embedding(keras.layers.Dense(4)(embedding(inputs)), reverse=True))
        theirs.save(tmp_path / "keras.keras")
        expected = theirs.predict(IDS, verbose=0)
    inputs = hl.Input((4,), dtype="int32")
    embedding = L.ReversibleEmbedding(6, 4, tie_weights=False, logit_soft_cap=3.0)
    ours = hl.Model(inputs, embedding(L.Dense(4)(embedding(inputs)), reverse=True))
    ours.load_weights(tmp_path / "keras.keras")
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), expected, rtol=1e-5, atol=1e-6)
