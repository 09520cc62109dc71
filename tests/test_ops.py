"""``hl.ops`` against ``keras.ops`` (JAX backend): every name, Keras's signatures, and the numbers of a
broad sample (every one-tensor, two-tensor and reduction operation automatically, the rest by hand)."""

from __future__ import annotations

import inspect
import types

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import highlevel as hl
from highlevel import ops


def _keras_names() -> list[str]:
    names = [n for n in dir(keras.ops) if not n.startswith("_") and not isinstance(getattr(keras.ops, n), types.ModuleType)]
    names += [f"image.{n}" for n in dir(keras.ops.image) if not n.startswith("_")]
    return sorted(names)


def _ours(name: str):
    obj = ops
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


def _theirs(name: str):
    obj = keras.ops
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_keras_op_exists_here_or_is_listed_as_not_supported():
    names = _keras_names()
    assert len(names) > 330
    missing = [n for n in names if _ours(n) is None and n not in ops.NOT_SUPPORTED]
    assert not missing, f"keras.ops has {missing}: add them to hl.ops or to NOT_SUPPORTED with a reason"
    stale = [n for n in ops.NOT_SUPPORTED if _ours(n) is not None or n not in names]
    assert not stale, f"NOT_SUPPORTED lists names that exist here or not in Keras: {stale}"
    assert all(reason and isinstance(reason, str) for reason in ops.NOT_SUPPORTED.values())
    assert len(ops.NOT_SUPPORTED) <= 16


def test_submodules_hold_keras_s_names():
    for sub in ("nn", "linalg", "image", "numpy"):
        theirs = {n for n in dir(getattr(keras.ops, sub)) if not n.startswith("_")}
        ours = {n for n in dir(getattr(ops, sub)) if not n.startswith("_")}
        unsupported = {n.split(".")[-1] for n in ops.NOT_SUPPORTED}
        assert theirs - ours <= unsupported, (sub, sorted(theirs - ours - unsupported))


def test_signatures_are_keras_s():
    different = []
    for name in _keras_names():
        ours = _ours(name)
        if ours is None:
            continue
        theirs = inspect.signature(_theirs(name))
        mine = inspect.signature(ours)
        if [(p.name, p.kind, p.default) for p in mine.parameters.values()] != \
                [(p.name, p.kind, p.default) for p in theirs.parameters.values()]:
            different.append(f"{name}{mine} != {theirs}")
    assert not different, "\n".join(different)


# -- numbers ---------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
X = RNG.uniform(0.1, 0.9, size=(3, 4)).astype("float32")          # in the domain of every unary function
Y = RNG.uniform(0.5, 2.0, size=(3, 4)).astype("float32")
I1 = RNG.integers(1, 20, size=(3, 4)).astype("int32")
I2 = RNG.integers(1, 20, size=(3, 4)).astype("int32")


def _params(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()]


def _kind(name: str) -> str:
    params = _params(_theirs(name))
    if params == ["x"]:
        return "unary"
    if params == ["x1", "x2"] or params == ["x", "y"]:
        return "binary"
    if params[:3] == ["x", "axis", "keepdims"]:
        return "reduction"
    return "other"


_INTEGER_ONLY = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
                 "left_shift", "right_shift", "gcd", "lcm", "bitwise_invert", "bitwise_not"}
_SKIP_AUTO = {"shape", "dtype", "is_tensor", "convert_to_numpy", "ndim", "size", "copy", "ravel", "nonzero",
              "fft", "fft2", "ifft2", "view_as_complex", "view_as_real", "det", "inv", "eig", "eigh", "cholesky",
              "lu_factor", "logdet", "slogdet", "cholesky_inverse", "corrcoef", "hamming", "hanning", "blackman",
              "bartlett", "isreal", "angle", "real", "imag", "conj", "conjugate", "dot", "matmul", "ldexp"}


def _auto_cases():
    out = []
    for name in _keras_names():
        if "." in name or _ours(name) is None or name in _SKIP_AUTO:
            continue
        kind = _kind(name)
        if kind == "other":
            continue
        out.append((name, kind))
    return out


def _close(ours, theirs, name):
    ours_leaves, theirs_leaves = jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves), name
    for a, b in zip(ours_leaves, theirs_leaves):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        if b.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("name,kind", _auto_cases())
def test_numbers_equal_keras_automatically(name, kind):
    ours, theirs = _ours(name), _theirs(name)
    ints = name in _INTEGER_ONLY
    a, b = (I1, I2) if ints else (X, Y)
    with jax.numpy_rank_promotion("allow"):
        if kind == "unary":
            args, kwargs = (a,), {}
        elif kind == "binary":
            args, kwargs = (a, b), {}
        else:
            args, kwargs = (a,), {"axis": 1, "keepdims": True}
        _close(ours(*args, **kwargs), theirs(*args, **kwargs), name)


SQ = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], "float32")
IMG = RNG.uniform(0, 1, size=(2, 6, 6, 3)).astype("float32")
K2 = RNG.normal(size=(3, 3, 3, 4)).astype("float32")
SEQ = RNG.normal(size=(2, 7, 3)).astype("float32")

MANUAL = [
    ("one_hot", (np.array([0, 2, 1]), 3), {}), ("one_hot", (np.array([[0, 2]]), 3), {"axis": 0, "dtype": "int32"}),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 3), {}), ("top_k", (X, 2), {}),
    ("in_top_k", (np.array([0, 3, 1]), X, 2), {}), ("segment_sum", (X, np.array([0, 0, 1])), {"num_segments": 2}),
    ("segment_max", (X, np.array([0, 1, 1])), {"num_segments": 3}), ("logsumexp", (X,), {"axis": 1}),
    ("softmax", (X,), {"axis": 0}), ("log_softmax", (X,), {}), ("sparsemax", (X * 3,), {}), ("glu", (X,), {}),
    ("gelu", (X,), {"approximate": False}), ("elu", (X - 0.5,), {"alpha": 0.5}), ("leaky_relu", (X - 0.5,), {}),
    ("celu", (X - 0.5,), {}), ("soft_shrink", (X - 0.5,), {"threshold": 0.2}), ("threshold", (X, 0.5, -1.0), {}),
    ("squareplus", (X,), {"b": 2}), ("normalize", (X,), {}), ("normalize", (X,), {"order": 1, "axis": 0}),
    ("layer_normalization", (X,), {}), ("rms_normalization", (X,), {"scale": Y[0]}), ("moments", (X, [0]), {}),
    ("batch_normalization", (X, Y[0], Y[1], -1), {"offset": X[0], "scale": Y[2]}),
    ("binary_crossentropy", (np.round(X), Y / 2.5), {}), ("binary_crossentropy", (np.round(X), Y), {"from_logits": True}),
    ("categorical_crossentropy", (np.eye(4, dtype="float32")[[0, 1, 3]], X), {}),
    ("sparse_categorical_crossentropy", (np.array([0, 1, 3]), X), {"from_logits": True}),
    ("psnr", (X, Y / 2, 1.0), {}), ("ctc_loss", (np.array([[1, 2, 0]]), SEQ[:1], np.array([2]), np.array([7])), {}),
    ("conv", (IMG, K2), {"padding": "same", "strides": 2}), ("conv", (SEQ, K2[0, :, :, :2]), {"dilation_rate": 2}),
    ("depthwise_conv", (IMG, K2[..., :2]), {"padding": "same"}),
    ("separable_conv", (IMG, K2[..., :1], RNG.normal(size=(1, 1, 3, 5)).astype("float32")), {}),
    ("conv_transpose", (IMG, K2.transpose(0, 1, 3, 2)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMG, K2.transpose(0, 1, 3, 2)), {"strides": 2, "output_padding": 1}),
    ("max_pool", (IMG, 2, 2), {}), ("average_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("depth_to_space", (np.tile(IMG, (1, 1, 1, 4))[..., :12], 2), {}), ("space_to_depth", (IMG, 2), {}),
    ("dot_product_attention", (SEQ[:, :, None], SEQ[:, :, None], SEQ[:, :, None]), {"is_causal": True}),
    ("cdist", (X, Y), {}), ("extract_sequences", (X, 2, 1), {}), ("rfft", (X,), {}), ("irfft", ((X, Y),), {}),
    ("fft", ((X, Y),), {}), ("fft2", ((X, Y),), {}), ("rsqrt", (Y,), {}), ("erfinv", (X - 0.5,), {}),
    ("logdet", (SQ,), {}), ("det", (SQ,), {}), ("inv", (SQ,), {}), ("solve", (SQ, X[:, :3].T), {}),
    ("cholesky", (SQ,), {}), ("cholesky", (SQ,), {"upper": True}), ("cholesky_inverse", (np.linalg.cholesky(SQ),), {}),
    ("qr", (X,), {}), ("svd", (X,), {"compute_uv": False}), ("norm", (X,), {"ord": "fro"}), ("norm", (X[0],), {"ord": 1}),
    ("pinv", (X,), {}), ("lstsq", (X.T, Y[0]), {}), ("matrix_rank", (X,), {}), ("eigh", (SQ,), {}),
    ("solve_triangular", (np.tril(SQ), X[:, :3]), {"lower": True}), ("slogdet", (SQ,), {}),
    ("image.resize", (IMG, (3, 9)), {}), ("image.resize", (IMG, (12, 12)), {"interpolation": "nearest"}),
    ("image.rgb_to_grayscale", (IMG,), {}), ("image.rgb_to_hsv", (IMG,), {}), ("image.hsv_to_rgb", (IMG,), {}),
    ("image.crop_images", (IMG, 1, 2), {"target_height": 3, "target_width": 2}),
    ("image.pad_images", (IMG, 1, 2), {"target_height": 9, "target_width": 10}),
    ("image.extract_patches", (IMG, 2), {}), ("image.extract_patches", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("image.map_coordinates", (X, np.array([[0.5, 1.7], [2.0, 0.3]]), 1), {}),
    ("cast", (X, "int32"), {}), ("saturate_cast", (np.array([-3.0, 300.0]), "uint8"), {}),
    ("convert_to_tensor", ([1, 2],), {"dtype": "float32"}), ("slice", (X, (1, 1), (2, 2)), {}),
    ("slice_update", (X, (1, 1), Y[:2, :2]), {}), ("scatter", (np.array([[0, 1], [2, 3]]), np.array([1.0, 2.0]), (3, 4)), {}),
    ("scatter_update", (X, np.array([[0, 1], [2, 3]]), np.array([9.0, 8.0])), {}),
    ("scatter_update", (X, np.array([[0, 1]]), np.array([9.0])), {"reduction": "add"}),
    ("unstack", (X,), {"axis": 1}), ("stop_gradient", (X,), {}),
    ("clip", (X, 0.3, 0.6), {}), ("where", (X > 0.5, X, Y), {}), ("take", (X, np.array([0, 5])), {}),
    ("take_along_axis", (X, np.argsort(X, axis=1), 1), {}), ("argsort", (X,), {}), ("sort", (X,), {"axis": 0}),
    ("cumsum", (X,), {"axis": 1}), ("cumprod", (X,), {}), ("diff", (X,), {"n": 2}), ("round", (Y * 10, 1), {}),
    ("arange", (1, 10, 3), {}), ("linspace", (0.0, 1.0, 7), {}), ("logspace", (0.0, 1.0, 4), {}), ("eye", (3, 4, 1), {}),
    ("tri", (3,), {"k": -1}), ("tril", (X,), {"k": 1}), ("triu", (X,), {}), ("diag", (X,), {"k": 1}), ("diagonal", (X,), {}),
    ("trace", (X,), {}), ("reshape", (X, (2, -1)), {}), ("transpose", (X,), {}), ("moveaxis", (IMG, -1, 1), {}),
    ("expand_dims", (X, 1), {}), ("squeeze", (X[:1],), {}), ("tile", (X, (2, 1)), {}), ("repeat", (X, 2), {"axis": 0}),
    ("flip", (X,), {"axis": 1}), ("roll", (X, 2), {"axis": 1}), ("rot90", (X,), {}), ("pad", (X, ((1, 0), (2, 1))), {}),
    ("pad", (X, ((1, 1), (1, 1))), {"mode": "reflect"}), ("concatenate", ([X, Y],), {"axis": 1}), ("stack", ([X, Y],), {}),
    ("split", (X, 2), {"axis": 1}), ("array_split", (X, 3), {"axis": 1}), ("dot", (X, Y.T), {}),
    ("matmul", (X, Y.T), {}), ("tensordot", (X, Y, 2), {}), ("einsum", ("ij,kj->ik", X, Y), {}), ("outer", (X[0], Y[0]), {}),
    ("inner", (X, Y), {}), ("kron", (X[:2, :2], Y[:2, :2]), {}), ("cross", (X[:, :3], Y[:, :3]), {}),
    ("median", (X,), {"axis": 0}), ("quantile", (X, 0.3), {"axis": 1}), ("percentile", (X, [10.0, 90.0]), {}),
    ("average", (X,), {"axis": 1, "weights": Y[0]}), ("var", (X,), {}), ("std", (X,), {"axis": 0}),
    ("digitize", (X, np.array([0.25, 0.5, 0.75], "float32")), {}), ("searchsorted", (np.sort(X[0]), Y[0] / 2), {}),
    ("isin", (I1, I2), {}), ("histogram", (X.ravel(),), {"bins": 4}), ("bincount", (np.array([0, 1, 1, 4]),), {"minlength": 6}),
    ("full", ((2, 3), 1.5), {}), ("full_like", (X, 2), {}), ("zeros_like", (X,), {}), ("identity", (3,), {}),
    ("meshgrid", (X[0], Y[0]), {"indexing": "ij"}), ("vander", (X[0],), {"N": 3}), ("trapezoid", (X,), {"dx": 0.5}),
    ("correlate", (X[0], Y[0]), {"mode": "same"}), ("select", ([X > 0.6, X < 0.3], [X, Y]), {"default": -1.0}),
    ("nan_to_num", (np.array([np.nan, np.inf, 1.0]),), {}), ("ldexp", (X, I1), {}),
    ("layer_normalization", (IMG,), {"gamma": Y[0, :3], "beta": X[0, :3]}), ("divide_no_nan", (X, np.where(Y > 1, Y, 0)), {}),
    ("unravel_index", (np.array([5, 7]), (3, 4)), {}), ("argpartition", (X[0], 1), {}),
    ("fori_loop", (0, 5, lambda i, v: v * 2 + i, 1.0), {}), ("while_loop", (lambda a, b: a < 10, lambda a, b: (a + 3, b * 2), (0, 1.0)), {}),
    ("while_loop", (lambda a: a < 100, lambda a: a * 3, 1), {"maximum_iterations": 2}),
    ("scan", (lambda c, x: (c + x, c * x), 0.0, X[0]), {}), ("map", (lambda v: v * 2, X), {}),
    ("cond", (True, lambda: X, lambda: Y), {}), ("switch", (1, [lambda a: a, lambda a: a * 3], X), {}),
    ("associative_scan", (lambda a, b: a + b, X), {"axis": 1}), ("vectorized_map", (lambda v: v.sum(), X), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MANUAL, ids=[f"{c[0]}-{i}" for i, c in enumerate(MANUAL)])
def test_numbers_equal_keras_by_hand(name, args, kwargs):
    with jax.numpy_rank_promotion("allow"):
        theirs = _theirs(name)(*args, **kwargs)
        ours = _ours(name)(*args, **kwargs)
    if name == "sparsemax":   # Keras 3.15's JAX sparsemax is wrong once two entries survive
        from tests.test_activations import numpy_sparsemax
        theirs = numpy_sparsemax(*args, **kwargs)
    if name == "qr":   # signs of Q's columns and R's rows are a convention: compare the product
        ours, theirs = ours[0] @ ours[1], theirs[0] @ theirs[1]
    if name == "eigh":
        ours, theirs = ours[0], theirs[0]
    _close(ours, theirs, name)


def test_ops_work_inside_jit_and_grad_and_a_custom_layer():
    f = jax.jit(lambda x: ops.sum(ops.relu(x) * ops.one_hot(ops.argmax(x, axis=-1), 4)))
    assert float(f(X)) == pytest.approx(float(np.max(X, axis=1).sum()), rel=1e-6)
    g = jax.grad(lambda x: ops.mean(ops.square(x)))(X)
    np.testing.assert_allclose(g, 2 * X / X.size, rtol=1e-6)

    class Gate(hl.layers.Layer):
        def build(self, input_shape):
            self.add_weight("w", (input_shape[-1], input_shape[-1]))

        def call(self, inputs):
            return ops.sigmoid(ops.matmul(inputs, self.w.get_value())) * inputs

    model = hl.Sequential([hl.Input((4,)), Gate(), hl.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(X, Y[:, :1], epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_unsupported_arguments_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match=r"one_hot\(sparse=True\): JAX has no sparse tensors here"):
        ops.one_hot(np.array([0]), 2, sparse=True)
    with pytest.raises(ValueError, match="num_segments must be given: shapes are static"):
        ops.segment_sum(X, np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="data_format must be 'channels_last' or 'channels_first'"):
        ops.max_pool(IMG, 2, data_format="NHWC")
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        ops.conv(IMG, K2, padding="full")
    with pytest.raises(ValueError, match="scatter_update: reduction must be None"):
        ops.scatter_update(X, [[0, 0]], np.array([1.0]), reduction="sum")


def test_the_listed_numpy_names_are_the_submodules_names():
    from highlevel.ops import (numpy, numpy_binary, numpy_comparison, numpy_creation, numpy_indexing, numpy_logic,
                               numpy_nan_reductions, numpy_products, numpy_quantiles, numpy_reductions, numpy_shape,
                               numpy_transcendental, numpy_unary)
    parts = (numpy_binary, numpy_comparison, numpy_creation, numpy_indexing, numpy_logic, numpy_nan_reductions,
             numpy_products, numpy_quantiles, numpy_reductions, numpy_shape, numpy_transcendental, numpy_unary)
    assert numpy.__all__ == ["tanh"] + sorted(set().union(*(set(p.__all__) for p in parts)))


def test_the_listed_nn_names_are_the_submodules_names():
    from highlevel.ops import (convolution, nn, nn_activations, nn_adaptive, nn_attention, nn_ctc, nn_losses,
                               nn_normalization, nn_patches)
    parts = (convolution, nn_activations, nn_adaptive, nn_attention, nn_ctc, nn_losses, nn_normalization,
             nn_patches)
    assert len(nn.__all__) == len(set(nn.__all__))
    assert set(nn.__all__) == set().union(*(set(p.__all__) for p in parts))


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("dtype", ["uint8", "int16"])
def test_resize_of_integer_images_keeps_the_dtype_as_keras(interpolation, dtype):
    rng = np.random.default_rng(3)
    low, high = (0, 256) if dtype == "uint8" else (-32768, 32768)
    images = rng.integers(low, high, size=(2, 6, 5, 3)).astype(dtype)
    for size in [(9, 7), (4, 3)]:
        with jax.numpy_rank_promotion("allow"):
            expected = np.asarray(keras.ops.image.resize(images, size, interpolation=interpolation))
        got = np.asarray(ops.image.resize(images, size, interpolation=interpolation))
        assert got.dtype == expected.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)
