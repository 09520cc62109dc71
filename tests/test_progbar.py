"""hl.utils.Progbar prints what keras.utils.Progbar prints, on the same clock."""

import types

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
