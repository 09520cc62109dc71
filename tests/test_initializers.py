"""Random initializers: drawn on the host from the key's data, with Keras's distributions, compiling nothing."""

import jax
import numpy as np
import pytest
from scipy import stats

import highlevel as hl
from highlevel.utils.random import host_key, next_key, set_random_seed
from tests.compile_count import count_compilations

N = 200_000  # enough draws that the checks below hold with margin (KS p-values, moments)


def _ks(sample, cdf):
    return stats.kstest(np.asarray(sample, np.float64).ravel(), cdf).pvalue


@pytest.mark.parametrize("name,cdf", [
    ("random_normal", stats.norm(0, 0.05).cdf),
    ("random_uniform", stats.uniform(-0.05, 0.1).cdf),
    ("truncated_normal", stats.truncnorm(-2, 2, scale=0.05).cdf)])
def test_keras_defaults_follow_their_distribution(name, cdf):
    w = hl.initializers.get(name)(jax.random.key(3), (N,))
    assert _ks(w, cdf) > 1e-3


@pytest.mark.parametrize("name,mode,dist", [
    ("glorot_uniform", "fan_avg", "uniform"), ("he_normal", "fan_in", "trunc"),
    ("lecun_normal", "fan_in", "trunc"), ("he_uniform", "fan_in", "uniform"),
    ("glorot_normal", "fan_avg", "trunc")])
def test_variance_scaling_presets_have_kerass_variance_and_support(name, mode, dist):
    shape = (3, 3, 64, 128)  # fan_in 576, fan_out 1152 as Keras counts a conv kernel
    fan = {"fan_in": 576.0, "fan_avg": (576.0 + 1152.0) / 2}[mode]
    scale = 2.0 if name.startswith("he") else 1.0
    w = np.asarray(hl.initializers.get(name)(jax.random.key(0), shape), np.float64)
    assert w.shape == shape
    if dist == "uniform":
        limit = (3 * scale / fan) ** 0.5
        assert _ks(w, stats.uniform(-limit, 2 * limit).cdf) > 1e-3
    else:  # Keras's stddev / 0.8796 before cutting at 2 stddev: the variance comes out as scale/fan
        sd = (scale / fan) ** 0.5 / 0.87962566103423978
        assert _ks(w, stats.truncnorm(-2, 2, scale=sd).cdf) > 1e-3
        np.testing.assert_allclose(w.var(), scale / fan, rtol=0.02)


def test_same_key_same_values_other_key_other_values_and_seed_argument():
    init = hl.initializers.GlorotUniform()
    a, b = init(jax.random.key(1), (7, 5)), init(jax.random.key(1), (7, 5))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(init(jax.random.key(2), (7, 5))))
    seeded = hl.initializers.GlorotUniform(seed=4)
    np.testing.assert_array_equal(np.asarray(seeded(jax.random.key(1), (7, 5))),
                                  np.asarray(seeded(jax.random.key(9), (7, 5))))
    np.testing.assert_array_equal(np.asarray(seeded(jax.random.key(1), (7, 5))),
                                  np.asarray(init(jax.random.key(4), (7, 5))))


def test_dtype_mean_and_orthogonal():
    w = hl.initializers.RandomNormal(mean=3.0, stddev=0.5)(jax.random.key(0), (N,), "bfloat16")
    assert w.dtype == jax.numpy.bfloat16
    np.testing.assert_allclose(float(np.asarray(w, np.float32).mean()), 3.0, atol=0.01)
    for shape in [(6, 4), (4, 6), (3, 3, 8, 16)]:
        q = np.asarray(hl.initializers.Orthogonal(gain=2.0)(jax.random.key(0), shape)).reshape(-1, shape[-1])
        small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
        np.testing.assert_allclose(small, 4.0 * np.eye(min(q.shape)), atol=1e-5)


def test_building_weights_compiles_nothing():
    init = hl.initializers.get("glorot_uniform")
    shapes = [(3, 3, c, c * 2) for c in range(9, 16)] + [(100, 10), (7,)]
    with count_compilations() as compiled:
        for shape in shapes:
            init(next_key(), shape)
        hl.initializers.get("he_normal")(next_key(), (50, 50))
        hl.initializers.get("orthogonal")(next_key(), (20, 20))
        set_random_seed(3)
        model = hl.Sequential([hl.layers.Input((12,)), hl.layers.Dense(16, activation="relu"),
                               hl.layers.Dense(3)])
    assert compiled == [], compiled
    assert model.count_params() == 12 * 16 + 16 + 16 * 3 + 3


def test_seeded_builds_repeat_and_host_key_equals_jax_key():
    def build():
        set_random_seed(11)
        return hl.Sequential([hl.layers.Input((4,)), hl.layers.Dense(3)]).get_weights()
    for a, b in zip(build(), build()):
        np.testing.assert_array_equal(a, b)
    for seed in [0, 1, 12345, 2**31 - 1, 2**32 - 1, 2**40 + 3]:
        np.testing.assert_array_equal(np.asarray(jax.random.key_data(host_key(seed))),
                                      np.asarray(jax.random.key_data(jax.random.key(seed))))


def test_under_a_trace_it_draws_with_jax_random():
    init = hl.initializers.get("he_normal")
    out = jax.jit(lambda k: init(k, (300, 50)))(jax.random.key(1))
    sd = (2.0 / 300) ** 0.5 / 0.87962566103423978
    want = sd * jax.random.truncated_normal(jax.random.key(1), -2.0, 2.0, (300, 50))
    np.testing.assert_allclose(np.asarray(out), np.asarray(want), rtol=1e-6)


def test_building_a_model_of_many_layer_kinds_compiles_nothing():
    L = hl.layers
    with count_compilations() as compiled:
        set_random_seed(0)
        model = hl.Sequential([
            hl.Input((8, 8, 3)), L.Conv2D(4, 3, padding="same"), L.BatchNormalization(), L.Dropout(0.2),
            L.MaxPooling2D(), L.Reshape((16, 4)), L.LSTM(5, return_sequences=True),
            L.GRU(3, return_sequences=True), L.SimpleRNN(3), L.LayerNormalization(), L.Dense(2)])
    assert compiled == [], compiled
    lstm = model.layers[5]
    np.testing.assert_array_equal(np.asarray(lstm.bias.get_value())[5:10], 1.0)  # unit_forget_bias
