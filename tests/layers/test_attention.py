"""Attention layers: the harness, equality with Keras 3 on the same weights (masks, causal, scores), dropout."""

import jax
import keras
import numpy as np
import pytest
from keras.src import backend as keras_backend

import highlevel as hl
from tests.compile_count import count_compilations
from tests.harness import run_layer_test
from tests.layers.oracle import assert_same, keras_build, keras_call, leaves

B, T, S, D = 2, 4, 5, 6
RNG = np.random.default_rng(0)
Q = RNG.standard_normal((B, T, D)).astype("float32")
V = RNG.standard_normal((B, S, D)).astype("float32")
K = RNG.standard_normal((B, S, 3)).astype("float32")
ATTENTION_MASK = RNG.random((B, T, S)) > 0.3
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
VALUE_MASK = np.array([[1, 1, 1, 1, 0], [1, 0, 0, 0, 0]], bool)


# -- the harness -----------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, shapes, out, n", [
    (hl.layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3}, [(B, T, D), (B, S, D)], (B, T, D), 8),
    (hl.layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "value_dim": 2, "output_shape": 7,
                                    "use_bias": False, "dropout": 0.1}, [(B, T, D), (B, S, D)], (B, T, 7), 4),
    (hl.layers.GroupedQueryAttention, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
     [(B, T, D), (B, S, D)], (B, T, D), 8),
    (hl.layers.Attention, {"use_scale": True, "score_mode": "concat"}, [(B, T, D), (B, S, D)], (B, T, D), 2),
    (hl.layers.AdditiveAttention, {}, [(B, T, D), (B, S, D)], (B, T, D), 1),
], ids=["mha", "mha-options", "gqa", "attention", "additive"])
def test_harness(cls, kwargs, shapes, out, n):
    run_layer_test(cls, kwargs, shapes, out, expected_num_trainable_weights=n)


# -- equality with Keras ------------------------------------------------------------------------

MHA_OPTIONS = [{}, {"value_dim": 3, "output_shape": 7}, {"use_bias": False}, {"use_gate": True},
               {"sliding_window": 2}]


@pytest.mark.parametrize("options", MHA_OPTIONS, ids=str)
def test_multi_head_attention_matches_keras(options):
    # With scores: Keras's explicit path; without: its fused jax.nn.dot_product_attention path.
    for call in ({"attention_mask": ATTENTION_MASK}, {"attention_mask": ATTENTION_MASK,
                                                      "return_attention_scores": True}):
        assert_same(keras.layers.MultiHeadAttention(2, 3, **options),
                    hl.layers.MultiHeadAttention(2, 3, **options), Q, V, **call)


def test_value_heads_of_another_size_match_keras():
    """key_dim != value_dim: Keras's fused path fails there (jax's kernel needs equal head sizes) and
    only its explicit path runs; ours takes the explicit path for it."""
    k, h = keras.layers.MultiHeadAttention(2, 3, value_dim=2), hl.layers.MultiHeadAttention(2, 3, value_dim=2)
    keras_build(k, Q, V, return_attention_scores=True)
    h(Q, V)
    h.set_weights(k.get_weights())
    for call in ({}, {"attention_mask": ATTENTION_MASK}):
        expected = keras_call(k, Q, V, return_attention_scores=True, **call)[0]
        np.testing.assert_allclose(np.asarray(h(Q, V, **call)), expected, rtol=1e-5, atol=1e-5)


def test_causal_self_attention_matches_keras():
    square = np.asarray(ATTENTION_MASK[:, :, :T])
    for scores in (False, True):
        assert_same(keras.layers.MultiHeadAttention(2, 3), hl.layers.MultiHeadAttention(2, 3), Q, Q,
                    use_causal_mask=True, return_attention_scores=scores)
    # Causal and explicit masks together.
    assert_same(keras.layers.MultiHeadAttention(2, 3), hl.layers.MultiHeadAttention(2, 3), Q, Q,
                use_causal_mask=True, attention_mask=square)
    assert_same(keras.layers.GroupQueryAttention(3, 4, 2), hl.layers.GroupQueryAttention(3, 4, 2), Q, Q,
                use_causal_mask=True)


def test_separate_key_and_attention_axes_match_keras():
    assert_same(keras.layers.MultiHeadAttention(2, 3), hl.layers.MultiHeadAttention(2, 3), Q, V, key=K,
                attention_mask=ATTENTION_MASK)
    images = RNG.standard_normal((B, 3, 4, D)).astype("float32")
    assert_same(keras.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2)),
                hl.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2)), images, images)


def test_query_and_value_masks_combine_as_keras():
    """Keras reads the query's mask from the tensor (its Keras mask); ours is given as query_mask."""
    for make in (lambda lib: lib.layers.MultiHeadAttention(2, 3), lambda lib: lib.layers.GroupQueryAttention(3, 2, 1)):
        k, h = make(keras), make(hl)
        keras_build(k, Q, V)
        h(Q, V)
        h.set_weights(k.get_weights())
        for extra in ({}, {"attention_mask": ATTENTION_MASK}):
            query = jax.numpy.asarray(Q)
            keras_backend.set_keras_mask(query, QUERY_MASK)   # Keras's MultiHeadAttention clears it
            expected = keras_call(k, query, V, value_mask=VALUE_MASK, **extra)
            got = leaves(h(Q, V, query_mask=QUERY_MASK, value_mask=VALUE_MASK, **extra))
            np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
        # The same masks coming as the graph's list of input masks.
        query = jax.numpy.asarray(Q)
        keras_backend.set_keras_mask(query, QUERY_MASK)
        np.testing.assert_allclose(leaves(h(Q, V, mask=[QUERY_MASK, VALUE_MASK]))[0],
                                   keras_call(k, query, V, value_mask=VALUE_MASK)[0], rtol=1e-5, atol=1e-5)
    assert hl.layers.MultiHeadAttention(2, 3).compute_mask([Q, V], [QUERY_MASK, VALUE_MASK]) is QUERY_MASK


@pytest.mark.parametrize("options", [{}, {"use_gate": True, "sliding_window": 3}], ids=str)
def test_grouped_query_attention_matches_keras(options):
    for call in ({"attention_mask": ATTENTION_MASK}, {"return_attention_scores": True}):
        assert_same(keras.layers.GroupQueryAttention(3, 4, 2, **options),
                    hl.layers.GroupedQueryAttention(3, 4, 2, **options), Q, V, **call)
    assert hl.layers.GroupQueryAttention is hl.layers.GroupedQueryAttention
    assert hl.layers.get_layer_class("GroupQueryAttention") is hl.layers.GroupedQueryAttention


@pytest.mark.parametrize("name, options", [("Attention", {}), ("Attention", {"use_scale": True}),
                                           ("Attention", {"use_scale": True, "score_mode": "concat"}),
                                           ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})])
def test_dot_and_additive_attention_match_keras(name, options):
    assert_same(getattr(keras.layers, name)(**options), getattr(hl.layers, name)(**options), [Q, V, V * 2],
                mask=[QUERY_MASK, VALUE_MASK], return_attention_scores=True)
    if not options:
        assert_same(getattr(keras.layers, name)(), getattr(hl.layers, name)(), [Q, Q], use_causal_mask=True)


# -- in models, dropout, errors ------------------------------------------------------------------

def test_functional_model_with_attention_trains_and_matches_keras():
    def build(lib):
        q, v = lib.Input((T, D)), lib.Input((S, D))
        out = lib.layers.MultiHeadAttention(2, 3, name="mha")(q, v, use_causal_mask=False)
        out = lib.layers.LayerNormalization()(lib.layers.Add()([q, out]))
        return lib.Model([q, v], lib.layers.Dense(1)(lib.layers.GlobalAveragePooling1D()(out)))

    k, h = build(keras), build(hl)
    h.set_weights(k.get_weights())
    with jax.numpy_rank_promotion("allow"):
        expected = np.asarray(k.predict([Q, V], verbose=0))
    np.testing.assert_allclose(h.predict([Q, V], verbose=0), expected, rtol=1e-5, atol=1e-5)
    h.compile(optimizer="sgd", loss="mse")
    before = h.get_weights()
    h.fit([Q, V], np.ones((B, 1), "float32"), epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, h.get_weights()))
    config = h.get_config()
    clone = hl.Model.from_config(config)
    clone.set_weights(h.get_weights())
    np.testing.assert_allclose(clone.predict([Q, V], verbose=0), h.predict([Q, V], verbose=0), atol=1e-6)


def test_attention_dropout_uses_the_step_key_and_its_rate_changes_without_recompiling():
    layer = hl.layers.MultiHeadAttention(2, 3, dropout=0.5)
    layer(Q, V)
    a = np.asarray(layer(Q, V, training=True, rng=jax.random.key(1)))
    b = np.asarray(layer(Q, V, training=True, rng=jax.random.key(2)))
    c = np.asarray(layer(Q, V, training=True, rng=jax.random.key(1)))
    inference = np.asarray(layer(Q, V))
    assert not np.allclose(a, b) and np.array_equal(a, c) and not np.allclose(a, inference)
    assert layer.dropout == 0.5
    layer.dropout = 0.0   # the Dropout sublayer's Hyperparameter
    np.testing.assert_allclose(np.asarray(layer(Q, V, training=True, rng=jax.random.key(1))), inference,
                               rtol=1e-6, atol=1e-6)
    assert layer.get_config()["dropout"] == 0.0

    q = hl.Input((T, D))
    mha = hl.layers.MultiHeadAttention(2, 3, dropout=0.2)
    model = hl.Model(q, hl.layers.Flatten()(mha(q, q)))
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.tile(Q, (4, 1, 1)), np.zeros((4 * B, T * D), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    with count_compilations() as compiled:   # the scheduler finds the attention's Dropout sublayer
        model.fit(x, y, batch_size=4, epochs=2, verbose=0,
                  callbacks=[hl.callbacks.DropoutScheduler(lambda epoch, rate: 0.1 * (epoch + 1))])
    assert not compiled, compiled
    assert mha.dropout == pytest.approx(0.2)


def test_attention_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"MultiHeadAttention `num_heads` must be a positive integer, got 0"):
        hl.layers.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match=r"needs a query and a value: call it as layer\(query, value\)"):
        hl.layers.MultiHeadAttention(2, 3)(Q)
    with pytest.raises(ValueError, match=r"the value \(2, 5, 6\) and the key \(2, 4, 6\) must have the same shape"):
        hl.layers.MultiHeadAttention(2, 3)(Q, V, key=Q)
    with pytest.raises(ValueError, match=r"`num_query_heads` \(3\) must be divisible by `num_key_value_heads` \(2\)"):
        hl.layers.GroupedQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match=r"must be called on a list \[query, value\]"):
        hl.layers.Attention()(Q)
    with pytest.raises(ValueError, match=r"`score_mode` must be 'dot' or 'concat', got 'add'"):
        hl.layers.Attention(score_mode="add")
    layer = hl.layers.MultiHeadAttention(2, 3)
    layer(Q, V)
    with pytest.raises(ValueError, match=r"does not match layer .* built for queries of shape \(None, 4, 6\)"):
        layer(Q[..., :4], V)


@pytest.mark.parametrize("name, kwargs", [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "output_shape": 5}),
    ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1}),
])
def test_compute_output_shape_takes_keras_signature(name, kwargs):
    theirs, ours = getattr(keras.layers, name)(**kwargs), getattr(hl.layers, name)(**kwargs)
    q, v, k = (2, 4, 6), (2, 5, 6), (2, 5, 6)
    for args, kw in [((q, v), {}), ((q, v, k), {}), ((), {"query_shape": q, "value_shape": v}),
                     ((q,), {"value_shape": v, "key_shape": k})]:
        with jax.numpy_rank_promotion("allow"):
            expected = tuple(theirs.compute_output_shape(*args, **kw))
        assert tuple(ours.compute_output_shape(*args, **kw)) == expected
    assert tuple(ours.compute_output_shape([q, v])) == tuple(theirs.compute_output_shape(q, v))
    assert tuple(ours.compute_output_shape((None, 4, 6), (None, 5, 6))) == (None, 4, theirs.compute_output_shape(q, v)[-1])
    with pytest.raises(TypeError, match=r"takes \(query_shape, value_shape, key_shape=None\)"):
        ours.compute_output_shape(q)
