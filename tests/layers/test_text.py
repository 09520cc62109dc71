"""Text preprocessing on the host: TextVectorization, StringLookup, IntegerLookup.

Keras 3's versions need TensorFlow, which this environment does not have, so the expected
values are worked out by hand from Keras's documented rules (index layout: mask, OOV, then
tokens by decreasing count with ties in reverse token order; Keras's punctuation regex;
n-grams joined by a space, unigrams first; idf = log(1 + docs / (1 + docs with the token)),
the OOV index weighted by the mean idf)."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import highlevel as hl


def test_keras_text_layers_need_tensorflow_here():
    with pytest.raises(ImportError, match="requires TensorFlow"):
        keras.layers.StringLookup(vocabulary=["a"])


def test_text_vectorization_adapt_standardize_split_and_int_output():
    layer = hl.layers.TextVectorization(output_sequence_length=5)
    layer.adapt(["The cat, the HAT!", "a cat's hat", "The end."])
    # "the cat the hat", "a cats hat", "the end": the 3, hat 2, then the count-1 tokens in reverse order
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "hat", "end", "cats", "cat", "a"]
    assert layer.vocabulary_size() == 8
    out = layer(["the cat ate the hat", "Cat!", ""])
    np.testing.assert_array_equal(out, [[2, 6, 1, 2, 3], [6, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert out.dtype == np.int64
    # (batch, 1) inputs and bytes work too; without output_sequence_length each batch pads to its longest.
    free = hl.layers.TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(free(np.array([[b"a b a"], [b"z"]], dtype=object)), [[2, 3, 2], [1, 0, 0]])


def test_max_tokens_ngrams_and_character_split():
    layer = hl.layers.TextVectorization(max_tokens=5, ngrams=2, standardize=None)
    layer.adapt(["x y x y", "y z"])
    # unigrams: y 3, x 2, z 1; bigrams: "x y" 2, "y x" 1, "y z" 1 -> top 3 after "", "[UNK]"
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "x y", "x"]
    np.testing.assert_array_equal(layer(["x y z"]), [[4, 2, 1, 3, 1]])
    chars = hl.layers.TextVectorization(split="character", standardize="lower", vocabulary=["a", "b"])
    np.testing.assert_array_equal(chars(["AbC"]), [[2, 3, 1]])


def test_multi_hot_count_and_tf_idf():
    docs = ["a b a", "b c", "c c c"]
    counts = hl.layers.TextVectorization(output_mode="count")
    counts.adapt(docs)
    vocab = counts.get_vocabulary()   # no padding token in the bag-of-words modes
    assert vocab == ["[UNK]", "c", "b", "a"]
    np.testing.assert_array_equal(counts(["a a z", "c b"]), [[1, 0, 0, 2], [0, 1, 1, 0]])
    multi = hl.layers.TextVectorization(output_mode="multi_hot", vocabulary=["a", "b"], pad_to_max_tokens=True,
                                        max_tokens=5)
    np.testing.assert_array_equal(multi(["b b q"]), [[1, 0, 1, 0, 0]])
    tfidf = hl.layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(docs)
    idf = {t: math.log(1 + 3 / (1 + n)) for t, n in {"c": 2, "b": 2, "a": 1}.items()}
    oov = np.mean([idf["c"], idf["b"], idf["a"]])
    np.testing.assert_allclose(tfidf(["a a z c"]), [[oov, idf["c"], 0.0, 2 * idf["a"]]], rtol=1e-6)


def test_string_and_integer_lookup_layouts_oov_mask_and_invert():
    lookup = hl.layers.StringLookup(vocabulary=["a", "b", "c"], mask_token="", num_oov_indices=2)
    assert lookup.get_vocabulary() == ["", "[UNK]", "[UNK]", "a", "b", "c"]
    out = lookup([["a", "", "zz"], ["c", "b", "q"]])
    assert out[0, :2].tolist() == [3, 0] and out[1, :2].tolist() == [5, 4]
    assert out[0, 2] in (1, 2) and out[1, 2] in (1, 2)
    inverse = hl.layers.StringLookup(vocabulary=["a", "b"], invert=True)
    assert inverse(np.array([1, 2, 0, 7])).tolist() == ["a", "b", "[UNK]", "[UNK]"]
    integers = hl.layers.IntegerLookup(mask_token=0, num_oov_indices=2)
    integers.adapt(np.array([5, 5, 7, 9, 0, 9, 9]))
    assert integers.get_vocabulary() == [0, -1, -1, 9, 5, 7]
    assert integers(np.array([9, 0, 3, 4])).tolist() == [3, 0, 2, 1]   # OOV bucket: value % 2
    one_hot = hl.layers.IntegerLookup(vocabulary=[3, 4], output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(np.array([4, 8])), [[0, 0, 1], [1, 0, 0]])


def test_vocabulary_files_config_round_trip_and_errors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("the\ncat\nsat\n", encoding="utf-8")
    layer = hl.layers.TextVectorization(vocabulary=str(path), output_sequence_length=3)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "cat", "sat"]
    layer.set_vocabulary(["dog", "the"])
    assert layer(["the dog"]).tolist() == [[3, 2, 0]]
    again = hl.layers.deserialize(hl.layers.serialize(layer))
    assert again.get_vocabulary() == layer.get_vocabulary() and again.output_sequence_length == 3
    with pytest.raises(ValueError, match="the vocabulary file .* does not exist"):
        hl.layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match=r"the vocabulary repeats \['a'\]"):
        hl.layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="has no vocabulary yet: call adapt"):
        hl.layers.StringLookup()(["a"])
    with pytest.raises(ValueError, match="output_sequence_length is an int, and only for output_mode='int'"):
        hl.layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="num_oov_indices=0, but 'z' is not in its vocabulary"):
        hl.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["z"])
    with pytest.raises(ValueError, match="Cannot adapt layer .* set by the vocabulary argument"):
        hl.layers.StringLookup(vocabulary=["a"]).adapt(["b"])


def test_a_sequential_model_fits_and_predicts_on_raw_strings_and_saves_its_vocabulary(tmp_path):
    texts = np.array(["good movie", "bad movie", "great fun", "awful boring", "good fun", "bad bad"] * 4)
    labels = np.array([1, 0, 1, 0, 1, 0] * 4, "float32")
    vectorize = hl.layers.TextVectorization(max_tokens=20, output_sequence_length=3)
    vectorize.adapt(texts)
    model = hl.Sequential([vectorize, hl.layers.Embedding(20, 4), hl.layers.GlobalAveragePooling1D(),
                           hl.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=hl.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(texts, labels, batch_size=8, epochs=5, verbose=0, validation_data=(texts, labels))
    assert history.history["accuracy"][-1] == 1.0
    ids = vectorize(texts)
    np.testing.assert_allclose(model.predict(texts, verbose=0), model.predict(ids, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(texts[:2])), model.predict(texts[:2], verbose=0), rtol=1e-6)
    # batches of raw strings from a generator (a list of batches re-iterates)
    batches = [(texts[i:i + 8], labels[i:i + 8]) for i in range(0, len(texts), 8)]
    assert model.evaluate(batches, verbose=0, return_dict=True)["accuracy"] == 1.0
    model.save(tmp_path / "text.keras")
    restored = hl.models.load_model(tmp_path / "text.keras")
    assert restored.layers[0].get_vocabulary() == vectorize.get_vocabulary()
    np.testing.assert_allclose(restored.predict(texts, verbose=0), model.predict(texts, verbose=0), rtol=1e-6)
