"""Throughput: samples/s, step time, compilation time and MFU measured on the host between epochs."""

import numpy as np
import pytest

import highlevel as hl
from compile_count import count_compilations
from highlevel.training.throughput import THROUGHPUT_KEYS, Throughput


def _model(units=8):
    model = hl.Sequential([hl.Input((16,)), hl.layers.Dense(units, activation="relu"), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.fixture(autouse=True)
def _no_peak():
    hl.backend.set_peak_flops(None)
    yield
    hl.backend.set_peak_flops(None)


def test_counts_the_samples_and_batches_of_each_epoch(rng):
    x = rng.standard_normal((100, 16)).astype(np.float32)   # 13 batches of 8, the last one 4 rows
    y = x[:, :1]
    for spe, device_data in ((1, True), (4, True), (4, False), (1, False)):
        model = _model()
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=spe)
        model.trainer.device_data = device_data
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        meter = model.trainer.throughput
        assert (meter.samples, meter.batches) == (100, 13), (spe, device_data)
        last = meter.last
        assert set(last) == {"samples_per_second", "step_time", "train_time", "compile_time"}
        running = last["train_time"] - last["compile_time"]
        assert last["samples_per_second"] == pytest.approx(100 / running)
        assert last["step_time"] == pytest.approx(running / 13)


def test_end_epoch_on_a_stopped_epoch_counts_what_ran():
    class Adapter:
        num_samples, num_batches, batch_size = 100, 13, 8

    meter = Throughput(trainer=type("T", (), {"distribution": None, "state": None})())
    meter.begin_epoch(Adapter(), steps_per_execution=4, first=0)
    meter.end_epoch(executions=2)            # two groups of 4 batches, then stop_training
    assert (meter.samples, meter.batches) == (64, 8)
    meter.begin_epoch(Adapter(), steps_per_execution=4, first=1)   # resumed after the first group
    meter.end_epoch(executions=4)            # groups 2 and 3, then the last (one batch of 4 rows)
    assert (meter.samples, meter.batches) == (68, 9)
    meter.begin_epoch(Adapter(), steps_per_execution=1, first=12)
    meter.end_epoch(executions=13)
    assert (meter.samples, meter.batches) == (4, 1)


def test_compile_time_is_jax_compile_events_and_falls_to_zero(rng):
    x = rng.standard_normal((64, 16)).astype(np.float32)
    model = _model()
    model.trainer.log_throughput = True
    with count_compilations() as compiled:
        history = model.fit(x, x[:, :1], batch_size=16, epochs=3, verbose=0)
    first, *rest = history.history["compile_time"]
    assert compiled and first > 0          # the step compiled in epoch 1 and nowhere else
    assert rest == [0.0, 0.0]
    assert all(t > c for t, c in zip(history.history["train_time"], history.history["compile_time"]))


def test_log_throughput_puts_it_in_the_logs_and_costs_no_compile_or_read(rng):
    x = rng.standard_normal((64, 16)).astype(np.float32)
    plain = _model()
    plain.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    logged = _model()
    logged.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    logged.trainer.log_throughput = True
    reads = plain.trainer.metric_reads, logged.trainer.metric_reads
    with count_compilations() as a:
        history = plain.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
    with count_compilations() as b:
        logged_history = logged.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
    assert a == b == []
    assert plain.trainer.metric_reads - reads[0] == logged.trainer.metric_reads - reads[1] == 2
    assert set(history.history) == {"loss", "learning_rate"}     # off by default: the Keras logs
    assert set(logged_history.history) == {"loss", "learning_rate", *THROUGHPUT_KEYS} - {"mfu"}
    assert logged_history.history["samples_per_second"][-1] == logged.trainer.throughput.last["samples_per_second"]


def test_mfu_is_xla_flops_over_time_and_peak(rng):
    x = rng.standard_normal((256, 64)).astype(np.float32)
    model = hl.Sequential([hl.Input((64,)), hl.layers.Dense(32)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :32], batch_size=128, epochs=1, verbose=0)
    assert "mfu" not in model.trainer.throughput.last           # a CPU's peak is not known
    hl.backend.set_peak_flops(1e11)
    model.trainer.log_throughput = True
    with count_compilations() as compiled:
        history = model.fit(x, x[:, :32], batch_size=128, epochs=2, verbose=0)
    assert compiled == []                 # the FLOPs come from the lowered step, nothing compiles
    flops = model.trainer.throughput.flops_per_step
    forward = 2 * 128 * 64 * 32           # the matmul; its weight gradient is as much again
    assert flops == 2 * forward
    xla = model.trainer.lower_train_step().cost_analysis()["flops"]   # XLA:CPU's count adds elementwise work
    assert 0.9 * xla <= flops <= xla
    last = model.trainer.throughput.last
    expected = flops * 2 / (last["train_time"] - last["compile_time"]) / 1e11
    assert history.history["mfu"][-1] == pytest.approx(expected)


def test_model_flops_count_loops_as_often_as_they_run(rng):
    """An LSTM's time loop: XLA's cost analysis counts its body once; the model FLOPs are the
    hand-counted forward pass over 50 steps, and twice that backward."""
    x = rng.standard_normal((32, 50, 8)).astype(np.float32)
    model = hl.Sequential([hl.Input((50, 8)), hl.layers.LSTM(16), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    hl.backend.set_peak_flops(1e11)
    model.fit(x, x[:, 0, :1], batch_size=32, epochs=1, verbose=0)
    forward = 2 * 32 * 50 * (8 * 64 + 16 * 64) + 2 * 32 * 16   # the gates' two matmuls per step, the Dense
    assert model.trainer.throughput.flops_per_step == pytest.approx(3 * forward, rel=1e-6)
    assert model.trainer.lower_train_step().cost_analysis()["flops"] < 0.5 * 3 * forward   # the loop once


def test_peak_flops_table_and_overrides(monkeypatch):
    class Device:
        device_kind = "NVIDIA H100 PCIe"

    assert hl.backend.peak_flops("float32", Device()) == 378e12
    assert hl.backend.peak_flops("bfloat16", Device()) == 756e12
    Device.device_kind = "NVIDIA H200"
    assert hl.backend.peak_flops(device=Device()) == 494.7e12
    Device.device_kind = "cpu"
    assert hl.backend.peak_flops(device=Device()) is None
    monkeypatch.setenv("HIGHLEVEL_PEAK_FLOPS", "2.5e11")
    assert hl.backend.peak_flops(device=Device()) == 2.5e11
    monkeypatch.setenv("HIGHLEVEL_PEAK_FLOPS", "fast")
    with pytest.raises(ValueError, match="HIGHLEVEL_PEAK_FLOPS must be a positive number of FLOP/s"):
        hl.backend.peak_flops(device=Device())
    with pytest.raises(ValueError, match="set_peak_flops's value must be a positive number"):
        hl.backend.set_peak_flops(-1)


def test_progress_shows_step_time_and_samples_per_second(rng, capsys):
    x = rng.standard_normal((64, 16)).astype(np.float32)
    model = _model()
    model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "ms/step - " in out and " samples/s - loss: " in out


def test_tensorboard_gets_the_throughput_and_the_plot_leaves_it_out(rng, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    x = rng.standard_normal((64, 16)).astype(np.float32)
    model = _model()
    history = model.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0,
                        callbacks=[hl.callbacks.TensorBoard(tmp_path)])
    events = EventAccumulator(str(tmp_path / "train"))
    events.Reload()
    assert [e.step for e in events.Scalars("epoch_samples_per_second")] == [0, 1]
    assert events.Scalars("epoch_step_time")[-1].value == pytest.approx(model.trainer.throughput.last["step_time"])
    model.trainer.log_throughput = True
    history = model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    import matplotlib.pyplot as plt
    fig = history.plot()
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["loss"]
    plt.close(fig)
