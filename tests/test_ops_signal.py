"""``hl.ops.stft``/``istft`` and ``hl.ops.unfold``/``fold`` against ``keras.ops`` (JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops


def _keras(fn, *args, **kwargs):
    with jax.numpy_rank_promotion("allow"):   # Keras's own stft broadcasts implicitly
        return jax.tree_util.tree_map(np.asarray, fn(*args, **kwargs))

RNG = np.random.default_rng(11)
SIGNAL = RNG.standard_normal((2, 37)).astype("float32")
WINDOWS = ["hann", "hamming", None, RNG.uniform(0.5, 1.5, 8).astype("float32")]
# (sequence_length, sequence_stride, fft_length); the window (8) only where sequence_length is 8.
LENGTHS = [(8, 4, 8), (8, 3, 16), (5, 2, 8), (7, 3, 9)]


def _pairs_close(ours, theirs, tol=2e-5):
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        assert np.asarray(a).shape == np.asarray(b).shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("window", range(len(WINDOWS)))
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_stft_and_istft_equal_keras(lengths, window, center):
    win = WINDOWS[window]
    if isinstance(win, np.ndarray) and lengths[0] != win.shape[0]:
        pytest.skip("the array window is for sequence_length 8")
    ours = ops.stft(SIGNAL, *lengths, window=win, center=center)
    theirs = _keras(keras.ops.stft, SIGNAL, *lengths, window=win, center=center)
    _pairs_close(ours, theirs)
    for length in (None, 30):
        got = np.asarray(ops.istft(ours, *lengths, length=length, window=win, center=center))
        want = _keras(keras.ops.istft, theirs, *lengths, length=length, window=win, center=center)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_istft_inverts_stft_also_for_frames_that_do_not_overlap():
    # Keras 3.15's istft returns a shorter, different signal here (see hl.ops.signal's docstring).
    spectrum = ops.stft(SIGNAL[:, :32], 8, 8, 8, window="hann", center=False)
    real, imag = _keras(keras.ops.stft, SIGNAL[:, :32], 8, 8, 8, window="hann", center=False)
    _pairs_close(spectrum, (real, imag))
    back = np.asarray(ops.istft(spectrum, 8, 8, 8, window=None, center=False))
    windowed = SIGNAL[:, :32] * np.tile(np.asarray(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8)), 4)
    np.testing.assert_allclose(back, windowed, rtol=1e-5, atol=1e-5)


def test_stft_is_differentiable_and_works_in_a_functional_model():
    grad = jax.grad(lambda x: ops.sum(ops.stft(x, 8, 4, 8)[0] ** 2))(SIGNAL)
    assert np.all(np.isfinite(np.asarray(grad))) and np.any(np.asarray(grad) != 0)
    inputs = hl.Input((37,))
    real, imag = ops.stft(inputs, 8, 4, 8)
    model = hl.Model(inputs, [real, imag])
    _pairs_close(model.predict(SIGNAL, verbose=0), _keras(keras.ops.stft, SIGNAL, 8, 4, 8))


def test_stft_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r'stft `window` must be "hann", "hamming", an array of length '
                                         r"sequence_length or None, got 'kaiser'"):
        ops.stft(SIGNAL, 8, 4, 8, window="kaiser")
    with pytest.raises(ValueError, match=r"stft `fft_length` must be >= sequence_length \(8\), got 4"):
        ops.stft(SIGNAL, 8, 4, 4)
    with pytest.raises(ValueError, match=r"istft `sequence_stride` must be a positive int, got 0"):
        ops.istft(ops.stft(SIGNAL, 8, 4, 8), 8, 0, 8)
    with pytest.raises(TypeError, match=r"stft takes a float32 or float64 signal, got dtype int32"):
        ops.stft(np.ones((10,), "int32"), 4, 2, 4)


IMAGES = RNG.standard_normal((2, 3, 7, 6)).astype("float32")
# kernel_size, dilation, padding, stride
PATCHES = [(2, 1, 0, 2), (3, 1, 1, 1), ((3, 2), (2, 1), (1, 0), (2, 1)), (2, 2, 2, 3)]


@pytest.mark.parametrize("k,d,p,s", PATCHES, ids=str)
def test_unfold_and_fold_equal_keras(k, d, p, s):
    got = np.asarray(ops.unfold(IMAGES, k, dilation=d, padding=p, stride=s))
    want = np.asarray(keras.ops.unfold(IMAGES, k, dilation=d, padding=p, stride=s))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    cols = RNG.standard_normal(want.shape).astype("float32")
    folded = np.asarray(ops.nn.fold(cols, (7, 6), k, dilation=d, padding=p, stride=s))
    expected = np.asarray(keras.ops.nn.fold(cols, (7, 6), k, dilation=d, padding=p, stride=s))
    assert folded.shape == (2, 3, 7, 6)
    # Where the windows stop short of the output's end, Keras 3.15 returns only the covered rows (its
    # own shape inference says (N, C, 7, 6)); the rows no window reaches are zeros here, as in PyTorch.
    h, w = expected.shape[2:]
    np.testing.assert_allclose(folded[:, :, :h, :w], expected, rtol=1e-5, atol=1e-5)
    assert not folded[:, :, h:].any() and not folded[:, :, :, w:].any()


def test_fold_of_unfold_counts_each_pixel_s_windows():
    x = np.ones((1, 1, 4, 4), "float32")
    counts = np.asarray(ops.fold(ops.unfold(x, 2), 4, 2))[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_unfold_fold_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"unfold `stride` must be an int or a pair of ints, each >= 1, got 0"):
        ops.unfold(IMAGES, 2, stride=0)
    with pytest.raises(ValueError, match=r"unfold takes a 4-D \(N, C, H, W\) input, got shape \(3, 7, 6\)"):
        ops.unfold(IMAGES[0], 2)
    with pytest.raises(ValueError, match=r"fold: an input of shape \(2, 12, 5\) does not hold"):
        ops.fold(np.ones((2, 12, 5), "float32"), (7, 6), 2)


def test_unfold_and_fold_in_a_functional_model_give_back_non_overlapping_blocks():
    inputs = hl.Input((3, 6, 6))
    cols = ops.unfold(inputs, 2, stride=2)
    assert tuple(cols.shape) == (None, 12, 9)
    model = hl.Model(inputs, ops.fold(cols, 6, 2, stride=2))
    x = IMAGES[:, :, :6, :6]
    np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), x)
