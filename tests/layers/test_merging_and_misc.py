"""Merging layers, Rescaling and Dropout (a rate that changes without recompiling)."""

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

# (class, kwargs, input shape(s), output shape, input dtype)
CASES = [
    (L.Add, {}, [(2, 3), (2, 3)], (2, 3), "float32"),
    (L.Subtract, {}, [(2, 3, 4), (2, 3, 4)], (2, 3, 4), "float32"),
    (L.Multiply, {}, [(2, 3), (2, 3), (2, 3)], (2, 3), "float32"),
    (L.Average, {}, [(2, 3), (2, 3)], (2, 3), "float32"),
    (L.Maximum, {}, [(2, 3), (2, 1)], (2, 3), "float32"),
    (L.Minimum, {}, [(2, 4, 3), (2, 3)], (2, 4, 3), "float32"),
    (L.Concatenate, {}, [(2, 3), (2, 5)], (2, 8), "float32"),
    (L.Concatenate, {"axis": 1}, [(2, 3, 4), (2, 1, 4)], (2, 4, 4), "float32"),
    (L.Rescaling, {"scale": 1 / 255, "offset": -0.5}, (2, 4, 4, 3), (2, 4, 4, 3), "uint8"),
    (L.Rescaling, {"scale": [1.0, 2.0, 3.0]}, (2, 4, 3), (2, 4, 3), "float32"),
    (L.Dropout, {"rate": 0.3}, (2, 5), (2, 5), "float32"),
    (L.Dropout, {"rate": 0.5, "noise_shape": (None, 1, 3), "seed": 7}, (2, 4, 3), (2, 4, 3), "float32"),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out,dtype", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out, dtype):
    run_layer_test(cls, kwargs, shape, out, input_dtype=dtype, run_training_step=False)


@pytest.mark.skipif(not hasattr(hl, "Model"), reason="the trainer (hl.Model) has not landed yet")
@pytest.mark.parametrize("cls,kwargs,shape,out,dtype", CASES, ids=IDS)
def test_layer_harness_training_step(cls, kwargs, shape, out, dtype):
    run_layer_test(cls, kwargs, shape, out, input_dtype=dtype)


def _keras(fn, *args, **kwargs):
    # Keras relies on implicit rank promotion, which the test config forbids for highlevel.
    with jax.numpy_rank_promotion("allow"):
        return keras.ops.convert_to_numpy(fn(*args, **kwargs))


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merges_match_keras(name, rng):
    xs = [rng.standard_normal((3, 4, 2)).astype("float32") for _ in range(2)]
    xs.append(rng.standard_normal((3, 1, 2)).astype("float32"))  # broadcast on axis 1
    if name == "Subtract":
        xs = xs[:2]
    got = np.asarray(getattr(L, name)()(xs))
    np.testing.assert_allclose(got, _keras(getattr(keras.layers, name)(), xs), rtol=1e-6)


def test_concatenate_matches_keras(rng):
    xs = [rng.standard_normal((2, 3, s)).astype("float32") for s in (1, 4)]
    np.testing.assert_array_equal(np.asarray(L.Concatenate()(xs)), _keras(keras.layers.Concatenate(), xs))
    out = L.Concatenate(axis=1)([hl.Input((3, 4)), hl.Input((5, 4))])
    assert out.shape == (None, 8, 4)


def test_merge_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Concatenate layer 'cat' got inputs of shapes \[\(2, 3, 4\), \(2, 5, 6\)\], "
                                         r"which differ on axis 1"):
        L.Concatenate(name="cat")([np.ones((2, 3, 4), "float32"), np.ones((2, 5, 6), "float32")])
    with pytest.raises(ValueError, match=r"'cat2' got inputs of shapes \[\(None, 3\), \(None, 4\)\]"):
        L.Concatenate(axis=0, name="cat2")([hl.Input((3,)), hl.Input((4,))])
    with pytest.raises(ValueError, match=r"Add layer 'add_x' got inputs of incompatible shapes "
                                         r"\[\(2, 3\), \(2, 4\)\]"):
        L.Add(name="add_x")([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="Subtract layer 'sub' takes exactly 2 inputs, got 3"):
        L.Subtract(name="sub")([np.ones((2, 3), "float32")] * 3)
    with pytest.raises(ValueError, match="takes a list of inputs"):
        L.Add()(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add()([np.ones((2, 3), "float32"), np.ones((3, 3), "float32")])


def test_rescaling_matches_keras(rng):
    images = rng.integers(0, 256, size=(2, 3, 3, 3)).astype("uint8")
    for kwargs in ({"scale": 1 / 127.5, "offset": -1.0}, {"scale": [0.5, 1.0, 2.0], "offset": [1.0, 0.0, -1.0]}):
        got = L.Rescaling(**kwargs)(images)
        assert got.dtype == np.float32
        np.testing.assert_allclose(np.asarray(got), _keras(keras.layers.Rescaling(**kwargs), images), rtol=1e-6)
    with pytest.raises(ValueError, match=r"Rescaling layer 'rs' has scale/offset of shape \(2,\).*\(2, 3\)"):
        L.Rescaling([1.0, 2.0], name="rs")(np.ones((2, 3), "float32"))


# -- Dropout -------------------------------------------------------------------


def test_dropout_inference_is_identity_like_keras(rng):
    x = rng.standard_normal((4, 10)).astype("float32")
    np.testing.assert_array_equal(np.asarray(L.Dropout(0.5)(x)), _keras(keras.layers.Dropout(0.5), x))
    np.testing.assert_array_equal(np.asarray(L.Dropout(0.5)(x, training=False)), x)
    assert L.Dropout(0.5).get_config()["rate"] == keras.layers.Dropout(0.5).get_config()["rate"]


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_training_statistics(rate):
    x = np.ones((200, 500), "float32")
    y = np.asarray(L.Dropout(rate)(x, training=True))
    assert abs((y == 0).mean() - rate) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02  # inverted dropout keeps the mean


def test_dropout_rate_zero_is_identity_in_training_and_traced(rng):
    x = rng.standard_normal((8, 16)).astype("float32")
    layer = L.Dropout(0.0)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)
    traced = jax.jit(lambda v, key: layer(v, training=True, rng=key))(x, jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(traced), x)


def test_dropout_noise_shape_shares_the_mask():
    y = np.asarray(L.Dropout(0.5, noise_shape=(None, 1, 8))(np.ones((4, 6, 8), "float32"), training=True))
    assert (y == y[:, :1, :]).all()
    assert 0 < (y == 0).mean() < 1


def test_dropout_keys_come_from_the_call_context():
    x = np.ones((4, 64), "float32")
    layer = L.Dropout(0.5)
    with call_context(training=True, rng=jax.random.key(1)):
        a = np.asarray(layer(x))
    with call_context(training=True, rng=jax.random.key(1)):
        b = np.asarray(layer(x))
    with call_context(training=True, rng=jax.random.key(2)):
        c = np.asarray(layer(x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    seeded = L.Dropout(0.5, seed=3)
    with call_context(training=True, rng=jax.random.key(1)):
        assert not np.array_equal(np.asarray(seeded(x)), a)


def _compiles_of(compiled: list, fun_name: str) -> int:
    return sum(name == f"jit({fun_name})" for name in compiled)


def test_dropout_rate_changes_without_recompiling():
    x = np.ones((100, 200), "float32")
    layer = L.Dropout(0.2)
    layer(x)
    graphdef, _ = nnx.split(layer)

    @jax.jit
    def dropout_step(state, x, key):
        module = nnx.merge(graphdef, state, copy=True)
        with call_context(training=True, rng=key):
            return module(x)

    fractions = []
    with count_compilations() as compiled:
        for i, rate in enumerate([0.2, 0.6, 0.0, 0.9]):
            layer.rate = rate
            assert layer.rate == rate
            y = np.asarray(dropout_step(nnx.split(layer)[1], x, jax.random.key(i)))
            fractions.append((y == 0).mean())
            if rate == 0.0:
                np.testing.assert_array_equal(y, x)
        assert _compiles_of(compiled, "dropout_step") == 1, compiled
        dropout_step(nnx.split(layer)[1], x[:50], jax.random.key(0))
        assert _compiles_of(compiled, "dropout_step") == 2  # the counter does see a real recompilation
    np.testing.assert_allclose(fractions, [0.2, 0.6, 0.0, 0.9], atol=0.01)


def test_dropout_rate_errors():
    with pytest.raises(ValueError, match=r"Dropout layer 'drop' needs a rate in \[0, 1\).*got 1.0"):
        L.Dropout(1.0, name="drop")
    with pytest.raises(ValueError, match=r"needs a rate in \[0, 1\).*got -0.1"):
        L.Dropout(-0.1)
    layer = L.Dropout(0.5)
    with pytest.raises(ValueError, match=r"needs a rate in \[0, 1\)"):
        layer.rate = 1.5
    assert layer.rate == 0.5
    with pytest.raises(ValueError, match=r"noise_shape \(1, 3\), which does not fit inputs of shape \(2, 4, 3\)"):
        L.Dropout(0.5, noise_shape=(1, 3))(np.ones((2, 4, 3), "float32"), training=True)
