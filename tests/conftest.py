"""Test settings: Keras (the oracle) on its JAX backend, strict numerics."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _seed():
    import highlevel as hl
    hl.utils.set_random_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# Scripts that tests run in subprocesses: never imported here (``--doctest-modules`` would
# import them, and distribute_script.py sets XLA_FLAGS for 8 devices and runs at import).
collect_ignore_glob = ["*_script.py", "keras_programs/*"]
