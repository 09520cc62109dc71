"""Dropout's keep mask: 16-bit draws, two per random word, with the right keep probability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from highlevel.layers.base import keep_mask
from tests.compile_count import count_compilations


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.9])
def test_keep_fraction_matches_one_minus_rate(rate):
    mask = np.asarray(keep_mask(jax.random.key(0), rate, (1000, 501)))  # odd size: a half word left over
    n = mask.size
    sd = (rate * (1 - rate) / n) ** 0.5
    assert abs(mask.mean() - (1 - rate)) < 5 * sd + 1 / 65536


def test_edge_rates_and_determinism_and_independence():
    key = jax.random.key(3)
    assert bool(keep_mask(key, 0.0, (64, 64)).all())
    assert not bool(keep_mask(key, 1.0, (64, 64)).any())
    a, b = keep_mask(key, 0.5, (256, 256)), keep_mask(key, 0.5, (256, 256))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = np.asarray(keep_mask(jax.random.key(4), 0.5, (256, 256)))
    assert 0.45 < np.mean(np.asarray(a) == other) < 0.55  # unrelated masks agree half the time
    # The two halves of each word are not tied: neighbours agree as independent draws would.
    flat = np.asarray(a).ravel()
    assert 0.48 < np.mean(flat[0::2] == flat[1::2]) < 0.52


def test_a_traced_rate_changes_the_mask_without_recompiling():
    f = jax.jit(lambda key, rate: keep_mask(key, rate, (200, 300)).mean())
    key = jax.random.key(0)
    f(key, jnp.float32(0.1))
    with count_compilations() as compiled:
        fractions = [float(f(key, jnp.float32(r))) for r in (0.2, 0.6)]
    assert compiled == []
    np.testing.assert_allclose(fractions, [0.8, 0.4], atol=0.01)
