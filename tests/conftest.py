"""Test settings: Keras (the oracle) on its JAX backend, strict numerics."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from jax.experimental.compilation_cache import compilation_cache as _jax_cache  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


def _share_compilations_between_workers() -> None:
    """One persistent compilation cache for the whole run, shared by the xdist workers.

    Most of the suite's time is XLA compiling (70% of three layer/loss files' time, 1,400
    compilations, mostly small ops that Keras's and our eager calls share); a program one
    worker compiled is read back by the other. The first process (the xdist controller, or
    the only one) makes the directory and removes it at exit, so every run starts empty:
    nothing is carried between runs. ``compile_count.count_compilations`` turns the cache
    off inside its block, so counted compilations are real ones. Set
    ``HIGHLEVEL_TEST_JAX_CACHE=off`` to run without it. Subprocesses do not use it (jax's
    own environment variables are left unset).
    """
    path = os.environ.get("HIGHLEVEL_TEST_JAX_CACHE")
    if path == "off":
        return
    if not path:
        path = tempfile.mkdtemp(prefix="highlevel-test-jax-cache-")
        os.environ["HIGHLEVEL_TEST_JAX_CACHE"] = path
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _jax_cache.reset_cache()   # in case something compiled before this ran


_share_compilations_between_workers()


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
