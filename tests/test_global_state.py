"""Global state is per thread and ``hl.utils.clear_session()`` resets it (keras ``global_state.py``)."""

import threading

import jax
import numpy as np
import pytest

import highlevel as hl
from highlevel.layers.base import call_context, current_context
from highlevel.training.data import ArrayAdapter
from highlevel.utils import global_state
from highlevel.utils import random as hl_random


def _in_thread(fn):
    """``fn()`` run in a new thread: its result, or its exception raised here."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _key_data(key) -> list[int]:
    return np.asarray(jax.random.key_data(key)).ravel().tolist()


def test_clear_session_resets_default_layer_and_model_names():
    hl.layers.Dense(2)
    assert hl.layers.Dense(2).name.startswith("dense_")
    hl.Sequential([hl.layers.Dense(1)])
    hl.utils.clear_session()
    assert [hl.layers.Dense(2).name, hl.layers.Dense(2).name] == ["dense", "dense_1"]
    assert hl.layers.Conv2D(2, 3).name == "conv2d"
    assert hl.Sequential([hl.layers.Dense(1)]).name == "sequential"


def test_clear_session_unseeds_the_global_generator_and_empties_the_caches():
    hl.utils.set_random_seed(0)
    seeded = _key_data(hl_random.next_key())
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), batch_size=4, verbose=0)
    list(ArrayAdapter(np.ones((8, 3), "float32"), np.ones(8, "float32"), batch_size=4).batches())
    caches = ("batch_constants", "layer_call_params", "key_data_shapes", "layer_name_counts")
    assert all(global_state.get_global_attribute(name) for name in caches)
    hl.utils.clear_session(free_memory=False)
    assert [global_state.get_global_attribute(name) for name in caches] == [None] * len(caches)
    # Unseeded, as at the start of a process: a fresh seed, until set_random_seed again.
    fresh = hl_random.global_generator()
    assert fresh.count == 0 and hl_random.global_generator() is fresh
    hl.utils.set_random_seed(0)
    assert _key_data(hl_random.next_key()) == seeded
    # A model built before still trains.
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), batch_size=4, verbose=0)


def test_clear_session_inside_a_strategy_block():
    with hl.distribute.DataParallel() as strategy:
        assert hl.distribute.current() is strategy
        hl.utils.clear_session(free_memory=False)
        assert hl.distribute.current() is None
    assert hl.distribute.current() is None


def test_names_random_streams_and_contexts_are_per_thread():
    hl.utils.clear_session(free_memory=False)
    hl.utils.set_random_seed(5)
    assert [hl.layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    with call_context(training=True), hl.distribute.DataParallel():
        # Another thread sees no call context and no strategy, and its own names and stream.
        theirs = _in_thread(lambda: (current_context(), hl.distribute.current(),
                                     [hl.layers.Dense(1).name for _ in range(2)],
                                     hl_random.global_generator().seed))
        assert current_context().training
    context, strategy, names, _ = theirs
    assert context is None and strategy is None
    assert names == ["dense", "dense_1"] and hl.layers.Dense(1).name == "dense_3"
    # A thread that seeds itself draws the same keys as this one seeded alike, and does not
    # move this thread's stream.
    position = hl_random.global_generator().count
    theirs = _in_thread(lambda: (hl.utils.set_random_seed(9), _key_data(hl_random.next_key()))[1])
    assert hl_random.global_generator().seed == 5 and hl_random.global_generator().count == position
    hl.utils.set_random_seed(9)
    assert _key_data(hl_random.next_key()) == theirs


def test_use_generator_lends_a_stream_for_a_block():
    hl.utils.set_random_seed(1)
    first = _key_data(hl_random.next_key())
    member = hl_random.SeedGenerator(7)
    with hl_random.use_generator(member) as gen:
        assert gen is member and hl_random.global_generator() is member
        layer = hl.layers.Dense(3)
        layer.build((None, 2))
        seed = hl_random.seed_from_global()
    assert member.count == 3  # the kernel's key, the bias's, then the seed
    # The same weights and seed as a member built alone after set_random_seed(7).
    hl.utils.set_random_seed(7)
    alone = hl.layers.Dense(3)
    alone.build((None, 2))
    np.testing.assert_array_equal(alone.get_weights()[0], layer.get_weights()[0])
    assert hl_random.seed_from_global() == seed
    # The global stream went on from where it was.
    hl.utils.set_random_seed(1)
    assert _key_data(hl_random.next_key()) == first
    with pytest.raises(RuntimeError), hl_random.use_generator(hl_random.SeedGenerator(3)):
        raise RuntimeError
    assert hl_random.global_generator().seed == 1
    with pytest.raises(TypeError, match="SeedGenerator"):
        with hl_random.use_generator(3):
            pass


def test_seed_generator_streams_are_fixed_by_seed_and_position():
    a, b = hl_random.SeedGenerator(11), hl_random.SeedGenerator(11)
    assert [_key_data(a.next()) for _ in range(3)] == [_key_data(b.next()) for _ in range(3)]
    words = np.random.SeedSequence([11, 3]).generate_state(2, np.uint32).tolist()
    assert a.count == 3 and _key_data(a.next()) == words
    assert a.next_seed() == int(np.random.SeedSequence([11, 4]).generate_state(1)[0] % (2**31 - 1))
    assert repr(a) == "SeedGenerator(seed=11, count=5)"
