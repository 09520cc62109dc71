"""Keras's utilities and random functions here: ``hl.utils`` data helpers and ``PyDataset``, ``hl.random``
against ``keras.random`` on the same seeds, and the merging functions and ``Dot`` against Keras."""

from __future__ import annotations

import threading

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations


@pytest.mark.parametrize("kwargs", [{}, {"maxlen": 2}, {"maxlen": 5, "padding": "post"},
                                    {"maxlen": 2, "truncating": "post", "value": -1},
                                    {"dtype": "float32", "value": 0.5, "padding": "post"}])
def test_pad_sequences_equals_keras(kwargs):
    sequences = [[1, 2, 3], [4], [], [5, 6, 7, 8]]
    np.testing.assert_array_equal(hl.utils.pad_sequences(sequences, **kwargs),
                                  keras.utils.pad_sequences(sequences, **kwargs))
    assert hl.utils.pad_sequences(sequences, **kwargs).dtype == keras.utils.pad_sequences(sequences, **kwargs).dtype
    nested = [np.ones((2, 3)), np.zeros((1, 3))]
    np.testing.assert_array_equal(hl.utils.pad_sequences(nested, maxlen=3), keras.utils.pad_sequences(nested, maxlen=3))
    with pytest.raises(ValueError, match="padding and truncating must be 'pre' or 'post'"):
        hl.utils.pad_sequences(sequences, padding="middle")


def test_to_categorical_normalize_and_split_dataset():
    for labels, classes in (([0, 2, 1, 2], None), (np.array([[1], [0]]), 3), (np.array([[0, 1], [2, 2]]), 3)):
        np.testing.assert_array_equal(hl.utils.to_categorical(labels, classes),
                                      keras.utils.to_categorical(labels, classes))
    with pytest.raises(ValueError, match=r"class ids must be in \[0, 2\)"):
        hl.utils.to_categorical([0, 3], 2)
    x = np.random.default_rng(0).normal(size=(4, 3))
    for order in (1, 2):
        np.testing.assert_allclose(hl.utils.normalize(x, order=order), keras.utils.normalize(x, order=order))
    data = {"a": np.arange(10), "b": np.arange(10) * 2}
    left, right = hl.utils.split_dataset(data, right_size=3, shuffle=True, seed=1)
    assert len(left["a"]) == 7 and len(right["b"]) == 3
    np.testing.assert_array_equal(left["b"], left["a"] * 2)
    assert sorted(left["a"].tolist() + right["a"].tolist()) == list(range(10))
    with pytest.raises(ValueError, match="add up to 12 rows, more than the 10 there are"):
        hl.utils.split_dataset(np.arange(10), left_size=6, right_size=6)


class _Batches(hl.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0
        self.threads: set[str] = set()

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_a_py_dataset_feeds_fit_evaluate_and_predict_like_arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    data = _Batches(x, y, 16, workers=3, max_queue_size=4)

    def make():
        hl.utils.set_random_seed(0)
        model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
        model.compile(optimizer=hl.optimizers.SGD(0.1), loss="mse")
        return model

    a, b = make(), make()
    a.fit(data, epochs=3, shuffle=False, verbose=0)   # index order, as the arrays' (fit shuffles by default)
    b.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6)
    assert data.epochs_ended == 3
    assert any(name.startswith("highlevel-pydataset") for name in data.threads)
    assert a.evaluate(data, verbose=0) == pytest.approx(b.evaluate(x, y, batch_size=16, verbose=0), rel=1e-6)
    np.testing.assert_allclose(a.predict(data, verbose=0), b.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        _Batches(x, y, 16, workers=0)


def test_random_equals_keras_for_int_seeds_and_seed_generators():
    shape = (3, 4)
    pairs = [("normal", {"mean": 1.0, "stddev": 2.0}), ("uniform", {"minval": -1.0, "maxval": 3.0}),
             ("truncated_normal", {}), ("randint", {"minval": 0, "maxval": 7}), ("gamma", {"alpha": 2.0}),
             ("beta", {"alpha": 2.0, "beta": 3.0}), ("binomial", {"counts": 5, "probabilities": 0.3})]
    for name, kwargs in pairs:
        ours = getattr(hl.random, name)(shape, seed=42, **kwargs)
        theirs = getattr(keras.random, name)(shape, seed=42, **kwargs)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6, err_msg=name)
    ours_gen, theirs_gen = hl.random.SeedGenerator(7), keras.random.SeedGenerator(7)
    for _ in range(3):
        np.testing.assert_array_equal(hl.random.uniform((5,), seed=ours_gen),
                                      keras.random.uniform((5,), seed=theirs_gen))
    x = np.ones((4, 6), "float32")
    np.testing.assert_array_equal(hl.random.dropout(x, 0.5, seed=3), keras.random.dropout(x, 0.5, seed=3))
    np.testing.assert_array_equal(hl.random.shuffle(np.arange(8), seed=1), keras.random.shuffle(np.arange(8), seed=1))
    logits = np.log(np.array([[0.2, 0.8], [0.9, 0.1]], "float32"))
    np.testing.assert_array_equal(hl.random.categorical(logits, 5, seed=2), keras.random.categorical(logits, 5, seed=2))
    with pytest.raises(ValueError, match="seed must be an integer"):
        hl.random.SeedGenerator("a")


def test_a_seed_generator_in_a_layer_draws_from_the_step_key_without_recompiling():
    seen = []

    class Noise(hl.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = hl.random.SeedGenerator(1337)

        def call(self, inputs, training=False):
            if training:
                noise = hl.random.normal(inputs.shape, stddev=0.1, seed=self.seed_generator)
                jax.debug.callback(lambda n: seen.append(np.asarray(n).copy()), noise)
                return inputs + noise
            return inputs

    model = hl.Sequential([hl.Input((2,)), Noise(), hl.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    with count_compilations() as compiled:
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert not [name for name in compiled if "train" in name], compiled
    assert len(seen) == 6 and not any(np.array_equal(seen[i], seen[j]) for i in range(6) for j in range(i))
    np.testing.assert_array_equal(model.layers[0](x), x)   # not training: no noise


DOT_CASES = [((5,), (5,), 1, False), ((3, 4), (6, 4), 2, False), ((3, 4), (3, 6), 1, False),
             ((3, 4), (3, 4), (1, 1), True), ((4,), (3, 4), (1, 2), False), ((2, 3, 4), (4,), (3, 1), False)]


@pytest.mark.parametrize("s1,s2,axes,normalize", DOT_CASES)
def test_dot_layer_equals_keras(rng, s1, s2, axes, normalize):
    a = rng.normal(size=(2,) + s1).astype("float32")
    b = rng.normal(size=(2,) + s2).astype("float32")
    with jax.numpy_rank_promotion("allow"):
        expected = np.asarray(keras.layers.Dot(axes=axes, normalize=normalize)([a, b]))
    got = hl.layers.Dot(axes=axes, normalize=normalize)([a, b])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    symbolic = hl.layers.dot([hl.Input(s1), hl.Input(s2)], axes=axes, normalize=normalize)
    assert symbolic.shape == (None,) + expected.shape[1:]


def test_dot_refuses_mismatched_axes_and_the_batch_axis():
    with pytest.raises(ValueError, match=r"contracted axes \(1, 1\) have sizes 3 and 4; they must be equal"):
        hl.layers.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="cannot contract the batch axis 0"):
        hl.layers.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])


def test_merging_functions_in_a_functional_model_equal_keras(rng):
    def build(lib):
        a, b = lib.Input((4,)), lib.Input((4,))
        h1, h2 = lib.layers.Dense(4)(a), lib.layers.Dense(4)(b)
        merged = [lib.layers.add([h1, h2]), lib.layers.subtract([h1, h2]), lib.layers.multiply([h1, h2]),
                  lib.layers.average([h1, h2]), lib.layers.maximum([h1, h2]), lib.layers.minimum([h1, h2]),
                  lib.layers.dot([h1, h2], axes=1, normalize=True)]
        return lib.Model([a, b], lib.layers.concatenate(merged, axis=-1))

    with jax.numpy_rank_promotion("allow"):
        kmodel = build(keras)
        weights = [rng.normal(size=w.shape).astype("float32") for w in kmodel.get_weights()]
        kmodel.set_weights(weights)
        xa, xb = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
        expected = kmodel.predict([xa, xb], verbose=0)
    model = build(hl)
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert expected.shape == (3, 25)
