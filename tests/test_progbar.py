"""hl.utils.Progbar prints what keras.utils.Progbar prints, on the same clock."""

import types

import numpy as np

import pytest

import highlevel as hl

keras = pytest.importorskip("keras")
from keras.src.utils import progbar as keras_progbar  # noqa: E402


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _run(make, clock, steps, calls):
    bar = make()
    for kind, arg, values in calls:
        clock.now += steps
        getattr(bar, kind)(arg, values)
    return bar


CALLS = [("update", 1, [("loss", 2.0), ("acc", 0.25)]), ("add", 2, [("loss", 1.0), ("acc", 0.5)]),
         ("update", 4, [("loss", 0.5), ("acc", 0.0001)]), ("add", 1, [("loss", 0.1), ("acc", 0.75)])]


@pytest.mark.parametrize("target,verbose,step,kwargs", [
    (5, 1, 0.3, {}), (5, 2, 0.3, {}), (None, 1, 2.5, {}), (5, 1, 0.0004, dict(stateful_metrics=["acc"])),
    (5, 2, 70.0, dict(stateless_metrics=["loss"], unit_name="batch")), (1000, 1, 40.0, dict(width=10))])
def test_output_matches_keras(capsys, monkeypatch, target, verbose, step, kwargs):
    clock = Clock()
    monkeypatch.setattr(keras_progbar, "time", types.SimpleNamespace(time=clock))
    _run(lambda: keras_progbar.Progbar(target, verbose=verbose, **kwargs), clock, step, CALLS)
    theirs = capsys.readouterr().out
    clock.now = 100.0
    _run(lambda: hl.utils.Progbar(target, verbose=verbose, clock=clock, **kwargs), clock, step, CALLS)
    ours = capsys.readouterr().out
    assert ours == theirs
    assert ours or target is None and verbose == 2


def test_interval_skips_redraws_and_errors(capsys):
    clock = Clock()
    bar = hl.utils.Progbar(10, interval=1.0, clock=clock)
    bar.update(1)
    clock.now += 0.5
    bar.update(2)   # within the interval: nothing drawn
    assert capsys.readouterr().out.count("/10") == 1
    with pytest.raises(ValueError, match="stateful_metrics .* or stateless_metrics .*not both"):
        hl.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2, got 3"):
        hl.utils.Progbar(3, verbose=3)


def test_interactive_logging_switch(capsys, caplog):
    assert hl.utils.is_interactive_logging_enabled() == keras.utils.is_interactive_logging_enabled() is True
    hl.utils.disable_interactive_logging()
    try:
        assert not hl.utils.is_interactive_logging_enabled()
        with caplog.at_level("INFO", logger="highlevel"):
            bar = hl.utils.Progbar(2, verbose=2)
            bar.update(2, [("loss", 0.5)])
            model = hl.models.Sequential([hl.layers.Input((2,)), hl.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=1)
        assert capsys.readouterr().out == ""
        lines = [r.getMessage() for r in caplog.records if r.name == "highlevel"]
        assert lines[0].startswith("2/2 - ") and lines[0].endswith("loss: 0.5000")
        assert lines[1].startswith("Epoch 1/1 - ") and "loss:" in lines[1]
    finally:
        hl.utils.enable_interactive_logging()
    hl.utils.disable_interactive_logging()
    hl.utils.clear_session()   # as Keras's, a new session logs interactively again
    assert hl.utils.is_interactive_logging_enabled()
