"""Random initializers: the same values as a direct draw, with one compilation per size bucket."""

import jax
import numpy as np
import pytest

import highlevel as hl
from tests.compile_count import count_compilations

SHAPES = [(3,), (7, 5), (3, 3, 16, 32), (1000, 10)]


@pytest.mark.parametrize("name,direct", [
    ("random_normal", lambda k, s: 0.05 * jax.random.normal(k, s)),
    ("random_uniform", lambda k, s: jax.random.uniform(k, s, minval=-0.05, maxval=0.05)),
    ("truncated_normal", lambda k, s: 0.05 * jax.random.truncated_normal(k, -2.0, 2.0, s)),
    ("he_normal", None), ("glorot_uniform", None), ("lecun_normal", None)])
def test_bucketed_draws_equal_direct_draws_bit_for_bit(name, direct):
    init = hl.initializers.get(name)
    key = jax.random.key(7)
    for shape in SHAPES:
        got = np.asarray(init(key, shape))
        if direct is None:  # VarianceScaling: the same formula drawn at the exact shape
            fan_in, fan_out = hl.initializers._fans(shape)
            n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init.mode]
            var = init.scale / max(1.0, n)
            if init.distribution == "uniform":
                want = jax.random.uniform(key, shape, minval=-(3 * var) ** 0.5, maxval=(3 * var) ** 0.5)
            else:
                want = (var ** 0.5 / 0.87962566103423978) * jax.random.truncated_normal(key, -2.0, 2.0, shape)
        else:
            want = direct(key, shape)
        np.testing.assert_array_equal(got, np.asarray(want), err_msg=f"{name} {shape}")


def test_building_many_shapes_compiles_one_sampler_per_size_bucket():
    init = hl.initializers.get("glorot_uniform")
    key = jax.random.key(0)
    init(key, (4, 4))  # warm the key path
    shapes = [(3, 3, c, c * 2) for c in range(9, 16)]  # 7 shapes, sizes 1458..4050: 2 buckets
    with count_compilations() as compiled:
        for shape in shapes:
            init(key, shape)
    assert len(compiled) <= 2, compiled


def test_under_a_trace_it_draws_directly():
    init = hl.initializers.get("he_normal")
    out = jax.jit(lambda k: init(k, (3, 5)))(jax.random.key(1))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(init(jax.random.key(1), (3, 5))))
