"""BatchNormalization and LayerNormalization against Keras 3; BN hyperparameters without recompiling."""

import jax
import keras
import numpy as np
import pytest
from flax import nnx

import highlevel as hl
from highlevel.layers import call_context
from tests.compile_count import count_compilations
from tests.harness import run_layer_test

L = hl.layers

CASES = [
    (L.BatchNormalization, {}, (4, 3), (4, 3), 2, 2),
    (L.BatchNormalization, {"axis": 1, "center": False}, (4, 3, 5, 5), (4, 3, 5, 5), 1, 2),
    (L.LayerNormalization, {}, (4, 3, 5), (4, 3, 5), 2, 0),
    (L.LayerNormalization, {"axis": [1, 2], "scale": False}, (4, 3, 5), (4, 3, 5), 1, 0),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out,nt,nnt", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out, nt, nnt):
    run_layer_test(cls, kwargs, shape, out, nt, nnt, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("cls,kwargs,shape,out,nt,nnt", CASES, ids=IDS)
def test_layer_harness_training_step(cls, kwargs, shape, out, nt, nnt):
    run_layer_test(cls, kwargs, shape, out, nt, nnt)


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


def _pair(hl_layer, keras_layer, x, rng):
    """Builds both layers and gives them the same, non-trivial weights."""
    _keras(keras_layer, x)
    hl_layer(x)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype(w.dtype) for w in keras_layer.get_weights()]
    keras_layer.set_weights(weights)
    hl_layer.set_weights(weights)
    assert hl_layer.count_params() == keras_layer.count_params()
    assert [w.shape for w in hl_layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]


@pytest.mark.parametrize("kwargs,shape", [({}, (8, 5)), ({"axis": 1, "momentum": 0.9}, (6, 3, 4, 4)),
                                          ({"scale": False, "epsilon": 0.1}, (6, 4, 3))])
def test_batch_norm_matches_keras(kwargs, shape, rng):
    x = (3 * rng.standard_normal(shape) + 1).astype("float32")
    ours, theirs = L.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    _pair(ours, theirs, x, rng)
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), _keras(theirs, x, training=True),
                               rtol=1e-5, atol=1e-5)
    # One training call updated the moving statistics as Keras does.
    for got, expected in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)


def test_batch_norm_keras_weight_order_and_initializers():
    layer = L.BatchNormalization(moving_variance_initializer="zeros", gamma_initializer="zeros")
    layer(np.ones((2, 3), "float32"))
    names = [n.split("/")[-1] for n, _ in layer.named_weights()]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [float(w.sum()) for w in layer.get_weights()] == [0.0, 0.0, 0.0, 0.0]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_batch_norm_not_trainable_runs_in_inference_mode(rng):
    x = rng.standard_normal((8, 3)).astype("float32")
    layer = L.BatchNormalization()
    layer(x)
    layer.trainable = False
    before = layer.get_weights()
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), np.asarray(layer(x)))
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_frozen_uses_and_keeps_moving_statistics(rng):
    x = rng.standard_normal((8, 3)).astype("float32")
    layer = L.BatchNormalization()
    layer(x, training=True)
    assert layer.frozen is False
    layer.frozen = True
    assert layer.frozen is True
    before = layer.get_weights()
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)), rtol=1e-6)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(8, 3), (8, 2, 2, 3)])
def test_batch_norm_sample_mask_ignores_padding_rows(shape, rng):
    real = 5
    x = rng.standard_normal(shape).astype("float32")
    x[real:] = 100.0  # padding rows: garbage that must not reach the statistics
    mask = np.array([1.0] * real + [0.0] * (shape[0] - real), "float32")
    padded, unpadded = L.BatchNormalization(momentum=0.5), L.BatchNormalization(momentum=0.5)
    with call_context(training=True, mask=mask):
        y_padded = np.asarray(padded(x))
    y_unpadded = np.asarray(unpadded(x[:real], training=True))
    np.testing.assert_allclose(y_padded[:real], y_unpadded, rtol=1e-5, atol=1e-5)
    for a, b in zip(padded.get_weights(), unpadded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # A batch made only of padding leaves the moving statistics alone.
    before = padded.get_weights()
    with call_context(training=True, mask=np.zeros(shape[0], "float32")):
        padded(x)
    for a, b in zip(before, padded.get_weights()):
        np.testing.assert_array_equal(a, b)


def _compiles_of(compiled: list, fun_name: str) -> int:
    return sum(name == f"jit({fun_name})" for name in compiled)


def test_momentum_and_frozen_change_without_recompiling(rng):
    x = (rng.standard_normal((16, 4)) + 2.0).astype("float32")
    layer = L.BatchNormalization(momentum=0.9)
    layer(x)
    graphdef, _ = nnx.split(layer)

    @jax.jit
    def bn_step(state, x):
        module = nnx.merge(graphdef, state, copy=True)
        with call_context(training=True):
            y = module(x)
        return y, nnx.state(module)

    def run():
        _, state = nnx.split(layer)
        y, new_state = bn_step(state, x)
        nnx.update(layer, new_state)
        return np.asarray(y), layer.get_weights()[2], layer.get_weights()[3]

    with count_compilations() as compiled:
        _, mean_09, _ = run()                  # from 0: 0.1 * batch mean
        layer.set_weights([np.ones(4), np.zeros(4), np.zeros(4), np.ones(4)])
        layer.momentum = 0.5
        _, mean_05, var_05 = run()             # from 0: 0.5 * batch mean
        layer.frozen = True
        y_frozen, mean_frozen, var_frozen = run()
        layer.frozen = False
        _, mean_after, _ = run()
    assert _compiles_of(compiled, "bn_step") == 1, compiled
    batch_mean = x.mean(axis=0)
    np.testing.assert_allclose(mean_09, 0.1 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(mean_05, 0.5 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(var_05, 0.5 + 0.5 * x.var(axis=0), rtol=1e-5)
    # Frozen: normalized with the moving statistics, which stay as they were.
    np.testing.assert_array_equal(mean_frozen, mean_05)
    np.testing.assert_array_equal(var_frozen, var_05)
    np.testing.assert_allclose(y_frozen, (x - mean_05) / np.sqrt(var_05 + 1e-3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean_after, 0.75 * batch_mean, rtol=1e-5)
    assert layer.momentum == 0.5 and layer.frozen is False


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="'bn' needs a momentum in \\[0, 1\\], got 1.5"):
        L.BatchNormalization(momentum=1.5, name="bn")
    with pytest.raises(ValueError, match="axis=3, out of range for inputs of shape \\(2, 3\\)"):
        L.BatchNormalization(axis=3)(np.ones((2, 3), "float32"))
    layer = L.BatchNormalization(name="bn_c")
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(2, 4\) does not match layer 'bn_c'.*\(None, 3\)"):
        layer(np.ones((2, 4), "float32"))
    channels_first = L.BatchNormalization(axis=1)
    channels_first(np.ones((2, 3, 4, 4), "float32"))
    assert channels_first(np.ones((2, 3, 8, 8), "float32")).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("kwargs,shape", [({}, (4, 6)), ({"axis": [1, 2], "epsilon": 1e-5}, (4, 3, 5)),
                                          ({"axis": 1, "center": False}, (4, 3, 5)), ({"axis": -2}, (2, 4, 3, 5))])
def test_layer_norm_matches_keras(kwargs, shape, rng):
    x = (2 * rng.standard_normal(shape) + 1).astype("float32")
    ours, theirs = L.LayerNormalization(**kwargs), keras.layers.LayerNormalization(**kwargs)
    _pair(ours, theirs, x, rng)
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), _keras(theirs, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs,shape", [({"rms_scaling": True}, (4, 6)),
                                          ({"rms_scaling": True, "axis": [1, 2], "scale": False}, (4, 3, 5))])
def test_layer_norm_rms_scaling_matches_keras(kwargs, shape, rng):
    x = (2 * rng.standard_normal(shape) + 1).astype("float32")
    with pytest.warns(UserWarning, match="rms_scaling"):   # Keras deprecates it; highlevel accepts it quietly
        theirs = keras.layers.LayerNormalization(**kwargs)
    ours = L.LayerNormalization.from_config({k: v for k, v in theirs.get_config().items() if k != "dtype"})
    assert ours.get_config()["rms_scaling"] is True
    _pair(ours, theirs, x, rng)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]   # gamma only
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)


def test_batch_norm_keras_config_loads_and_renorm_is_refused(rng):
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    ours = L.BatchNormalization.from_config({k: v for k, v in theirs.get_config().items() if k != "dtype"})
    x = rng.standard_normal((6, 3)).astype("float32")
    _pair(ours, theirs, x, rng)
    np.testing.assert_allclose(np.asarray(ours(x)), _keras(theirs, x), rtol=1e-5, atol=1e-5)
    assert set(theirs.get_config()) - {"dtype"} <= set(ours.get_config())
    with pytest.raises(ValueError, match=r"renorm=True\) is not supported.*use renorm=False"):
        L.BatchNormalization(renorm=True)


def test_layer_norm_config_keeps_axis_as_given():
    layer = L.LayerNormalization(axis=[-2, -1])
    layer(np.ones((2, 3, 4), "float32"))
    assert layer.get_config()["axis"] == [-2, -1]
    assert [w.shape for w in layer.get_weights()] == [(3, 4), (3, 4)]
    with pytest.raises(TypeError, match="axis must be an integer or a list of integers"):
        L.LayerNormalization(axis="last")
