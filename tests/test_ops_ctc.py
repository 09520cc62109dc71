"""``hl.ops.ctc_decode`` (greedy and beam search) against ``keras.ops.ctc_decode`` (JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops

RNG = np.random.default_rng(3)
CASES = []
for _ in range(8):
    steps, classes = int(RNG.integers(3, 9)), int(RNG.integers(2, 6))
    CASES.append(((2.0 * RNG.standard_normal((3, steps, classes))).astype("float32"),
                  RNG.integers(1, steps + 1, size=3).astype("int32"), int(RNG.integers(0, classes))))


def _keras(*args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
        return [np.asarray(a) for a in keras.ops.ctc_decode(*args, **kwargs)]


@pytest.mark.parametrize("kwargs", [{"strategy": "greedy"}, {"strategy": "greedy", "merge_repeated": False},
                                    {"strategy": "beam_search", "beam_width": 4, "top_paths": 2},
                                    {"strategy": "beam_search", "beam_width": 10, "top_paths": 3}], ids=str)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_ctc_decode_equals_keras(case, kwargs):
    logits, lengths, mask_index = CASES[case]
    got = [np.asarray(a) for a in ops.ctc_decode(logits, lengths, mask_index=mask_index, **kwargs)]
    want = _keras(logits, lengths, mask_index=mask_index, **kwargs)
    assert got[0].shape == want[0].shape and got[1].shape == want[1].shape
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-5)


def test_beam_search_sums_the_paths_of_one_labelling():
    # Two steps, classes (blank, a): "a" is read from "aa", "a-" and "-a", so it beats "" (0.6 * 0.6).
    probs = np.array([[[0.6, 0.4], [0.6, 0.4]]], "float32")
    decoded, scores = ops.nn.ctc_decode(np.log(probs), np.array([2]), strategy="beam_search", beam_width=3,
                                        top_paths=2)
    np.testing.assert_array_equal(np.asarray(decoded)[:, 0], [[1, -1], [-1, -1]])
    np.testing.assert_allclose(np.exp(np.asarray(scores))[0], [0.4 * 0.4 + 2 * 0.4 * 0.6, 0.36], rtol=1e-5)


def test_ctc_decode_in_a_functional_model():
    logits, lengths, _ = CASES[0]
    x, n = hl.Input(logits.shape[1:]), hl.Input((), dtype="int32")
    decoded, scores = ops.ctc_decode(x, n)
    model = hl.Model([x, n], [decoded, scores])
    got = model.predict([logits, lengths], verbose=0)
    want = _keras(logits, lengths)
    np.testing.assert_array_equal(np.asarray(got[0]).reshape(want[0].shape), want[0])


def test_bad_arguments_are_named():
    logits, lengths, _ = CASES[0]
    with pytest.raises(ValueError, match=r"ctc_decode `strategy` must be 'greedy' or 'beam_search', got 'beam'"):
        ops.ctc_decode(logits, lengths, strategy="beam")
    with pytest.raises(ValueError, match=r"ctc_decode `mask_index` must be a class index in \[0, "):
        ops.ctc_decode(logits, lengths, mask_index=99)
    with pytest.raises(ValueError, match=r"ctc_decode `top_paths` \(5\) must be at most beam_width \(2\)"):
        ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=2, top_paths=5)
