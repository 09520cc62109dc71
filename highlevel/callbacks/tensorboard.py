"""TensorBoard: event files laid out as Keras writes them, written with tensorboardX.

``log_dir/train`` and ``log_dir/validation`` hold the same tags (``epoch_loss``,
``epoch_accuracy``, ...), so TensorBoard overlays the two curves; ``log_dir``
itself holds the run's hyperparameters for TensorBoard's HParams dashboard and, with
``embeddings_freq``, the embedding projector's ``projector_config.pbtxt`` and tensors.
Everything but the per-step scalars is written at epoch end, from values the
trainer has already copied to the host or from one explicit ``jax.device_get``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
import warnings
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from highlevel.callbacks._event_files import trim_run
from highlevel.callbacks.backup_on_signal import TrainingPreempted
from highlevel.layers.base import Hyperparameter
from highlevel.layers.core import Embedding
from highlevel.callbacks._layers import all_layers
from highlevel.training.callback import Callback

__all__ = ["TensorBoard"]

_HPARAMS_PLUGIN = "hparams"


class TensorBoard(Callback):
    """Writes metrics, hyperparameters, weight histograms and the model summary for TensorBoard.

    The layout follows ``keras.callbacks.TensorBoard``:

    * ``log_dir/train``: ``epoch_<metric>`` at step ``epoch`` (``epoch_learning_rate``
      included), the trainer's throughput of the epoch (``epoch_samples_per_second``,
      ``epoch_step_time``, ``epoch_train_time``, ``epoch_compile_time`` and, where the
      device's peak is known, ``epoch_mfu``: see ``hl.training.Throughput``),
      ``batch_<metric>`` every ``update_freq`` steps at the global step
      count, ``<layer>/<weight>/histogram`` (and ``/image``) every ``histogram_freq``
      epochs, ``hyperparameters/<layer>/<name>`` (see below), the model summary as
      text (tag ``model_summary/text_summary``) and the profiler trace;
    * ``log_dir/validation``: ``epoch_<metric>`` for the ``val_*`` logs (prefix
      removed), and ``evaluation_<metric>_vs_iterations`` at the global step count;
    * ``log_dir``: one HParams session: optimizer, learning rate, epochs, steps per
      epoch, batch size (where ``self.params`` has it) and ``hparams``, with the final
      epoch logs as its metrics (``hparams/loss``, ``hparams/val_loss``, ...). Point
      TensorBoard at the parent of several ``log_dir``s to compare runs; with
      ``embeddings_freq``, the projector's ``projector_config.pbtxt`` and, for each
      logged epoch and ``Embedding`` layer, ``<epoch:05d>/<layer>/tensors.tsv``.

    The embedding projector (Keras's ``embeddings_freq``) gets the table of every
    ``Embedding`` layer of the model, nested models included, every
    ``embeddings_freq`` epochs (epochs 0, N, 2N...), under the name
    ``<layer>:<epoch:05d>``; the tables are copied from the device on those epochs
    only. TensorBoard shows them in its Projector tab.

    Layer hyperparameters (every ``Dropout`` rate, ``BatchNormalization`` momentum
    and ``frozen`` flag, recurrent dropout rates: each ``Hyperparameter`` of each
    layer) are logged every epoch, with the value at that epoch's end, as
    ``hyperparameters/<layer>/<name>`` (``rate``, ``momentum``, ``frozen``,
    ``dropout_rate``...): a schedule shows as a curve, a constant as a flat line.

    A JAX model has no TensorFlow graph to draw, so ``write_graph=True`` writes the
    text of ``model.summary()`` instead. Steps count the trainer's calls (one per
    batch; with ``steps_per_execution=K``, one per K batches). Reading per-step
    metrics copies them from the device, so it happens only every ``update_freq``
    steps; with ``update_freq="epoch"`` nothing is read per step. Files are flushed
    at each epoch end and closed when ``fit`` ends or raises.

    With ``BackupAndRestore``, a resumed ``fit`` continues the same runs: what the
    interrupted process logged after its last backup (an epoch that is run again, batch
    scalars past the restored step) is first removed from its event files, so that every
    epoch and step appears once, as if the run had never been interrupted. (A TensorBoard
    that was showing the run while it crashed keeps the points it had read until it is
    restarted.)

    Args:
      log_dir: the directory of the runs; created if missing.
      histogram_freq: log weight histograms every this many epochs (0: never).
      write_graph: log the model summary as text once at train begin.
      write_images: with histograms, also log each weight as an image (Keras's layout).
      update_freq: ``"epoch"``, ``"batch"`` (every step) or an integer N: also log
        ``batch_*`` scalars every N steps.
      profile_batch: profile this global step (an int, 1-based; 0: never) or the
        steps ``(start, stop)`` with ``jax.profiler``: a trace in
        ``log_dir/train/plugins/profile/<time>/``, which TensorBoard's Profile tab shows
        (``pip install tensorboard-plugin-profile``), waited for so that it holds the
        steps' device work.
      embeddings_freq: write each ``Embedding`` layer's table for the projector every
        this many epochs (0: never). The model must have an ``Embedding`` layer.
      embeddings_metadata: the projector's metadata file (a TSV of one label per row
        of the table, or a header line and several columns) for each ``Embedding``
        layer: a dict of layer name -> path, or one path for every layer. A path is
        recorded as given, relative to ``log_dir`` as TensorBoard reads it, and must
        lie inside ``log_dir``; the file itself is yours to write, before or after
        ``fit``.
      hparams: extra hyperparameters for the HParams dashboard (name -> bool, str or
        number; other values are logged as their ``str``).

    >>> import highlevel as hl, numpy as np, tempfile
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> tb = TensorBoard(tempfile.mkdtemp(), histogram_freq=1, hparams={"units": 1})
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, callbacks=[tb], verbose=0)
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int | tuple[int, int] = 0, embeddings_freq: int = 0,
                 embeddings_metadata: str | os.PathLike | Mapping[str, str | os.PathLike] | None = None,
                 hparams: Mapping[str, Any] | None = None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        if not isinstance(histogram_freq, (int, np.integer)) or isinstance(histogram_freq, bool) \
                or histogram_freq < 0:
            raise ValueError(f"TensorBoard histogram_freq must be a non-negative integer, got {histogram_freq!r}.")
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.update_freq = _check_update_freq(update_freq)
        self._start_batch, self._stop_batch = _check_profile_batch(profile_batch)
        self.profile_batch = profile_batch
        if not isinstance(embeddings_freq, (int, np.integer)) or isinstance(embeddings_freq, bool) \
                or embeddings_freq < 0:
            raise ValueError(f"TensorBoard embeddings_freq must be a non-negative integer, got {embeddings_freq!r}.")
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = _check_embeddings_metadata(embeddings_metadata, self.log_dir)
        if hparams is not None and not isinstance(hparams, Mapping):
            raise TypeError(f"TensorBoard hparams must be a dict of name -> value, got {type(hparams).__name__}.")
        if hparams is not None and not all(isinstance(k, str) for k in hparams):
            raise TypeError(f"TensorBoard hparams must have string keys, got {sorted(map(repr, hparams))}.")
        self.hparams = dict(hparams or {})
        self._writers: dict[str, Any] = {}
        self._global_step = 0
        self._tracing = False
        self._last_logs: dict[str, float] = {}
        self._session_hparams: dict[str, Any] = {}
        self._last_epoch = 0
        self._embeddings: list[tuple[str, Embedding, str | None]] = []
        self._resumed = self._started = False
        self._since = 0.0   # wall time at which this run (resumed or not) first began

    chief_only = True   # over several processes, process 0 alone writes the event files

    # -- writers -------------------------------------------------------------------

    def _writer(self, run: str):
        """The SummaryWriter of ``run`` ("train", "validation" or "" for log_dir), opened lazily."""
        writer = self._writers.get(run)
        if writer is None:
            from tensorboardX import SummaryWriter
            # tensorboardX names a file by the second it opened it; the nanoseconds after it keep a
            # resumed process opened within the same second from overwriting the interrupted one's
            # file, and sort the files in the order they were written, as TensorBoard reads them.
            writer = SummaryWriter(logdir=os.path.join(self.log_dir, run) if run else self.log_dir,
                                   filename_suffix=f".{time.time_ns()}")
            self._writers[run] = writer
        return writer

    def _flush(self) -> None:
        for writer in self._writers.values():
            _write_out(writer)

    def _close(self, status: str) -> None:
        """Stops a running trace, ends the HParams session, and closes every writer."""
        try:
            if self._tracing:
                self._stop_trace()
            if "" in self._writers:
                self._write_hparams_end(status)
        finally:
            writers, self._writers = self._writers, {}
            for writer in writers.values():
                writer.close()

    # -- hooks -----------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # Checked before anything is written, so a wrong model leaves no files behind.
        self._embeddings = self._embedding_layers() if self.embeddings_freq else []
        self._global_step = 0
        self._last_logs = {}
        self._resumed = False          # set by BackupAndRestore (after this hook) when resuming
        self._started = False
        self._since = time.time()      # replaced by the interrupted run's on resume
        if self._start_batch == 1:
            self._start_trace()

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._start(epoch)

    def _start(self, epoch: int) -> None:
        """Opens the writers; a fresh run (not a resumed one) writes the summary and starts its session.

        A resumed run first removes what the interrupted process logged past the restored
        point, ``epoch`` and the global step restored by ``set_state``."""
        self._started = True
        os.makedirs(self.log_dir, exist_ok=True)
        if self._resumed:
            for run in ("train", "validation"):
                trim_run(os.path.join(self.log_dir, run), self._since, epoch, self._global_step)
        train = self._writer("train")
        self._writer("validation")
        if self._resumed:
            # The interrupted process wrote these: the resumed one continues its session.
            self._session_hparams = self._base_hparams()
            self._writer("")
            self._flush()
            return
        if self.write_graph:
            lines: list[str] = []
            self.model.summary(print_fn=lines.append)
            # Indented four spaces: a Markdown code block, so the table keeps its columns.
            text = "\n".join("    " + line for line in "\n".join(lines).splitlines())
            train.add_text("model_summary", text, global_step=0)
        self._write_hparams_start()
        self._flush()

    def on_train_batch_end(self, batch, logs=None):
        self._global_step += 1
        step = self._global_step
        if self.update_freq != "epoch" and step % self.update_freq == 0 and logs is not None:
            writer = self._writer("train")
            for name, value in logs.items():   # the one device-to-host copy, every update_freq steps
                writer.add_scalar(f"batch_{name}", value, global_step=step)
        if self._tracing and step >= self._stop_batch:
            self._stop_trace()
        elif not self._tracing and self._start_batch and step == self._start_batch - 1:
            self._start_trace()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        self._last_logs, self._last_epoch = logs, epoch
        train, validation = self._writer("train"), self._writer("validation")
        for name, value in logs.items():
            if name.startswith("val_"):
                validation.add_scalar(f"epoch_{name[4:]}", value, global_step=epoch)
                validation.add_scalar(f"evaluation_{name[4:]}_vs_iterations", value,
                                      global_step=self._global_step)
            else:
                train.add_scalar(f"epoch_{name}", value, global_step=epoch)
        for name, value in self._throughput(logs).items():
            train.add_scalar(f"epoch_{name}", value, global_step=epoch)
        layer_hparams = self._layer_hyperparameters()
        values = jax.device_get([var.get_value() for _, var in layer_hparams])
        for (tag, _), value in zip(layer_hparams, values):
            train.add_scalar(tag, float(np.asarray(value)), global_step=epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        self._flush()

    def on_train_end(self, logs=None):
        if logs:
            self._last_logs = dict(logs)
        self._close("STATUS_SUCCESS")

    def on_train_exception(self, exception: BaseException) -> None:
        if isinstance(exception, TrainingPreempted):
            # Stopped to be resumed: the session goes on in the resumed process, which ends it.
            writers, self._writers = self._writers, {}
            if self._tracing:
                self._stop_trace()
            for writer in writers.values():
                writer.close()
            return
        self._close("STATUS_FAILURE")

    @staticmethod
    def forget_since(log_dir, since: float, epoch: int) -> list[str]:
        """Removes from the ``train`` and ``validation`` runs under ``log_dir`` what was logged at
        wall time ``since`` or later for epoch ``epoch`` on, and every step-indexed value logged
        since then: what a ``fit`` started again at ``epoch`` without a backup logs once more.
        Values logged before ``since`` stay. Returns the event files rewritten.

        >>> TensorBoard.forget_since("/tmp/no-such-logs", since=0.0, epoch=3)
        []
        """
        return [path for run in ("train", "validation")
                for path in trim_run(os.path.join(str(log_dir), run), since, epoch, -1)]

    def get_state(self) -> dict[str, Any]:
        return {"global_step": int(self._global_step), "started": True, "since": float(self._since)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._global_step = int(state.get("global_step", 0))
        self._resumed = bool(state.get("started", False))
        # A backup without it (older highlevel): everything in the runs counts as this run's.
        self._since = float(state.get("since", 0.0))

    # -- what is logged ------------------------------------------------------------------

    def _throughput(self, logs) -> dict[str, float]:
        """This epoch's throughput as the trainer measured it (``trainer.throughput``), where the
        logs do not hold it already (``trainer.log_throughput``)."""
        meter = getattr(getattr(self.model, "trainer", None), "throughput", None)
        return {k: v for k, v in (getattr(meter, "last", None) or {}).items() if k not in logs}

    def _layer_hyperparameters(self) -> list[tuple[str, Any]]:
        """(tag, Hyperparameter variable) of every layer of the model, each variable once."""
        out, seen = [], set()
        for layer in all_layers(self.model):
            for attr, var in vars(layer).items():
                if isinstance(var, Hyperparameter) and id(var) not in seen:
                    seen.add(id(var))
                    out.append((f"hyperparameters/{layer.name}/{attr.lstrip('_')}", var))
        return out

    def _log_weights(self, epoch: int) -> None:
        named = self.model.named_weights()
        arrays = jax.device_get([var.get_value() for _, var in named])   # one explicit copy
        writer = self._writer("train")
        for (name, _), array in zip(named, arrays):
            array = np.asarray(array)
            writer.add_histogram(f"{name}/histogram", array, global_step=epoch)
            if self.write_images:
                image = _weight_image(array)
                if image is not None:
                    writer.add_images(f"{name}/image", image, global_step=epoch, dataformats="NHWC")

    def _embedding_layers(self) -> list[tuple[str, Embedding, str | None]]:
        """(name, layer, metadata path or None) of each Embedding layer, nested ones included."""
        layers = [layer for layer in all_layers(self.model) if isinstance(layer, Embedding)]
        if not layers:
            raise ValueError(f"TensorBoard embeddings_freq={self.embeddings_freq} needs a model with an Embedding "
                             f"layer, and model {self.model.name!r} has none: pass embeddings_freq=0 for this model.")
        names = [layer.name for layer in layers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"TensorBoard embeddings_freq needs Embedding layers with distinct names, and several "
                             f"are named {repeated}: give each its own name=... .")
        metadata = self.embeddings_metadata
        if isinstance(metadata, dict):
            unknown = sorted(set(metadata) - set(names))
            if unknown:
                raise ValueError(f"TensorBoard embeddings_metadata names {unknown}, which are not Embedding layers "
                                 f"of model {self.model.name!r}; its Embedding layers are {names}.")
            return [(layer.name, layer, metadata.get(layer.name)) for layer in layers]
        return [(layer.name, layer, metadata) for layer in layers]

    def _log_embeddings(self, epoch: int) -> None:
        """Each Embedding table as ``<epoch>/<layer>/tensors.tsv``, listed in ``projector_config.pbtxt``."""
        tables = jax.device_get([layer.embeddings.get_value() for _, layer, _ in self._embeddings])  # one copy
        writer = self._writer("")
        config_path = os.path.join(self.log_dir, "projector_config.pbtxt")
        for (name, _, metadata_path), table in zip(self._embeddings, tables):
            # tensorboardX prints a warning when the epoch's folder exists (a resumed or repeated
            # fit into the same log_dir); the folder is this callback's and is rewritten.
            with contextlib.redirect_stdout(io.StringIO()):
                writer.add_embedding(np.asarray(table, np.float32), tag=name, global_step=epoch)
            with open(config_path, encoding="utf8") as f:
                text = f.read()
            with open(config_path, "w", encoding="utf8") as f:
                f.write(_projector_entry_with_metadata(text, f"{name}:{epoch:05d}", metadata_path))

    def _base_hparams(self) -> dict[str, Any]:
        hp: dict[str, Any] = {}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            hp["optimizer"] = type(optimizer).__name__
            try:
                lr = optimizer.learning_rate
            except (TypeError, ValueError, AttributeError):
                lr = None   # a raw optax optimizer may not expose one
            if isinstance(lr, (int, float)):
                hp["learning_rate"] = float(lr)
        for key in ("epochs", "batch_size"):
            if self.params.get(key) is not None:
                hp[key] = self.params[key]
        if self.params.get("steps") is not None:
            hp["steps_per_epoch"] = self.params["steps"]
        hp.update(self.hparams)
        return {k: _hparam_value(v) for k, v in hp.items()}

    def _write_hparams_start(self) -> None:
        self._session_hparams = self._base_hparams()
        self._writer("").file_writer.add_summary(_hparams_summary(
            "_hparams_/session_start_info", session_start_info=self._session_hparams))

    def _write_hparams_end(self, status: str) -> None:
        """The final metrics, the experiment (hparams and metric names) and the session's end.

        The final metrics are written into ``log_dir`` itself as ``hparams/<metric>`` (e.g.
        ``hparams/val_loss``): the dashboard finds a metric at ``<session run>/<group>``, so
        metrics kept only in ``train``/``validation`` would be missed when TensorBoard is
        pointed at ``log_dir`` itself (the session is then the run ``.``).
        """
        writer = self._writer("")
        step = self._last_epoch
        for name, value in self._last_logs.items():
            writer.add_scalar(f"hparams/{name}", value, global_step=step)
        writer.file_writer.add_summary(_hparams_summary(
            "_hparams_/experiment", experiment=(self._session_hparams, list(self._last_logs))))
        writer.file_writer.add_summary(_hparams_summary(
            "_hparams_/session_end_info", session_end_status=status))

    # -- profiling -----------------------------------------------------------------------

    def _start_trace(self) -> None:
        # As in Keras, a profiler that cannot start (another trace running) does not stop training.
        try:
            jax.profiler.start_trace(os.path.join(self.log_dir, "train"))
        except RuntimeError as exc:
            warnings.warn(f"TensorBoard could not start the profiler for profile_batch="
                          f"{self.profile_batch!r}: {exc}", RuntimeWarning, stacklevel=2)
            return
        self._tracing = True

    def _stop_trace(self) -> None:
        self._tracing = False
        # Steps are dispatched asynchronously: wait for the profiled steps' device work (one wait,
        # once per trace), so that the trace holds it.
        state = getattr(getattr(self.model, "trainer", None), "state", None)
        if state is not None:
            jax.block_until_ready(state)
        jax.profiler.stop_trace()


# -- helpers (pure) ---------------------------------------------------------------------------


def _check_update_freq(update_freq):
    if update_freq == "epoch":
        return "epoch"
    if update_freq == "batch":
        return 1
    if isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool) and update_freq > 0:
        return int(update_freq)
    raise ValueError(f"TensorBoard update_freq must be 'epoch', 'batch' or a positive integer, got {update_freq!r}.")


def _check_profile_batch(profile_batch) -> tuple[int, int]:
    """(start, stop) 1-based global steps to profile; (0, 0) for none. Keras's accepted forms."""
    value = profile_batch
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            value = None
        if value is not None and len(value) == 1:
            value = value[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        start = stop = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        start, stop = int(value[0]), int(value[1])
    else:
        start, stop = -1, -1
    if start < 0 or stop < start or (start == 0 and stop != 0):
        raise ValueError("TensorBoard profile_batch must be a non-negative integer or a pair (start, stop) "
                         f"of positive integers with start <= stop, got {profile_batch!r}.")
    return start, stop


def _check_embeddings_metadata(metadata, log_dir: str) -> str | dict[str, str] | None:
    """``embeddings_metadata`` as None, one path, or a dict of layer name -> path, each inside ``log_dir``."""
    if metadata is None:
        return None
    if isinstance(metadata, (str, os.PathLike)):
        paths = {None: metadata}
    elif isinstance(metadata, Mapping) and all(isinstance(k, str) for k in metadata):
        paths = dict(metadata)
    else:
        raise TypeError("TensorBoard embeddings_metadata must be a path or a dict of Embedding layer name -> path, "
                        f"got {metadata!r}.")
    checked = {}
    root = os.path.realpath(log_dir)
    for name, path in paths.items():
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"TensorBoard embeddings_metadata paths must be strings, got {path!r} for {name!r}.")
        path = os.fspath(path)
        resolved = os.path.realpath(os.path.join(root, os.path.expanduser(path)))
        if os.path.commonpath([root, resolved]) != root:
            raise ValueError(f"TensorBoard embeddings_metadata path {path!r} lies outside log_dir {log_dir!r}, where "
                             "TensorBoard's projector does not read: write the file inside log_dir and pass its "
                             "path relative to log_dir.")
        checked[name] = path
    return checked[None] if None in checked else checked


def _projector_entry_with_metadata(text: str, tensor_name: str, metadata_path: str | None) -> str:
    """``projector_config.pbtxt`` text with one entry per tensor name: the last one written for
    ``tensor_name`` (what tensorboardX has just appended) given ``metadata_path``.

    tensorboardX writes each entry as an ``embeddings {`` line at the start of a line, its
    fields one per line, and appends a new entry even when the name is already listed.
    """
    blocks = [b for b in re.split(r"(?m)^(?=embeddings \{$)", text) if b.strip()]
    line = f'tensor_name: "{tensor_name}"\n'
    ours = [b for b in blocks if line in b]
    blocks = [b for b in blocks if line not in b]
    if ours:
        entry = ours[-1]
        if metadata_path is not None:
            entry = entry[:entry.rindex("}")] + f'metadata_path: "{_pbtxt_escape(metadata_path)}"\n}}\n'
        blocks.append(entry)
    return "".join(blocks)


def _pbtxt_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _hparam_value(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    return getattr(value, "__name__", None) or str(value)


def _hparams_summary(tag: str, session_start_info: dict | None = None, experiment=None,
                     session_end_status: str | None = None):
    """One tensorboardX ``Summary`` carrying HParams plugin data: what tensorboardX's
    ``summary.hparams`` builds, one piece at a time (the session starts at train begin; the
    metric names are known only at the end), with dataset types on the metrics."""
    from tensorboardX.proto import api_pb2, plugin_hparams_pb2
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    data = plugin_hparams_pb2.HParamsPluginData(version=0)
    if session_start_info is not None:
        info = data.session_start_info
        info.start_time_secs = time.time()
        for key, value in session_start_info.items():
            if isinstance(value, bool):
                info.hparams[key].bool_value = value
            elif isinstance(value, float):
                info.hparams[key].number_value = value
            else:
                info.hparams[key].string_value = value
    elif experiment is not None:
        hparams, metrics = experiment
        types = {bool: "DATA_TYPE_BOOL", float: "DATA_TYPE_FLOAT64", str: "DATA_TYPE_STRING"}
        data.experiment.time_created_secs = time.time()
        for key, value in hparams.items():
            data.experiment.hparam_infos.add(name=key, type=api_pb2.DataType.Value(types[type(value)]))
        for name in metrics:
            data.experiment.metric_infos.add(
                name=api_pb2.MetricName(tag=f"hparams/{name}"),
                dataset_type=api_pb2.DatasetType.Value(
                    "DATASET_VALIDATION" if name.startswith("val_") else "DATASET_TRAINING"))
    else:
        data.session_end_info.status = api_pb2.Status.Value(session_end_status)
        data.session_end_info.end_time_secs = time.time()
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name=_HPARAMS_PLUGIN, content=data.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])


def _weight_image(array: np.ndarray) -> np.ndarray | None:
    """A weight as NHWC images scaled to [0, 1], as Keras lays it out; None if it has no 2D view."""
    w = np.squeeze(array).astype(np.float32)
    if w.ndim == 1:                      # a bias: one row
        w = w.reshape(1, 1, w.shape[0], 1)
    elif w.ndim == 2:                    # a Dense kernel: the long side horizontal
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:                    # a squeezed conv kernel (kh, kw, out): one image per filter
        w = np.transpose(w, (2, 0, 1))[..., None]
    else:
        return None
    low, high = float(w.min()), float(w.max())
    return (w - low) / (high - low) if high > low else np.zeros_like(w)


def _write_out(writer) -> None:
    """Puts every event ``writer`` (a tensorboardX ``SummaryWriter``) was given into its files.

    tensorboardX's ``flush()`` flushes only the events its writer thread has taken from its
    queue so far, and that thread flushes what it takes later only every ``flush_secs`` (120 s):
    an epoch's scalars could still be in memory when a backup of that epoch was on disk, and a
    SIGKILL then lost them for good. The thread is stopped instead (it writes every event queued
    before the stop), the file flushed, and a new thread started on the same queue and file.
    """
    for file_writer in list((writer.all_writers or {}).values()):
        events = file_writer.event_writer
        if getattr(events, "_closed", False):
            continue
        if not all(hasattr(events, a) for a in ("_worker", "_ev_writer", "_event_queue", "_flush_secs")):
            file_writer.flush()   # another tensorboardX than 2.6's layout: its own flush is all there is
            continue
        events._worker.stop()
        events._ev_writer.flush()
        events._worker = type(events._worker)(events._event_queue, events._ev_writer, events._flush_secs)
        events._worker.start()
