"""Which hooks run, when, and with what logs: Keras's protocol (``{}`` for absent logs, every
per-batch hook, the on_test_* hooks during fit's validation), and the progress bar's refresh."""

import numpy as np

import highlevel as hl
from highlevel.training.progress import ProgbarLogger


class Recorder(hl.callbacks.Callback):
    """Records every hook call with its logs (a copy)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, hook, *args):
        logs = args[-1]
        self.calls.append((hook,) + tuple(args[:-1]) + (None if logs is None else dict(logs),))


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
              "on_predict_end"):
    setattr(Recorder, _hook, lambda self, logs=None, _h=_hook: self._record(_h, logs))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(Recorder, _hook, lambda self, index, logs=None, _h=_hook: self._record(_h, index, logs))


def _model():
    model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def test_hooks_get_empty_dicts_not_none_and_every_batch_hook_runs():
    x, y = np.ones((6, 2), "float32"), np.ones((6, 1), "float32")
    model, rec = _model(), Recorder()
    model.fit(x, y, batch_size=3, epochs=1, verbose=0, callbacks=[rec])
    model.evaluate(x, y, batch_size=3, verbose=0, callbacks=[rec])
    model.predict(x, batch_size=3, verbose=0, callbacks=[rec])
    hooks = [c[0] for c in rec.calls]
    assert hooks == ["on_train_begin", "on_epoch_begin",
                     "on_train_batch_begin", "on_train_batch_end", "on_train_batch_begin", "on_train_batch_end",
                     "on_epoch_end", "on_train_end",
                     "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_batch_begin",
                     "on_test_batch_end", "on_test_end",
                     "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
                     "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"], hooks
    assert all(c[-1] is not None for c in rec.calls), [c for c in rec.calls if c[-1] is None]
    begins = {c[0]: c[-1] for c in rec.calls if c[0] in ("on_train_begin", "on_epoch_begin", "on_test_begin",
                                                         "on_predict_begin", "on_train_batch_begin")}
    assert all(logs == {} for logs in begins.values()), begins


def test_fit_validation_runs_the_test_hooks_with_unprefixed_logs():
    x, y = np.ones((6, 2), "float32"), np.ones((6, 1), "float32")
    model, rec = _model(), Recorder()
    history = model.fit(x, y, batch_size=3, epochs=2, validation_data=(x[:4], y[:4]), validation_freq=2,
                        verbose=0, callbacks=[rec])
    hooks = [c[0] for c in rec.calls if not c[0].startswith("on_train_batch")]
    assert hooks == ["on_train_begin", "on_epoch_begin", "on_epoch_end",
                     "on_epoch_begin", "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                     "on_test_batch_begin", "on_test_batch_end", "on_test_end", "on_epoch_end",
                     "on_train_end"], hooks
    test_end = next(c for c in rec.calls if c[0] == "on_test_end")[-1]
    assert set(test_end) == {"loss", "mae"}
    assert test_end["loss"] == history.history["val_loss"][-1]


def test_no_batch_hooks_run_unless_a_callback_overrides_them():
    calls = []

    class EpochOnly(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            calls.append(epoch)

    x, y = np.ones((6, 2), "float32"), np.ones((6, 1), "float32")
    model = _model()
    model.fit(x, y, batch_size=2, epochs=2, validation_data=(x, y), verbose=0, callbacks=[EpochOnly()])
    reads = model.trainer.metric_reads
    assert calls == [0, 1]
    assert reads == 4   # the epoch-end reads only: training and validation metrics, twice


class FakeClock:
    """A clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_progress_bar_refreshes_running_metrics_at_its_own_rate():
    # 300 steps, the clock advancing 0.01 s per read: the bar must show fresh values about every
    # 0.5 s (a few times a second), each read of the device a refresh, never one per step.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 2)).astype("float32")
    y = x.sum(1, keepdims=True)
    model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse")
    shown = []

    class Spy(ProgbarLogger):
        def _new_bar(self, total, desc):
            bar = super()._new_bar(total, desc)
            original = bar.set_postfix_str

            def record(text, refresh=True):
                shown.append((bar.n, text))
                return original(text, refresh)

            bar.set_postfix_str = record
            return bar

    bar = Spy(verbose=1, refresh_seconds=0.5, clock=FakeClock(0.01))
    reads_before = model.trainer.metric_reads
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[bar])
    during = shown[:-1]   # the last is the epoch end's
    steps = [n for n, _ in during]
    assert 4 <= len(during) <= 8, steps   # 300 steps x 0.01 s = 3 s at one refresh per 0.5 s
    assert all(b - a >= 40 for a, b in zip(steps, steps[1:])), steps
    losses = [float(text.split("loss: ")[1]) for _, text in during]
    assert len(set(losses)) == len(losses) and losses[-1] < losses[0] / 2, losses   # running values
    assert model.trainer.metric_reads - reads_before == len(during) + 1   # + the epoch end's read
    assert bar.refreshes == len(during)
