"""``hl.ops.rearrange`` against ``keras.ops.rearrange`` (JAX backend) and plain NumPy."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops

IMAGES = np.random.default_rng(2).standard_normal((4, 6, 8, 3)).astype("float32")
PATTERNS = [("b h w c -> b c h w", {}), ("b h w c -> (b h) w c", {}), ("b h w c -> h (b w) c", {}),
            ("b h w c -> b (c h w)", {}), ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
            ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 4}),
            ("b (h h1) w c -> b h (w h1 c)", {"h": 3})]


@pytest.mark.parametrize("pattern,lengths", PATTERNS, ids=[p for p, _ in PATTERNS])
def test_rearrange_equals_keras(pattern, lengths):
    got = np.asarray(ops.rearrange(IMAGES, pattern, **lengths))
    want = np.asarray(keras.ops.rearrange(IMAGES, pattern, **lengths))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_space_to_depth_by_hand():
    got = np.asarray(ops.rearrange(IMAGES, "b (h h1) (w w1) c -> b h w (h1 w1 c)", h1=2, w1=2))
    want = IMAGES.reshape(4, 3, 2, 4, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(4, 3, 4, 12)
    np.testing.assert_array_equal(got, want)


def test_rearrange_in_a_functional_model():
    inputs = hl.Input((6, 8, 3))
    out = ops.rearrange(inputs, "b (h h1) w c -> b h (w h1 c)", h1=2)
    assert tuple(out.shape) == (None, 3, 48)
    model = hl.Model(inputs, out)
    np.testing.assert_array_equal(np.asarray(model.predict(IMAGES, verbose=0)),
                                  np.asarray(keras.ops.rearrange(IMAGES, "b (h h1) w c -> b h (w h1 c)", h1=2)))


def test_bad_patterns_are_named():
    with pytest.raises(ValueError, match=r"rearrange `pattern` must be a string '<input axes> -> <output axes>', "
                                         r"got 'b h w c'"):
        ops.rearrange(IMAGES, "b h w c")
    with pytest.raises(ValueError, match=r"names 3 input axes, but the tensor has 4"):
        ops.rearrange(IMAGES, "b h w -> b w h")
    with pytest.raises(ValueError, match=r"must name every input axis once on each side"):
        ops.rearrange(IMAGES, "b h w c -> b h w")
    with pytest.raises(ValueError, match=r"the group \(h h1\) has more than one axis of unknown length"):
        ops.rearrange(IMAGES, "b (h h1) w c -> b h h1 w c")
    with pytest.raises(ValueError, match=r"the input axis of length 6 cannot be split as \(h h1\) with \{'h1': 4\}"):
        ops.rearrange(IMAGES, "b (h h1) w c -> b h h1 w c", h1=4)
    with pytest.raises(ValueError, match=r"rearrange `pattern` 'b h w c -> b h w c\.': '\.' is not an axis name"):
        ops.rearrange(IMAGES, "b h w c -> b h w c.")
