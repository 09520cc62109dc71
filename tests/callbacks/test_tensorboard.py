"""TensorBoard: event files read back with TensorBoard's own reader and its HParams backend."""

import glob
import os

import jax
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import metadata as hp_metadata

import highlevel as hl
from highlevel.callbacks.tensorboard import TensorBoard
from highlevel.training.callback import Callback

_ALL = {ea.SCALARS: 0, ea.TENSORS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0}


def _run(path) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(path), size_guidance=_ALL)
    acc.Reload()
    return acc


def _scalars(acc, tag):
    events = acc.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events])


def _open_files_under(path) -> list[str]:
    root = os.path.realpath(path)
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root):
            found.append(target)
    return found


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")


def _classifier():
    return hl.Sequential([hl.Input((4,)), hl.layers.Dense(8, activation="relu", name="hidden"),
                          hl.layers.Dropout(0.1, name="drop"), hl.layers.BatchNormalization(name="bn"),
                          hl.layers.Dense(3, name="logits")])


def _data(rng, n):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0).astype(np.int32)


class _Schedule(Callback):
    """Changes the dropout rate and the learning rate at each epoch begin."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.get_layer("drop").rate = 0.1 * (epoch + 1)
        self.model.optimizer.learning_rate = 0.02 / (epoch + 1)


def _fit_classifier(tmp_path, rng, **tb_kwargs):
    x, y = _data(rng, 48)
    vx, vy = _data(rng, 16)
    model = _classifier()
    model.compile(optimizer=hl.optimizers.Adam(0.02),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    tb = TensorBoard(tmp_path / "logs", **tb_kwargs)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_data=(vx, vy), callbacks=[_Schedule(), tb],
                        verbose=0)
    return model, tb, history


def test_epoch_scalars_equal_history_in_train_and_validation_runs(tmp_path, rng):
    model, tb, history = _fit_classifier(tmp_path, rng)
    h = history.history
    train, validation = _run(tmp_path / "logs" / "train"), _run(tmp_path / "logs" / "validation")
    for name in ("loss", "accuracy", "learning_rate"):
        steps, values = _scalars(train, f"epoch_{name}")
        assert steps == [0, 1, 2]
        np.testing.assert_allclose(values, h[name], rtol=1e-6)
    for name in ("loss", "accuracy"):
        steps, values = _scalars(validation, f"epoch_{name}")
        assert steps == [0, 1, 2]
        np.testing.assert_allclose(values, h[f"val_{name}"], rtol=1e-6)
        # Keras's evaluation curve against the step count: 3 steps per epoch.
        steps, values = _scalars(validation, f"evaluation_{name}_vs_iterations")
        assert steps == [3, 6, 9]
        np.testing.assert_allclose(values, h[f"val_{name}"], rtol=1e-6)
    assert not any(t.startswith("epoch_val") for t in train.Tags()["scalars"])
    # The scheduled learning rate and dropout rate, and the constant momentum.
    np.testing.assert_allclose(_scalars(train, "epoch_learning_rate")[1], [0.02, 0.01, 0.02 / 3], rtol=1e-6)
    np.testing.assert_allclose(_scalars(train, "hyperparameters/drop/rate")[1], [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(_scalars(train, "hyperparameters/bn/momentum")[1], [0.99] * 3, rtol=1e-6)
    assert "batch_loss" not in train.Tags()["scalars"]   # update_freq="epoch"


def test_histograms_images_and_model_summary(tmp_path, rng):
    model, tb, history = _fit_classifier(tmp_path, rng, histogram_freq=2, write_images=True)
    train = _run(tmp_path / "logs" / "train")
    named = model._named_weights()
    assert len(named) == 8
    final = model.get_weights()
    for (name, _), weight in zip(named, final):
        events = train.Histograms(f"{name}/histogram")
        assert [e.step for e in events] == [0, 2]   # every histogram_freq epochs
        last = events[-1].histogram_value          # written at the last epoch end: the final weights
        assert last.num == weight.size
        np.testing.assert_allclose([last.min, last.max, last.sum],
                                   [weight.min(), weight.max(), weight.sum()], rtol=1e-5, atol=1e-6)
    # Keras's weight images: a (4, 8) kernel as a 4x8 image, an (8, 3) kernel transposed to 3x8.
    image = train.Images("hidden/kernel/image")[-1]
    assert (image.height, image.width) == (4, 8)
    image = train.Images("logits/kernel/image")[-1]
    assert (image.height, image.width) == (3, 8)
    lines = []
    model.summary(print_fn=lines.append)
    text = train.Tensors("model_summary/text_summary")
    assert len(text) == 1 and text[0].step == 0
    written = text[0].tensor_proto.string_val[0].decode()
    assert [line.strip() for line in written.splitlines()] == [line.strip() for line in lines[0].splitlines()]
    assert "hidden (Dense)" in written


def test_hparams_session_with_final_metrics(tmp_path, rng):
    model, tb, history = _fit_classifier(tmp_path, rng, hparams={"units": 8, "activation": "relu",
                                                                 "augment": False})
    root = _run(tmp_path / "logs")
    content = root.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                            "_hparams_/session_end_info"}
    assert root.SummaryMetadata("_hparams_/experiment").plugin_data.plugin_name == "hparams"
    start = hp_metadata.parse_session_start_info_plugin_data(content["_hparams_/session_start_info"])
    hp = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert hp == pytest.approx({"optimizer": "Adam", "learning_rate": 0.02, "epochs": 3.0,
                                "steps_per_epoch": 3.0, "batch_size": 16.0, "units": 8.0, "activation": "relu",
                                "augment": False})
    end = hp_metadata.parse_session_end_info_plugin_data(content["_hparams_/session_end_info"])
    assert end.status == 1   # STATUS_SUCCESS
    experiment = hp_metadata.parse_experiment_plugin_data(content["_hparams_/experiment"])
    assert {m.name.tag for m in experiment.metric_infos} == {f"hparams/{k}" for k in history.history}
    # TensorBoard's HParams backend finds the session and its final metric values.
    metrics = _session_metrics(tmp_path / "logs")
    assert metrics == pytest.approx({f"hparams/{k}": v[-1] for k, v in history.history.items()}, rel=1e-6)


def _session_metrics(logdir) -> dict[str, float]:
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    tb_context = base_plugin.TBContext(logdir=str(logdir), multiplexer=mux,
                                       data_provider=data_provider.MultiplexerDataProvider(mux, str(logdir)))
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=10,
                                               allowed_statuses=[api_pb2.STATUS_SUCCESS])
    response = list_session_groups.Handler(context.RequestContext(), backend_context.Context(tb_context), "",
                                           request).run()
    (group,) = response.session_groups
    return {m.name.tag: m.value for m in group.metric_values}


class _CountReads:
    def __init__(self, trainer):
        self.count, self._read = 0, trainer._read

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self._read(*args, **kwargs)


@pytest.mark.parametrize("update_freq, logged_steps", [(2, [2, 4, 6, 8]), ("batch", list(range(1, 9))),
                                                       ("epoch", [])])
def test_per_step_scalars_are_read_only_every_update_freq_steps(tmp_path, rng, update_freq, logged_steps):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    counter = _CountReads(model._trainer)
    model._trainer._read = counter
    tb = TensorBoard(tmp_path, update_freq=update_freq)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, callbacks=[tb], verbose=0)
    # One read per epoch end, plus one per logged step: none for the other steps.
    assert counter.count == 2 + len(logged_steps)
    assert tb.get_state() == {"global_step": 8}
    train = _run(tmp_path / "train")
    if not logged_steps:
        assert "batch_loss" not in train.Tags()["scalars"]
        return
    steps, values = _scalars(train, "batch_loss")
    assert steps == logged_steps
    # The last step of each epoch sees the whole epoch's running mean: the epoch's value.
    for epoch, last in enumerate((4, 8)):
        np.testing.assert_allclose(values[steps.index(last)], history.history["loss"][epoch], rtol=1e-6)
    assert _scalars(train, "batch_mae")[0] == logged_steps


def test_no_device_to_host_read_per_step(tmp_path, rng, monkeypatch):
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4), hl.layers.Dropout(0.2), hl.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "warm", histogram_freq=1)])
    calls = []
    real = jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda tree: calls.append(1) or real(tree))
    counts = {}
    for batch_size in (32, 4):   # 2 and 16 steps per epoch
        calls.clear()
        tb = TensorBoard(tmp_path / f"b{batch_size}", histogram_freq=1)
        with jax.transfer_guard_device_to_host("disallow"):
            model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, callbacks=[tb])
        counts[batch_size] = len(calls)
    # Explicit copies happen per epoch (metrics, learning rate, hyperparameters, histograms),
    # never per step: eight times as many steps, the same number of copies.
    assert counts[4] == counts[32] > 0
    steps, _ = _scalars(_run(tmp_path / "b4" / "train"), "epoch_loss")
    assert steps == [0, 1]


class _RaiseAt(Callback):
    def __init__(self, step, log_dir):
        super().__init__()
        self.step, self.log_dir, self.seen, self.open_files = step, log_dir, 0, []

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            self.open_files = _open_files_under(self.log_dir)
            raise RuntimeError("boom")


@needs_proc
def test_files_are_closed_after_fit(tmp_path, rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tb = TensorBoard(tmp_path)
    model.fit(x, x[:, :1], batch_size=8, epochs=2, callbacks=[tb], verbose=0)
    assert tb._writers == {}
    assert _open_files_under(tmp_path) == []
    assert len(glob.glob(str(tmp_path / "*" / "events.out.tfevents.*"))) == 2


@needs_proc
def test_files_are_closed_and_data_readable_when_fit_raises(tmp_path, rng):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tb = TensorBoard(tmp_path, update_freq=1)
    raiser = _RaiseAt(7, tmp_path)   # 4 steps per epoch: raises in epoch 1, batch 2
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, x[:, :1], batch_size=8, epochs=3, callbacks=[tb, raiser], verbose=0)
    assert len(raiser.open_files) == 3   # train, validation and the hparams run were open
    assert tb._writers == {}
    assert _open_files_under(tmp_path) == []
    train = _run(tmp_path / "train")
    steps, values = _scalars(train, "epoch_loss")
    assert steps == [0]
    np.testing.assert_allclose(values, model.history.history["loss"], rtol=1e-6)
    assert _scalars(train, "batch_loss")[0] == [1, 2, 3, 4, 5, 6, 7]
    end = hp_metadata.parse_session_end_info_plugin_data(
        _run(tmp_path).PluginTagToContent("hparams")["_hparams_/session_end_info"])
    assert end.status == 2   # STATUS_FAILURE


def test_profile_batch_writes_a_trace(tmp_path, rng):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tb = TensorBoard(tmp_path, profile_batch=(2, 3))
    model.fit(x, x[:, :1], batch_size=8, epochs=1, callbacks=[tb], verbose=0)
    assert not tb._tracing
    assert len(glob.glob(str(tmp_path / "train" / "plugins" / "profile" / "*" / "*.xplane.pb"))) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"embeddings_freq": 1}, "embeddings_freq=1 is not supported"),
    ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or a positive integer, got 'step'"),
    ({"update_freq": 0}, "update_freq must be"),
    ({"histogram_freq": -1}, "histogram_freq must be a non-negative integer, got -1"),
    ({"profile_batch": (3, 1)}, r"profile_batch must be .* got \(3, 1\)"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TensorBoard(tmp_path, **kwargs)
