"""The framework's speed checks: how many steps to fuse, no recompilation, no host transfer per
step, the persistent compilation cache. Each check is also shown failing on a deliberately
broken step, so that a passing check means something. No timings here (they belong in
benchmarks/)."""

import contextlib
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import highlevel as hl
from highlevel.training import auto
from highlevel.training.auto import choose_steps_per_execution
from tests.compile_count import count_compilations

ON_CPU = jax.default_backend() == "cpu"


def _tiny():
    return hl.Sequential([hl.Input((20,)), hl.layers.Dense(32, activation="relu"), hl.layers.Dense(1)])


def _small_cnn():
    return hl.Sequential([hl.Input((12, 12, 1)), hl.layers.Conv2D(8, 3, activation="relu"),
                          hl.layers.Flatten(), hl.layers.Dense(3)])


def _dropout_mlp():
    return hl.Sequential([hl.Input((4,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dropout(0.2),
                          hl.layers.Dense(1)])


# -- steps_per_execution="auto" ------------------------------------------------------------


def test_auto_fuses_small_dense_steps_on_cpu_and_never_convolutions():
    assert choose_steps_per_execution(2e5, False, "cpu", 1024) == 32       # the tiny 20-32-1 model
    assert choose_steps_per_execution(2e5, False, "cpu", 10) == 10         # the whole epoch in one call
    assert choose_steps_per_execution(2e5, False, "cpu", 1) == 1
    assert choose_steps_per_execution(4.2e8, False, "cpu", 1024) == 1      # the MLP 784-512-512-10
    assert choose_steps_per_execution(1e6, True, "cpu", 1024) == 1         # any convolution on XLA:CPU
    assert choose_steps_per_execution(None, False, "cpu", 1024) == 1       # unknown cost: do not risk it


def test_auto_fuses_on_accelerators_convolutions_included_unless_the_step_is_long():
    assert choose_steps_per_execution(6e9, True, "gpu", 1024) == 32
    assert choose_steps_per_execution(6e9, True, "tpu", 1024) == 32
    assert choose_steps_per_execution(1e12, True, "gpu", 1024) == 1        # ~1 s of device time a step
    assert choose_steps_per_execution(2e5, False, "METAL", 1024) == 1      # an unknown backend: no fusion


def test_auto_picks_few_calls_per_epoch_and_caps_the_group_size():
    assert choose_steps_per_execution(2e5, False, "cpu", 100) == 25        # 4 calls, not 3 + 4 singles
    assert choose_steps_per_execution(2e5, False, "cpu", 40) == 20
    assert choose_steps_per_execution(2e5, False, "cpu", None) == 32       # an iterable without length
    big = auto.MAX_GROUP_BYTES // 4                                        # 4 batches fill the budget
    assert choose_steps_per_execution(1e6, False, "gpu", 1024, batch_bytes=big) == 4
    assert choose_steps_per_execution(1e6, False, "gpu", 1024, batch_bytes=auto.MAX_GROUP_BYTES) == 1


def test_flops_come_from_xla_or_from_an_estimate():
    lowered = jax.jit(lambda w, x: x @ w).lower(np.ones((20, 32), np.float32), np.ones((8, 20), np.float32))
    flops = auto.flops_of(lowered)
    if flops is None:
        assert not ON_CPU   # XLA:CPU analyzes lowered programs; GPU backends only compiled ones
        flops = auto.flops_of(lowered.compile())
    assert flops == pytest.approx(2 * 8 * 20 * 32, rel=0.1)

    class NoCostAnalysis:
        def cost_analysis(self):
            raise NotImplementedError("not on this backend")

    assert auto.flops_of(NoCostAnalysis()) is None
    assert auto.estimate_flops(num_params=705, batch_size=32) == 6 * 705 * 32
    assert auto.has_convolution(_small_cnn()) and not auto.has_convolution(_tiny())


def test_auto_resolves_to_fusion_for_the_tiny_model_and_not_for_a_cnn(rng):
    x = rng.standard_normal((32 * 32, 20)).astype(np.float32)   # 32 batches an epoch
    tiny = _tiny()
    tiny.compile(optimizer="adam", loss="mse", steps_per_execution="auto")
    tiny.fit(x, x[:, :1], batch_size=32, epochs=1, verbose=0)
    assert tiny.trainer.steps_per_execution == 32

    images = rng.standard_normal((64, 12, 12, 1)).astype(np.float32)
    cnn = _small_cnn()
    cnn.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                steps_per_execution="auto")
    cnn.fit(images, rng.integers(0, 3, 64), batch_size=8, epochs=1, verbose=0)
    assert cnn.trainer.steps_per_execution == (1 if ON_CPU else 8)


# -- no recompilation ----------------------------------------------------------------------


def assert_no_recompilation(run, warm_up=None) -> None:
    """The check the real tests make: after a first run (``warm_up``, by default ``run``
    itself), ``run`` compiles nothing."""
    (warm_up or run)()
    with count_compilations() as compiled:
        run()
    assert compiled == [], f"recompiled: {compiled}"


class _ScheduleEveryStep(hl.callbacks.Callback):
    """Changes the learning rate and the dropout rate before every step."""

    def __init__(self, python_float_into_state: bool = False):
        super().__init__()
        self.raw = python_float_into_state

    def on_train_batch_begin(self, batch, logs=None):
        rate = 0.1 + 0.01 * (batch % 5)
        self.model.optimizer.learning_rate = 1e-3 * (batch + 1)
        if self.raw:
            # The bug: a Python float written straight into the step's state changes the
            # argument's type (a weakly typed scalar), so the step compiles again.
            self.model.layers[1]._rate.set_value(rate)
        else:
            self.model.layers[1].rate = rate   # keeps the dtype and shape: no recompilation


def test_changing_hyperparameters_every_step_compiles_nothing(rng):
    x = rng.standard_normal((64, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse")
    assert_no_recompilation(lambda: model.fit(x, x[:, :1], batch_size=8, epochs=2, verbose=0,
                                              callbacks=[_ScheduleEveryStep()]),
                            warm_up=lambda: model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0))


def test_the_recompilation_check_catches_a_python_float_hyperparameter(rng):
    x = rng.standard_normal((64, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse")
    bad = _ScheduleEveryStep(python_float_into_state=True)
    with pytest.raises(AssertionError, match="recompiled"):
        assert_no_recompilation(lambda: model.fit(x, x[:, :1], batch_size=8, epochs=2, verbose=0,
                                                  callbacks=[bad]),
                                warm_up=lambda: model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0))


def test_the_recompilation_check_catches_a_step_compiled_every_call(rng, monkeypatch):
    from highlevel.training.state import FlatStep
    x = rng.standard_normal((64, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    # The bug: a new jax.jit (a new function to jax) made for every call.
    monkeypatch.setattr(FlatStep, "_jit_for",
                        lambda self, treedef, keys=(): jax.jit(self._flat_fn(treedef, keys), donate_argnums=0))
    with count_compilations() as compiled:
        model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    assert compiled.count("jit(train_step)") == 4   # every one of the 4 steps compiled
    with pytest.raises(AssertionError, match="recompiled"):
        assert_no_recompilation(lambda: model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0))


# -- no host transfer per step ---------------------------------------------------------------


@contextlib.contextmanager
def count_host_reads():
    """Counts device-to-host copies of jax arrays: ``np.asarray``, ``float()``, ``jax.device_get``
    all materialize an array's host value once, through ``ArrayImpl._value``."""
    from jax._src.array import ArrayImpl
    original = ArrayImpl._value
    reads: list = []

    def _value(self):
        if getattr(self, "_npy_value", None) is None:
            reads.append(self.shape)
        return original.fget(self)

    ArrayImpl._value = property(_value)
    try:
        yield reads
    finally:
        ArrayImpl._value = original


def host_reads_per_epoch(model, x, y, callbacks=()) -> list[int]:
    """Host reads of a 2-epoch fit with 2 steps an epoch and with 32 steps an epoch."""
    model.fit(x, y, batch_size=len(x) // 2, epochs=1, verbose=0)
    model.fit(x, y, batch_size=len(x) // 32, epochs=1, verbose=0)
    counts = []
    for batch_size in (len(x) // 2, len(x) // 32):
        with count_host_reads() as reads:
            model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, callbacks=list(callbacks))
        counts.append(len(reads))
    return counts


def assert_host_reads_do_not_grow_with_steps(counts: list[int]) -> None:
    assert counts[0] == counts[1] and counts[0] > 0, f"host reads per fit: {counts} for 2 and 32 steps an epoch"


class _ReadLossEveryStep(hl.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])   # the bug: a device-to-host copy after every step


def test_host_reads_per_epoch_do_not_grow_with_steps(rng):
    x = rng.standard_normal((256, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    assert_host_reads_do_not_grow_with_steps(host_reads_per_epoch(model, x, x[:, :1]))


def test_the_host_read_check_catches_a_read_every_step(rng):
    x = rng.standard_normal((256, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    counts = host_reads_per_epoch(model, x, x[:, :1], callbacks=[_ReadLossEveryStep()])
    with pytest.raises(AssertionError, match="host reads per fit"):
        assert_host_reads_do_not_grow_with_steps(counts)


class _HostProbe(hl.layers.Layer):
    """Sends its input to the host inside the compiled step (the bug the check must catch)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._probe = lambda v: None

    def call(self, inputs, training=False):
        jax.debug.callback(self._probe, inputs.sum())
        return inputs


def host_callbacks_in_train_step(model, x, y) -> int:
    """Host callbacks (device-to-host transfers) in the compiled train step's program."""
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    text = model.trainer.lower_train_step().as_text()
    return text.count("python_cpu_callback") + text.count("python_gpu_callback")


def test_the_train_step_has_no_host_callback_and_the_check_finds_one(rng):
    x = rng.standard_normal((32, 4)).astype(np.float32)
    good = _dropout_mlp()
    good.compile(optimizer="adam", loss="mse")
    assert host_callbacks_in_train_step(good, x, x[:, :1]) == 0
    bad = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8), _HostProbe(), hl.layers.Dense(1)])
    bad.compile(optimizer="adam", loss="mse")
    assert host_callbacks_in_train_step(bad, x, x[:, :1]) > 0


@pytest.mark.skipif(ON_CPU, reason="XLA:CPU shares host memory: the transfer guard never fires there")
def test_no_implicit_transfer_in_fit_and_the_guard_catches_one(rng, monkeypatch):
    x = rng.standard_normal((256, 4)).astype(np.float32)
    model = _dropout_mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, x[:, :1], batch_size=8, epochs=1, validation_data=(x[:64], x[:64, :1]), verbose=0)
    with jax.transfer_guard("disallow"):   # the loop itself: batches and metric resets copied explicitly
        model.fit(x, x[:, :1], batch_size=8, epochs=2, validation_data=(x[:64], x[:64, :1]), verbose=0)
        model.evaluate(x, x[:, :1], batch_size=8, verbose=0)
    with jax.transfer_guard_device_to_host("disallow"):   # setters copy their Python floats to the device
        model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0, callbacks=[_ScheduleEveryStep()])

    class ImplicitRead(hl.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            np.asarray(self.model.trainer.state.step)   # an implicit device-to-host copy

    with jax.transfer_guard("disallow"), pytest.raises(Exception, match="[Dd]isallowed"):
        model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0, callbacks=[ImplicitRead()])
    # Host batches handed to the step without an explicit copy (the CPU shortcut) are caught too.
    from highlevel.training import _loop
    monkeypatch.setattr(_loop, "prefetch_to_device", lambda batches, size=2: iter(batches))
    with jax.transfer_guard("disallow"), pytest.raises(Exception, match="[Dd]isallowed"):
        model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)


# -- persistent compilation cache ------------------------------------------------------------

_CACHE_CHILD = """
import json, sys
import jax, numpy as np
events = []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
import highlevel as hl
hl.utils.enable_compilation_cache(sys.argv[1])
x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, activation="relu"), hl.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, x[:, :1], batch_size=32, epochs=1, verbose=0)
print("EVENTS " + json.dumps({"hits": events.count("/jax/compilation_cache/cache_hits"),
                              "misses": events.count("/jax/compilation_cache/cache_misses")}))
"""


def _run_cache_child(cache_dir) -> dict:
    out = subprocess.run([sys.executable, "-c", _CACHE_CHILD, str(cache_dir)], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("EVENTS "))
    return json.loads(line[len("EVENTS "):])


def test_a_second_process_loads_the_compiled_step_from_the_cache(tmp_path):
    cache = tmp_path / "jax-cache"
    first = _run_cache_child(cache)
    entries = [name for name in os.listdir(cache) if "train_step" in name]
    assert first["misses"] > 0 and first["hits"] == 0 and entries, (first, os.listdir(cache))
    second = _run_cache_child(cache)
    assert second["hits"] >= first["misses"] and second["misses"] == 0, second


def test_enable_compilation_cache_rejects_a_file(tmp_path):
    path = tmp_path / "not-a-dir"
    path.write_text("")
    with pytest.raises(ValueError, match="needs a directory"):
        hl.utils.enable_compilation_cache(path)


# -- training data kept on the device --------------------------------------------------------


def _resident_vs_host(rng, **kw):
    x = rng.standard_normal((300, 6)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    results = []
    for device_data in (True, False):
        hl.utils.set_random_seed(0)
        model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dropout(0.3),
                               hl.layers.BatchNormalization(), hl.layers.Dense(3)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      steps_per_execution=kw.pop("spe", 1) if device_data else results[0][2])
        model.trainer.device_data = device_data
        sw = rng.random(300).astype(np.float32) if kw.get("weighted") else None
        if results:
            sw = results[0][3]
        history = model.fit(x, y, batch_size=32, epochs=2, shuffle=kw.get("shuffle", True), verbose=0,
                            sample_weight=sw)
        assert (model.trainer.data_on_device) == device_data
        results.append((model.get_weights(), history.history, model.trainer.steps_per_execution, sw))
    (a, ha, _, _), (b, hb, _, _) = results
    # The same rows, padding, masks and dropout keys; XLA may fuse the on-device gather into
    # the first layer's matmul, so the rounding (not the arithmetic) can differ.
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=2e-6)
    assert ha.keys() == hb.keys()
    for key in ha:
        np.testing.assert_allclose(ha[key], hb[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"spe": 4}, {"spe": 3, "shuffle": False}, {"weighted": True}, {"shuffle": "batch"}],
                         ids=["default", "fused-4-with-tail", "fused-3-unshuffled", "sample-weights", "batch-shuffle"])
def test_device_resident_data_trains_like_host_batches(rng, kw):
    """The step that gathers its own batch on the device sees the same rows, padding and mask
    as the batches the host builds: the same weights and history (dropout included)."""
    _resident_vs_host(rng, **kw)


def test_device_resident_data_copies_nothing_per_step(rng, monkeypatch):
    """With the data on the device, a step's call transfers nothing: the copies per fit are a
    fixed few (the data once, per epoch one index vector), not one per step."""
    x = rng.standard_normal((512, 4)).astype(np.float32)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, activation="relu"), hl.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    puts = []
    original = jax.device_put

    def counting(value, *args, **kwargs):   # host -> device copies only (not device copies)
        if any(not isinstance(leaf, jax.Array) for leaf in jax.tree_util.tree_leaves(value)):
            puts.append(1)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(jax, "device_put", counting)
    for epochs in (1, 4):
        puts.clear()
        with jax.transfer_guard("disallow"):
            model.fit(x, x[:, :1], batch_size=16, epochs=epochs, verbose=0)   # 32 steps per epoch
        assert model.trainer.data_on_device
        assert len(puts) <= 2 + 2 * epochs, (epochs, len(puts))   # the data; an index vector a epoch


def test_large_data_stays_on_the_host(rng):
    from highlevel.training import resident
    from highlevel.training.data import ArrayAdapter
    adapter = ArrayAdapter(np.zeros((1000, 10), np.float32), np.zeros(1000, np.float32))
    assert resident.fits_on_device(adapter, "cpu") and resident.fits_on_device(adapter, "gpu")
    assert not resident.fits_on_device(adapter, "cpu", limit=1000 * 11 * 4 - 1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.trainer.device_data = False
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert model.trainer.data_on_device is False
