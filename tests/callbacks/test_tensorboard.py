"""TensorBoard: event files read back with TensorBoard's own reader and its HParams backend."""

import glob
import os
import time
import types

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
    named = model.named_weights()
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


@pytest.mark.parametrize("update_freq, logged_steps", [(2, [2, 4, 6, 8]), ("batch", list(range(1, 9))),
                                                       ("epoch", [])])
def test_per_step_scalars_are_read_only_every_update_freq_steps(tmp_path, rng, update_freq, logged_steps):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer=hl.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    reads_before = model.trainer.metric_reads
    tb = TensorBoard(tmp_path, update_freq=update_freq)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, callbacks=[tb], verbose=0)
    # One read per epoch end, plus one per logged step: none for the other steps.
    assert model.trainer.metric_reads - reads_before == 2 + len(logged_steps)
    state = tb.get_state()
    assert (state["global_step"], state["started"]) == (8, True) and state["since"] <= time.time()
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


class _CrashAfterLogging(Callback):
    """Raises at the end of ``epoch``: listed after TensorBoard and before BackupAndRestore, it is a
    crash after TensorBoard logged the epoch and before the epoch's backup was written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("crash (simulated)")


def test_a_resumed_run_logs_each_epoch_and_step_once(tmp_path, rng, monkeypatch):
    import tensorboardX.event_file_writer
    # tensorboardX names an event file by the second it opens it: every file opened in the same
    # second, as when a process restarts at once, must still get its own name.
    monkeypatch.setattr(tensorboardX.event_file_writer, "time", types.SimpleNamespace(time=lambda: 1.7e9))
    x, y = _data(rng, 48)
    vx, vy = _data(rng, 16)
    fit = dict(batch_size=16, epochs=4, validation_data=(vx, vy), verbose=0)

    def run(log_dir, *callbacks):
        hl.utils.set_random_seed(0)
        model = _classifier()
        model.compile(optimizer=hl.optimizers.Adam(0.02), metrics=["accuracy"],
                      loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
        tb = TensorBoard(log_dir, update_freq=1, histogram_freq=1)
        return model.fit(x, y, callbacks=[_Schedule(), tb, *callbacks], **fit)

    run(tmp_path / "reference")
    logs, backup = tmp_path / "logs", tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated"):
        run(logs, _CrashAfterLogging(2), hl.callbacks.BackupAndRestore(backup))
    crashed = _run(logs / "train")
    assert _scalars(crashed, "epoch_loss")[0] == [0, 1, 2]   # epoch 2 logged, its backup not written
    resumed_at = time.time()
    run(logs, hl.callbacks.BackupAndRestore(backup))         # resumes at epoch 2, after 6 steps
    for name in ("train", "validation"):
        ours, reference = _run(logs / name), _run(tmp_path / "reference" / name)
        tags = reference.Tags()
        assert ours.Tags()["scalars"] == tags["scalars"] and ours.Tags()["histograms"] == tags["histograms"]
        for tag in tags["scalars"]:
            steps, values = _scalars(ours, tag)
            assert steps == _scalars(reference, tag)[0], tag   # each epoch and step once, in order
            if not tag.endswith("_time") and not tag.endswith("_per_second"):
                np.testing.assert_array_equal(values, _scalars(reference, tag)[1], err_msg=tag)
            # What the crashed run logged past the backup is gone; the resumed run's values stand.
            redone = [e for e in ours.Scalars(tag) if e.step >= (2 if tag.startswith(("epoch_", "hyper")) else 7)]
            assert redone and all(e.wall_time >= resumed_at for e in redone), tag
        for tag in tags["histograms"]:
            assert [e.step for e in ours.Histograms(tag)] == [0, 1, 2, 3], tag
    assert _scalars(_run(logs / "train"), "batch_loss")[0] == list(range(1, 13))
    assert _scalars(_run(logs / "validation"), "evaluation_loss_vs_iterations")[0] == [3, 6, 9, 12]
    assert len(_run(logs / "train").Tensors("model_summary/text_summary")) == 1


def test_trimming_keeps_earlier_runs_untouched_files_and_reads_a_cut_record(tmp_path):
    from tensorboardX import SummaryWriter
    from highlevel.callbacks._event_files import trim_run
    earlier, since = 1000.0, 2000.0
    writer = SummaryWriter(str(tmp_path), filename_suffix=".a")
    for step in range(3):   # an earlier fit into the same directory: kept whatever its steps
        writer.add_scalar("epoch_loss", 9.0, global_step=step, walltime=earlier + step)
    for step in range(3):   # this run, interrupted after logging epoch 2 (backup after epoch 1: 8 steps)
        writer.add_scalar("epoch_loss", float(step), global_step=step, walltime=since + step)
        writer.add_histogram("batch_normalization/gamma/histogram", np.ones(3), global_step=step,
                             walltime=since + step)
    for step in range(1, 13):
        writer.add_scalar("batch_loss", float(step), global_step=step, walltime=since + step)
    writer.close()
    (path,) = glob.glob(str(tmp_path / "*tfevents*"))
    with open(path, "ab") as f:
        f.write(b"\x10\x00\x00")   # a record cut short by the crash
    untouched = SummaryWriter(str(tmp_path), filename_suffix=".b")
    untouched.add_scalar("epoch_loss", 0.5, global_step=0, walltime=since)
    untouched.close()
    (other,) = set(glob.glob(str(tmp_path / "*tfevents*"))) - {path}
    before = os.stat(other).st_mtime_ns, open(other, "rb").read()
    assert trim_run(str(tmp_path), since, epoch=2, global_step=8) == [path]
    assert (os.stat(other).st_mtime_ns, open(other, "rb").read()) == before
    acc = ea.EventAccumulator(path, size_guidance=_ALL)
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("epoch_loss")] == [(0, 9.0), (1, 9.0), (2, 9.0), (0, 0.0),
                                                                     (1, 1.0)]
    assert [e.step for e in acc.Histograms("batch_normalization/gamma/histogram")] == [0, 1]
    assert _scalars(acc, "batch_loss")[0] == list(range(1, 9))
    assert trim_run(str(tmp_path), since, epoch=2, global_step=8) == []   # nothing left to remove
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (path, other))


def test_profile_batch_writes_a_trace(tmp_path, rng):
    x = rng.standard_normal((32, 3)).astype(np.float32)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tb = TensorBoard(tmp_path, profile_batch=(2, 3))
    model.fit(x, x[:, :1], batch_size=8, epochs=1, callbacks=[tb], verbose=0)
    assert not tb._tracing
    assert len(glob.glob(str(tmp_path / "train" / "plugins" / "profile" / "*" / "*.xplane.pb"))) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"embeddings_freq": -1}, "embeddings_freq must be a non-negative integer, got -1"),
    ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or a positive integer, got 'step'"),
    ({"update_freq": 0}, "update_freq must be"),
    ({"histogram_freq": -1}, "histogram_freq must be a non-negative integer, got -1"),
    ({"profile_batch": (3, 1)}, r"profile_batch must be .* got \(3, 1\)"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TensorBoard(tmp_path, **kwargs)


# -- the embedding projector -------------------------------------------------------------------

_VOCAB, _LENGTH = 20, 6


def _token_data(rng, n):
    ids = rng.integers(0, _VOCAB, (n, _LENGTH)).astype(np.int32)
    return ids, (ids[:, 0] % 3).astype(np.int32)


class _RecordTables(Callback):
    """Each epoch's Embedding tables, as ``get_weights`` gives them at that epoch's end."""

    def __init__(self, names):
        super().__init__()
        self.names, self.tables = names, {}

    def on_epoch_end(self, epoch, logs=None):
        layers = {layer.name: layer for layer in self.model.flatten_layers()}
        for name in self.names:
            self.tables[(name, epoch)] = layers[name].get_weights()[0]


def _projector_config(log_dir):
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    with open(os.path.join(log_dir, "projector_config.pbtxt"), encoding="utf8") as f:
        return text_format.Parse(f.read(), ProjectorConfig())


def test_embedding_projector_writes_each_epochs_table_and_metadata(tmp_path, rng):
    x, y = _token_data(rng, 64)
    model = hl.Sequential([hl.Input((_LENGTH,), dtype="int32"), hl.layers.Embedding(_VOCAB, 4, name="tokens"),
                           hl.layers.GlobalAveragePooling1D(), hl.layers.Dense(3, name="logits")])
    model.compile(optimizer=hl.optimizers.Adam(0.05),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "tokens.tsv").write_text("".join(f"token {i}\n" for i in range(_VOCAB)))
    record = _RecordTables(["tokens"])
    tb = TensorBoard(log_dir, embeddings_freq=1, embeddings_metadata={"tokens": "tokens.tsv"})
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[record, tb], verbose=0)

    config = _projector_config(log_dir)
    assert [e.tensor_name for e in config.embeddings] == ["tokens:00000", "tokens:00001"]
    assert [e.metadata_path for e in config.embeddings] == ["tokens.tsv", "tokens.tsv"]
    for epoch, entry in enumerate(config.embeddings):
        assert entry.tensor_path == f"{epoch:05d}/tokens/tensors.tsv"
        written = np.loadtxt(log_dir / entry.tensor_path, delimiter="\t", dtype=np.float64)
        assert written.shape == (_VOCAB, 4)
        np.testing.assert_allclose(written, record.tables[("tokens", epoch)], rtol=1e-6, atol=1e-7)
    # Training moved the table, so each epoch's file is that epoch's table, not the last one.
    assert not np.allclose(record.tables[("tokens", 0)], record.tables[("tokens", 1)], atol=1e-4)

    # TensorBoard's projector plugin finds both tables with their shapes and the metadata.
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector import projector_plugin

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    plugin = projector_plugin.ProjectorPlugin(base_plugin.TBContext(
        logdir=str(log_dir), multiplexer=mux,
        data_provider=data_provider.MultiplexerDataProvider(mux, str(log_dir))))
    plugin._update_configs()
    seen = plugin._configs["."].embeddings
    assert [(e.tensor_name, list(e.tensor_shape), e.metadata_path) for e in seen] == [
        ("tokens:00000", [_VOCAB, 4], "tokens.tsv"), ("tokens:00001", [_VOCAB, 4], "tokens.tsv")]


def _two_embedding_model():
    ids = hl.Input((_LENGTH,), dtype="int32")
    encoder = hl.Sequential([hl.Input((_LENGTH,), dtype="int32"), hl.layers.Embedding(_VOCAB, 4, name="words"),
                             hl.layers.GlobalAveragePooling1D()], name="encoder")
    positions = hl.layers.GlobalAveragePooling1D()(hl.layers.Embedding(_VOCAB, 2, name="positions")(ids))
    outputs = hl.layers.Dense(3)(hl.layers.Concatenate()([encoder(ids), positions]))
    model = hl.Model(ids, outputs)
    model.compile(optimizer=hl.optimizers.Adam(0.05),
                  loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_embedding_projector_nested_layers_every_n_epochs_read_only_then(tmp_path, rng, monkeypatch):
    x, y = _token_data(rng, 32)
    model = _two_embedding_model()
    reads = []
    real = jax.device_get
    monkeypatch.setattr(jax, "device_get", lambda tree: reads.append(
        [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(tree)]) or real(tree))
    record = _RecordTables(["words", "positions"])
    tb = TensorBoard(tmp_path, embeddings_freq=2, embeddings_metadata="labels.tsv")
    model.fit(x, y, batch_size=16, epochs=3, callbacks=[record, tb], verbose=0)
    # The tables are copied from the device at epochs 0 and 2 only, both in one copy.
    assert sum((_VOCAB, 4) in shapes for shapes in reads) == 2
    assert sum((_VOCAB, 2) in shapes for shapes in reads) == 2
    config = _projector_config(tmp_path)
    assert [(e.tensor_name, e.metadata_path) for e in config.embeddings] == [
        ("positions:00000", "labels.tsv"), ("words:00000", "labels.tsv"),
        ("positions:00002", "labels.tsv"), ("words:00002", "labels.tsv")]
    assert sorted(p.name for p in tmp_path.glob("0*")) == ["00000", "00002"]
    for entry in config.embeddings:
        name, epoch = entry.tensor_name.split(":")
        written = np.loadtxt(tmp_path / entry.tensor_path, delimiter="\t", dtype=np.float64)
        np.testing.assert_allclose(written, record.tables[(name, int(epoch))], rtol=1e-6, atol=1e-7)


def test_embedding_projector_config_has_one_entry_per_table_after_a_second_fit(tmp_path, rng):
    x, y = _token_data(rng, 16)
    model = _two_embedding_model()
    for _ in range(2):   # the second fit rewrites epoch 0's tables in the same log_dir
        model.fit(x, y, batch_size=16, epochs=1, verbose=0,
                  callbacks=[TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"words": "w.tsv"})])
    config = _projector_config(tmp_path)
    assert [(e.tensor_name, e.metadata_path) for e in config.embeddings] == [
        ("positions:00000", ""), ("words:00000", "w.tsv")]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "00000" / "words" / "tensors.tsv", delimiter="\t"),
                               model.get_layer("encoder").get_layer("words").get_weights()[0], rtol=1e-6, atol=1e-7)


def test_embedding_projector_errors_are_named(tmp_path, rng):
    x, y = _data(rng, 16)
    model = _classifier()
    model.compile(optimizer="sgd", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match=r"embeddings_freq=1 needs a model with an Embedding layer, and model "
                                         r"'sequential\w*' has none: pass embeddings_freq=0"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "none", embeddings_freq=1)])
    assert not (tmp_path / "none").exists()   # checked before anything is written
    ids, labels = _token_data(rng, 16)
    tokens = _two_embedding_model()
    tb = TensorBoard(tmp_path / "typo", embeddings_freq=1, embeddings_metadata={"word": "w.tsv"})
    with pytest.raises(ValueError, match=r"embeddings_metadata names \['word'\], which are not Embedding layers "
                                         r"of model .*; its Embedding layers are \['positions', 'words'\]"):
        tokens.fit(ids, labels, epochs=1, verbose=0, callbacks=[tb])
    with pytest.raises(ValueError, match=r"embeddings_metadata path '\.\./w\.tsv' lies outside log_dir"):
        TensorBoard(tmp_path / "logs", embeddings_freq=1, embeddings_metadata="../w.tsv")
    with pytest.raises(TypeError, match="embeddings_metadata must be a path or a dict"):
        TensorBoard(tmp_path / "logs", embeddings_freq=1, embeddings_metadata=["w.tsv"])


def test_each_epochs_scalars_are_on_disk_when_its_epoch_end_returns(tmp_path, rng):
    """What a backup written after the epoch end covers is in the files: a SIGKILL then loses none of it."""
    from highlevel.callbacks._event_files import records

    on_disk = []

    class _Look(Callback):
        def on_epoch_end(self, epoch, logs=None):
            paths = glob.glob(str(tmp_path / "train" / "*tfevents*"))
            on_disk.append(sorted(e.step for p in paths for _, e in records(p)
                                  for v in e.summary.value if v.tag == "epoch_loss"))

    model = _classifier()
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _data(rng, 16)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[TensorBoard(str(tmp_path)), _Look()])
    assert on_disk == [[0], [0, 1], [0, 1, 2]]


def test_forget_since_removes_the_epochs_a_restarted_fit_logs_again(tmp_path, rng):
    model = _classifier()
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _data(rng, 16)
    since = time.time()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25, callbacks=[TensorBoard(str(tmp_path))])
    assert len(TensorBoard.forget_since(tmp_path, since, epoch=1)) == 2   # the train and validation files
    assert _scalars(_run(tmp_path / "train"), "epoch_loss")[0] == [0]
    assert _scalars(_run(tmp_path / "validation"), "epoch_loss")[0] == [0]
    assert "evaluation_loss_vs_iterations" not in _run(tmp_path / "validation").Tags()["scalars"]
    assert TensorBoard.forget_since(tmp_path, time.time() + 3600, epoch=0) == []   # nothing logged since then
