"""Convolution layers against Keras 3: Conv1D/2D, Conv2DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D,
ZeroPadding2D."""

import jax
import keras
import numpy as np
import pytest

import highlevel as hl
from tests.harness import run_layer_test

L = hl.layers

# (class, kwargs, input shape, output shape, trainable weights)
CASES = [
    (L.Conv1D, {"filters": 4, "kernel_size": 3}, (2, 9, 3), (2, 7, 4), 2),
    (L.Conv1D, {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 3), (2, 9, 4), 2),
    (L.Conv2D, {"filters": 4, "kernel_size": 3, "activation": "relu"}, (2, 7, 6, 3), (2, 5, 4, 4), 2),
    (L.Conv2D, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same", "use_bias": False},
     (2, 7, 6, 2), (2, 4, 3, 4), 1),
    (L.Conv2D, {"filters": 4, "kernel_size": 3, "groups": 2}, (2, 6, 6, 4), (2, 4, 4, 4), 2),
    (L.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 3),
     (2, 10, 8, 4), 2),
    (L.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 5, 4, 3),
     (2, 12, 10, 2), 2),
    (L.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 5, 3), (2, 4, 3, 6), 2),
    (L.SeparableConv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 6, 5, 3), (2, 6, 5, 4), 3),
    (L.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2, "strides": 2}, (2, 9, 3), (2, 4, 6), 2),
    (L.SeparableConv1D, {"filters": 4, "kernel_size": 3, "padding": "same", "use_bias": False}, (2, 9, 3),
     (2, 9, 4), 2),
    (L.ZeroPadding2D, {"padding": ((1, 0), (2, 3))}, (2, 4, 4, 3), (2, 5, 9, 3), 0),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out,nt", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out, nt):
    run_layer_test(cls, kwargs, shape, out, nt, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("cls,kwargs,shape,out,nt", CASES, ids=IDS)
def test_layer_harness_training_step(cls, kwargs, shape, out, nt):
    run_layer_test(cls, kwargs, shape, out, nt)


# ---------------------------------------------------------------------------
# Same numbers as Keras on the same weights.


def _keras(fn, *args):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args))


def _check_against_keras(name, kwargs, input_shape, rng):
    x = rng.standard_normal(input_shape).astype("float32")
    keras_layer = getattr(keras.layers, name)(**kwargs)
    _keras(keras_layer, x)
    # Random biases too, so that their shape and order are checked, not only the kernels'.
    keras_layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5
                             for w in keras_layer.get_weights()])
    expected = _keras(keras_layer, x)
    layer = getattr(L, name)(**kwargs)
    layer(x)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    layer.set_weights(keras_layer.get_weights())
    got = np.asarray(layer(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert layer.count_params() == keras_layer.count_params()
    symbolic = getattr(L, name)(**kwargs)(hl.Input(input_shape[1:]))
    assert symbolic.shape == (None,) + expected.shape[1:]


PADDINGS = ["valid", "same"]


@pytest.mark.parametrize("padding", PADDINGS + ["causal"])
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("steps", [7, 8])
def test_conv1d_matches_keras(padding, strides, dilation, steps, rng):
    _check_against_keras("Conv1D", {"filters": 3, "kernel_size": 3, "strides": strides, "padding": padding,
                                    "dilation_rate": dilation}, (2, steps, 2), rng)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), ((2, 1), 1), (1, 2), (1, (2, 1))])
@pytest.mark.parametrize("size,kernel", [((7, 7), 3), ((8, 6), (2, 3)), ((8, 9), (4, 1))])
def test_conv2d_matches_keras(padding, strides, dilation, size, kernel, rng):
    _check_against_keras("Conv2D", {"filters": 4, "kernel_size": kernel, "strides": strides, "padding": padding,
                                    "dilation_rate": dilation, "activation": "tanh"}, (2, *size, 3), rng)


@pytest.mark.parametrize("padding", PADDINGS)
def test_conv2d_groups_match_keras(padding, rng):
    _check_against_keras("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3, "padding": padding},
                         (2, 6, 5, 6), rng)


TRANSPOSE_CASES = [(s, d, k, op) for s, d in [(1, 1), (2, 1), (3, 1), (1, 2)] for k in (3, 2, (4, 3))
                   for op in (None, 0, 1, 2) if op is None or op < s]


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation,kernel,output_padding", TRANSPOSE_CASES)
def test_conv2d_transpose_matches_keras(padding, strides, dilation, kernel, output_padding, rng):
    _check_against_keras("Conv2DTranspose", {"filters": 3, "kernel_size": kernel, "strides": strides,
                                             "padding": padding, "dilation_rate": dilation,
                                             "output_padding": output_padding}, (2, 5, 4, 2), rng)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("depth_multiplier", [1, 3])
@pytest.mark.parametrize("size", [(7, 7), (8, 6)])
def test_depthwise_conv2d_matches_keras(padding, strides, dilation, depth_multiplier, size, rng):
    _check_against_keras("DepthwiseConv2D", {"kernel_size": 3, "strides": strides, "padding": padding,
                                             "dilation_rate": dilation, "depth_multiplier": depth_multiplier},
                         (2, *size, 3), rng)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("depth_multiplier", [1, 2])
@pytest.mark.parametrize("size", [(7, 7), (8, 6)])
def test_separable_conv2d_matches_keras(padding, strides, dilation, depth_multiplier, size, rng):
    _check_against_keras("SeparableConv2D", {"filters": 5, "kernel_size": 3, "strides": strides,
                                             "padding": padding, "dilation_rate": dilation,
                                             "depth_multiplier": depth_multiplier, "activation": "relu"},
                         (2, *size, 3), rng)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("depth_multiplier", [1, 3])
@pytest.mark.parametrize("steps", [7, 8])
def test_depthwise_conv1d_matches_keras(padding, strides, dilation, depth_multiplier, steps, rng):
    _check_against_keras("DepthwiseConv1D", {"kernel_size": 3, "strides": strides, "padding": padding,
                                             "dilation_rate": dilation, "depth_multiplier": depth_multiplier},
                         (2, steps, 3), rng)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("strides,dilation", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("depth_multiplier", [1, 2])
def test_separable_conv1d_matches_keras(padding, strides, dilation, depth_multiplier, rng):
    _check_against_keras("SeparableConv1D", {"filters": 5, "kernel_size": 3, "strides": strides,
                                             "padding": padding, "dilation_rate": dilation,
                                             "depth_multiplier": depth_multiplier, "activation": "relu"},
                         (2, 8, 3), rng)


@pytest.mark.parametrize("name,kwargs", [("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}),
                                         ("SeparableConv1D", {"filters": 4, "kernel_size": (3,), "strides": 2})])
def test_conv1d_depthwise_config_matches_keras(name, kwargs, tmp_path, rng):
    keras_config = getattr(keras.layers, name)(**kwargs).get_config()
    config = getattr(L, name)(**kwargs).get_config()
    for key in ("kernel_size", "strides", "dilation_rate", "padding", "depth_multiplier", "data_format"):
        assert tuple(np.atleast_1d(config[key])) == tuple(np.atleast_1d(keras_config[key])), key
    x = rng.standard_normal((4, 8, 3)).astype("float32")
    model = hl.Sequential([hl.Input((8, 3)), getattr(L, name)(**kwargs), L.Flatten(), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, rng.standard_normal((4, 1)).astype("float32"), epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = hl.models.load_model(tmp_path / "model")
    assert type(loaded.layers[0]) is getattr(L, name)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    y = getattr(L, name)(dtype="mixed_bfloat16", **kwargs)(x)
    assert y.dtype == jax.numpy.bfloat16


@pytest.mark.parametrize("padding", [1, (2, 0), ((1, 2), (0, 3))])
def test_zero_padding2d_matches_keras(padding, rng):
    _check_against_keras("ZeroPadding2D", {"padding": padding}, (2, 3, 4, 2), rng)


def test_regularizers_match_keras(rng):
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    kwargs = {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "bias_initializer": "ones"}
    regs = {"depthwise_regularizer": "l2", "pointwise_regularizer": "l1", "bias_regularizer": "l2"}
    keras_layer = keras.layers.SeparableConv2D(**kwargs, **regs)
    _keras(keras_layer, x)
    layer = L.SeparableConv2D(**kwargs, **regs)
    layer(x)
    layer.set_weights(keras_layer.get_weights())
    expected = sum(float(_keras(lambda v: v, loss)) for loss in keras_layer.losses)
    np.testing.assert_allclose(float(layer.regularization_loss()), expected, rtol=1e-5)


def test_config_matches_keras():
    kwargs = {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same"}
    ours, theirs = L.Conv2D(**kwargs).get_config(), keras.layers.Conv2D(**kwargs).get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "activation", "use_bias"):
        assert ours[key] == theirs[key], key


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize("cls,kwargs,bad_shape", [
    (L.Conv2D, {"filters": 2, "kernel_size": 3}, (2, 5, 3)),
    (L.Conv1D, {"filters": 2, "kernel_size": 3}, (2, 5, 5, 3)),
    (L.Conv2DTranspose, {"filters": 2, "kernel_size": 3}, (2, 5, 3)),
    (L.DepthwiseConv2D, {"kernel_size": 3}, (2, 5, 3)),
    (L.SeparableConv2D, {"filters": 2, "kernel_size": 3}, (2, 5, 3)),
    (L.ZeroPadding2D, {}, (2, 5, 3)),
])
def test_wrong_rank_names_layer_and_shape(cls, kwargs, bad_shape):
    layer = cls(name="my_layer", **kwargs)
    shape_text = r"\(" + ", ".join(str(d) for d in bad_shape) + r"\)"
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer 'my_layer' expects inputs of rank .*{shape_text}"):
        layer(np.zeros(bad_shape, "float32"))
    with pytest.raises(ValueError, match=rf"'my_layer'.*\(None, " + ", ".join(str(d) for d in bad_shape[1:])):
        cls(name="my_layer", **kwargs)(hl.Input(bad_shape[1:]))


def test_wrong_rank_after_building_is_caught():
    layer = L.ZeroPadding2D(name="pad")
    layer(np.zeros((1, 3, 3, 2), "float32"))
    with pytest.raises(ValueError, match=r"ZeroPadding2D layer 'pad' expects inputs of rank 4.*\(1, 3, 2\)"):
        layer(np.zeros((1, 3, 2), "float32"))


# channels_first: tests/layers/test_channels_first.py.


def test_bad_padding_lists_allowed_values():
    with pytest.raises(ValueError, match=r"Conv2D `padding` must be one of 'valid', 'same', got 'full'"):
        L.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv1D `padding` must be one of 'valid', 'same', 'causal', got 'ful'"):
        L.Conv1D(2, 3, padding="ful")
    with pytest.raises(ValueError, match=r"Conv2D `padding` must be one of 'valid', 'same'.*'causal'"):
        L.Conv2D(2, 3, padding="causal")
    assert L.Conv2D(2, 3, padding="SAME").padding == "same"


def test_bad_arguments():
    with pytest.raises(ValueError, match="Conv2D `filters` must be a positive integer, got 0"):
        L.Conv2D(0, 3)
    with pytest.raises(ValueError, match=r"Conv2D `kernel_size` must be an integer or a tuple of 2 integers"):
        L.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="strides > 1 cannot be combined with dilation_rate > 1"):
        L.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"`output_padding` must be smaller than `strides`"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"`filters` \(3\) must be divisible by `groups` \(2\)"):
        L.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match=r"input's 3 channels must be divisible by groups=2"):
        L.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D layer 'c'.*\(1, 2, 2, 3\) is too small.*padding='same'"):
        L.Conv2D(4, 3, name="c")(np.zeros((1, 2, 2, 3), "float32"))


def test_other_channel_count_after_building_is_caught():
    layer = L.Conv2D(2, 3, name="conv")
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(1, 5, 5, 4\) does not match layer 'conv'"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_weights_are_nnx_params_and_differentiable(rng):
    layer = L.Conv2D(3, 3, padding="same")
    x = rng.standard_normal((2, 5, 5, 2)).astype("float32")
    layer(x)
    from flax import nnx
    assert isinstance(layer.kernel, nnx.Param) and layer.kernel.value.shape == (3, 3, 2, 3)
    graphdef, params = nnx.split(layer, nnx.Param)

    def loss(params):
        return jax.numpy.sum(nnx.merge(graphdef, params)(x) ** 2)

    grads = jax.jit(jax.grad(loss))(params)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree_util.tree_leaves(grads))
