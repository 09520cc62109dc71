"""Grain datasets in ``fit``/``evaluate``/``predict``: data read, decoded and prefetched by Grain.

Two kinds of Grain dataset are accepted, as ``x``:

* **records** (an unbatched ``grain.MapDataset`` of ``(x, y)`` or ``(x, y, sample_weight)``
  rows, e.g. ``hl.datasets.image_folder.dataset(...)``): ``fit`` does what it does for
  arrays. It cuts the rows into batches of ``batch_size`` (32 by default), shuffles them per
  epoch from the data-order seed (``shuffle=True``, or ``"batch"``), gives each process its
  own block of rows when several feed one model (``ShardByJaxProcess``), and reads each
  batch in Grain's threads (``grain.ReadOptions``) or worker processes
  (``GrainData(worker_count=...)``) while the step runs. One Grain iterator serves the
  whole ``fit`` (worker processes start once), and the length is known, so the progress
  bar has a total.
* **batched** (a ``MapDataset`` or ``IterDataset`` with ``.batch(...)`` in its pipeline, or
  a ``grain.DataLoader``): used as it is, as Keras does; each epoch reads it from the start.
  Shuffling and sharding are the pipeline's own.

Every batch that reaches a step has the same shape: a short batch is padded and masked
(the padding has zero weight), so nothing recompiles at the end of an epoch, and over
several processes every process runs the same number of steps (a process whose block is
a row shorter gets a padding batch).

Exact resumption: after each step the adapter keeps the Grain iterator's state
(``get_state()``), and ``trainer.snapshot()`` carries it as ``data_state``, so
``BackupAndRestore`` resumes a killed ``fit`` at the same batch with ``set_state``.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import itertools
import os
import sys
from typing import Any, Iterator

import jax
import numpy as np

from highlevel.training import weights
from highlevel.training.data import Batch, Stacked, batch_spec
from highlevel.training.data import _class_weights, _constant, _grouped, _tree_standardize

__all__ = ["GrainData", "GrainAdapter", "is_grain_dataset"]

#: Grain dataset classes whose output is batches (a pipeline holding one of them is batched).
_BATCH_CLASSES = ("BatchMapDataset", "BatchIterDataset", "RebatchIterDataset")
#: States kept for ``state_after``: enough for the steps in flight (device prefetch, fused groups).
_STATES_KEPT = 64


def _grain():
    try:
        import grain
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("Grain datasets need the grain package: pip install 'highlevel[data]' "
                          "(or pip install grain).") from err
    return grain


def is_grain_dataset(x) -> bool:
    """True for a ``grain.MapDataset``, ``grain.IterDataset``, ``grain.DataLoader`` or a ``GrainData``.

    Args:
      x: anything passed to ``fit`` as data.

    >>> import grain, numpy as np
    >>> is_grain_dataset(grain.MapDataset.source(np.zeros(4))), is_grain_dataset(np.zeros(4))
    (True, False)
    """
    if isinstance(x, GrainData):
        return True
    grain = sys.modules.get("grain")  # not imported: x cannot be one of its datasets
    if grain is None or not hasattr(grain, "MapDataset"):
        return False
    return isinstance(x, (grain.MapDataset, grain.IterDataset, grain.DataLoader))


@dataclasses.dataclass
class GrainData:
    """A Grain dataset with how ``fit`` reads it: threads, worker processes, process shards.

    Pass it where a dataset goes (``fit(GrainData(ds, worker_count=2), ...)``); a bare Grain
    dataset is read with the defaults.

    Args:
      dataset: a ``grain.MapDataset`` of records (``(x, y)`` rows, unbatched), or a batched
        ``MapDataset``/``IterDataset``/``DataLoader``.
      read_options: ``grain.ReadOptions`` for the threads that read batches ahead of the step
        (default: ``num_threads`` = the CPU count up to 8, ``prefetch_buffer_size`` twice that,
        counted in batches).
      worker_count: worker processes that read and decode batches (``mp_prefetch``); 0 reads in
        threads only. Processes pay off when decoding holds Python's GIL; they take seconds
        to start, once per ``fit``.
      worker_buffer_size: batches each worker process reads ahead.
      shard_options: which rows this process reads (``grain.sharding.ShardOptions``); default
        ``grain.sharding.ShardByJaxProcess()``: process i of n reads the i-th of n blocks.
        Records only: a batched dataset is read as it is.

    >>> import grain, numpy as np, highlevel as hl
    >>> rows = grain.MapDataset.source([(np.ones(2, "float32"), np.float32(1))] * 10)
    >>> data = hl.training.GrainData(rows, shard_options=grain.sharding.ShardOptions(0, 2))
    >>> data.worker_count
    0
    """

    dataset: Any
    read_options: Any = None
    worker_count: int = 0
    worker_buffer_size: int = 2
    shard_options: Any = None


def _is_batched(ds) -> bool:
    grain = _grain()
    if isinstance(ds, grain.DataLoader):
        return True
    seen, todo = set(), [ds]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node).__name__ in _BATCH_CLASSES:
            return True
        todo.extend(getattr(node, "parents", ()) or ())
    return False


def _default_read_options(grain):
    threads = max(1, min(8, os.cpu_count() or 1))
    return grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * threads)


def _split_record(item, targets: bool, what: str):
    """``(x, y, sample_weight)`` of one record or batch (Keras's convention for tuples)."""
    if not targets:
        return (item[0] if isinstance(item, tuple) else item), None, None
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise ValueError(f"Each {what} of a Grain dataset must be (x, y) or (x, y, sample_weight), got "
                         f"{type(item).__name__}. Map it to a tuple first, e.g. ds.map(lambda r: (r['image'], "
                         "r['label'])).")
    return item[0], item[1], (item[2] if len(item) == 3 else None)


def _stack(rows):
    return jax.tree_util.tree_map(lambda *leaves: np.stack([np.asarray(a) for a in leaves]), *rows)


def _pad(x, y, sw, batch_size: int, class_weight, n_real: int | None = None) -> Batch:
    """A batch of exactly ``batch_size`` rows: the first ``n_real`` real (default: all given), the
    rest copies of the first row with zero mask and weight."""
    x, y = _tree_standardize(x, "x"), _tree_standardize(y, "y")
    sw = weights.standardize(sw)
    rows = int(jax.tree_util.tree_leaves(x)[0].shape[0])
    n = rows if n_real is None else n_real
    if rows > batch_size:
        raise ValueError(f"A Grain batch has {rows} rows, more than the first batch's {batch_size}; a batched "
                         "dataset must yield batches of one size (a smaller last batch is fine).")
    sw = weights.combine(sw, None if y is None else _class_weights(y, class_weight))
    pad = batch_size - rows
    if pad:
        grow = lambda t: None if t is None else jax.tree_util.tree_map(
            lambda a: np.concatenate([a, np.repeat(a[:1], pad, axis=0)]), t)
        x, y = grow(x), grow(y)
        sw = weights.pad_rows(sw, pad)
    if n == batch_size:
        mask = _constant((batch_size,), 1.0)
    else:
        mask = np.zeros(batch_size, np.float32)
        mask[:n] = 1.0
    return Batch(x, y, weights.weight_rows(sw, mask), mask)


class _BatchReader:
    """Batch ``j`` of a records dataset, counted over all epochs (epoch ``j // per_epoch``).

    Runs in Grain's reader threads or worker processes (so it is a plain picklable object).
    """

    def __init__(self, source, lo: int, size: int, batch_size: int, per_epoch: int, shuffle, seed: int,
                 class_weight, targets: bool):
        self.source, self.lo, self.size = source, lo, size
        self.batch_size, self.per_epoch = batch_size, per_epoch
        self.shuffle, self.seed = shuffle, seed
        self.class_weight, self.targets = class_weight, targets

    def _any_record(self):
        for i in range(self.lo, self.lo + self.size):
            record = self.source[i]
            if record is not None:
                return record
        raise ValueError("Every record of this process's block of the Grain dataset was filtered out; there is "
                         "nothing to train on. Check the dataset's filter.")

    def epoch_seed(self, epoch: int) -> int:
        return int(np.random.default_rng([self.seed, epoch]).integers(0, 2**31 - 1))

    def rows(self, epoch: int, b: int) -> np.ndarray:
        """Indices into ``source`` of batch ``b`` of ``epoch`` (empty for a padding-only batch)."""
        from grain.experimental import index_shuffle
        size, bs = self.size, self.batch_size
        if self.shuffle == "batch":
            real = -(-size // bs)
            if b < real:
                b = index_shuffle(b, real - 1, self.epoch_seed(epoch), 4)
        positions = range(b * bs, min((b + 1) * bs, size))
        if self.shuffle is True:
            seed = self.epoch_seed(epoch)
            return np.asarray([self.lo + index_shuffle(i, size - 1, seed, 4) for i in positions], np.int64)
        return np.arange(self.lo + positions.start, self.lo + positions.stop, dtype=np.int64)

    def __call__(self, j: int) -> Batch:
        epoch, b = divmod(int(j), self.per_epoch)
        # A filtered MapDataset gives None for the records it drops: the batch is shorter.
        raw = [r for r in (self.source[int(i)] for i in self.rows(epoch, b)) if r is not None]
        n_real = len(raw)
        if n_real == 0:
            raw = [self._any_record()]   # a padding-only batch: any record, weight 0
        records = [_split_record(r, self.targets, "record") for r in raw]
        xs, ys, sws = zip(*records)
        y = None if ys[0] is None else _stack(ys)
        sw = None if sws[0] is None else weights.standardize(_stack(sws))
        return _pad(_stack(xs), y, sw, self.batch_size, self.class_weight, n_real)


class GrainAdapter:
    """Fixed-shape padded batches from a Grain dataset (records or batched), with exact resumption.

    ``make_adapter`` makes one for a Grain dataset (or ``GrainData``); the trainer uses it as
    it uses the array and iterable adapters.

    Args:
      data: a ``grain.MapDataset``/``IterDataset``/``DataLoader``, or a ``GrainData``.
      batch_size: rows per batch for records (default 32); must be None for a batched dataset.
      shuffle: records only: ``True`` shuffles the rows per epoch, ``"batch"`` the batches,
        ``False`` keeps the dataset's order.
      class_weight: ``{class: weight}``, multiplied into the sample weights.
      seed: the data-order seed (the order of epoch e depends only on (seed, e)).
      steps_per_execution: batches per compiled call (``Stacked`` groups).
      steps: at most this many batches per epoch (``steps_per_epoch``).
      targets: False for ``predict``: a record or batch is ``x`` (or a tuple whose first item is ``x``).

    >>> import grain, numpy as np
    >>> rows = grain.MapDataset.source([(np.full(2, i, "float32"), np.float32(i)) for i in range(10)])
    >>> adapter = GrainAdapter(rows, batch_size=4)
    >>> adapter.num_batches, [b.mask.tolist() for b in adapter.batches(0)][-1]
    (3, [1.0, 1.0, 0.0, 0.0])
    """

    def __init__(self, data, *, batch_size: int | None = None, shuffle=False, class_weight: dict | None = None,
                 seed: int = 0, steps_per_execution: int = 1, steps: int | None = None, targets: bool = True):
        grain = _grain()
        options = data if isinstance(data, GrainData) else GrainData(data)
        self.options = options
        self.dataset = options.dataset
        self.read_options = options.read_options or _default_read_options(grain)
        self.class_weight = class_weight
        self.targets = targets
        self.k = int(steps_per_execution)
        self.steps = steps
        self.shuffle = shuffle
        self._seed = int(seed)
        self.batched = _is_batched(self.dataset)
        self.records = isinstance(self.dataset, grain.MapDataset) and not self.batched
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if self.batched and batch_size is not None:
            raise ValueError(f"x is a batched Grain dataset, so fit uses its batches as they are, but batch_size="
                             f"{batch_size} was passed too. Either drop batch_size, or pass the dataset before "
                             "its .batch(...) and let batch_size batch it.")
        if not self.batched and not self.records:
            # An unbatched IterDataset: batched here, read in its own order.
            self.dataset = self.dataset.batch(32 if batch_size is None else int(batch_size))
            self.batched = True
        self._states: collections.OrderedDict = collections.OrderedDict()
        self._pending: dict | None = None
        self._peeked = None
        self._iterator = None      # records: the one Grain iterator kept between epochs...
        self._position = None      # ... and the batch (counted over epochs) it yields next
        self._base = 0             # ... and the batch its dataset starts at
        if self.records:
            self._init_records(batch_size)
        else:
            self.batch_size = None
            n = len(self.dataset) if isinstance(self.dataset, grain.MapDataset) else None
            self.num_batches = n if steps is None else (int(steps) if n is None else min(n, int(steps)))

    # -- records: shards and sizes ----------------------------------------------------------------

    def _init_records(self, batch_size) -> None:
        grain = _grain()
        n = len(self.dataset)
        shard = self.options.shard_options or grain.sharding.ShardByJaxProcess(drop_remainder=False)
        index, count = int(shard.shard_index), int(shard.shard_count)
        if not 0 <= index < count:
            raise ValueError(f"shard_options has shard_index={index} for shard_count={count}; the index must be in "
                             f"[0, {count}).")
        if n < count or n == 0:
            raise ValueError(f"The Grain dataset has {n} records, too few for {count} process shard(s); each "
                             "process needs at least one record.")
        # Grain's even split (its DataLoader's): blocks of n // count, the first n % count one longer.
        per, extra = divmod(n, count)
        if shard.drop_remainder:
            self.lo, self.size, largest = index * per, per, per
        else:
            self.lo = index * per + min(index, extra)
            self.size = per + (1 if index < extra else 0)
            largest = per + (1 if extra else 0)
        self.shard_index, self.shard_count = index, count
        self.num_records = n
        size = 32 if batch_size is None else int(batch_size)
        self.batch_size = min(size, largest)
        # Every process runs the same number of steps: as many as the largest shard needs.
        per_epoch = -(-largest // self.batch_size)
        self.num_batches = per_epoch if self.steps is None else min(per_epoch, int(self.steps))

    def _reader(self) -> _BatchReader:
        return _BatchReader(self.dataset, self.lo, self.size, self.batch_size, self.num_batches, self.shuffle,
                            self._seed, self.class_weight, self.targets)

    # -- what the trainer reads -------------------------------------------------------------------

    @property
    def seed(self) -> int:
        """The data-order seed; changing it (``fit`` sets the program's) restarts the reading."""
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        if int(value) != self._seed:
            self._seed = int(value)
            self.close()

    @property
    def num_executions(self) -> int | None:
        return None if self.num_batches is None else -(-self.num_batches // self.k)

    def peek(self):
        """``(x, y, sample_weight)`` of the first batch, for building the model (not consumed)."""
        if self._peeked is None:
            if self.records:
                reader = _BatchReader(self.dataset, self.lo, self.size, self.batch_size, self.num_batches, False,
                                      0, None, self.targets)
                first = reader(0)
                self._peeked = (first.x, first.y, first.sample_weight)
            else:
                iterator = self._epoch_iterator()
                try:
                    raw = next(iter(iterator), None)
                finally:
                    _close(iterator)
                if raw is None:
                    raise ValueError("The Grain dataset yielded no batches.")
                x, y, sw = _split_record(raw, self.targets, "batch")
                self._peeked = (_tree_standardize(x, "x"), _tree_standardize(y, "y"), sw)
                self.batch_size = int(jax.tree_util.tree_leaves(self._peeked[0])[0].shape[0])
        return self._peeked

    def check_against(self, model, loss, *, validation=None, epochs=None, initial_epoch: int = 0) -> None:
        """The checks fit makes before training: ``epochs`` (when given) and the validation data's.

        Grain records are not peeked here (reading would advance the pipeline, and decoding
        costs); their shapes are checked when the step is traced from ``batch_spec``."""
        from highlevel.training import checks
        if epochs is not None:
            checks.check_epochs(epochs, initial_epoch)
        if validation is not None and validation is not self:
            validation.check_against(model, loss)

    def batch_spec(self) -> Batch:
        """The shapes and dtypes of one padded batch (``jax.ShapeDtypeStruct``\\ s)."""
        x, y, sw = self.peek()
        return batch_spec(x, y, sw, self.batch_size)

    def batches(self, epoch: int = 0, start: int = 0, k: int | None = None) -> Iterator:
        """The epoch's batches from execution ``start`` on: single batches, or with k > 1 each full
        group of k as one ``Stacked`` batch and the rest of the epoch as a list of batches."""
        k = self.k if k is None else k
        pending = self._take_pending(epoch, start)
        if self.records:
            return self._record_batches(epoch, start, k, pending)
        return self._stream_batches(epoch, start, k, pending)

    # -- exact resumption -------------------------------------------------------------------------

    def state_after(self, epoch: int, step: int) -> dict:
        """Where the data stands after ``step`` executions of ``epoch``: the position and the Grain
        iterator's state (JSON-able), for ``trainer.snapshot()``'s ``data_state``."""
        state = self._states.get((int(epoch), int(step)))
        return dict(state) if state is not None else {"epoch": int(epoch), "step": int(step)}

    def set_state(self, state: dict | None) -> None:
        """Continues from a ``state_after`` result at the next ``batches(epoch, step)`` of that position."""
        self._pending = None if not state else dict(state)

    def _take_pending(self, epoch: int, start: int) -> dict | None:
        pending, self._pending = self._pending, None
        if pending is None or start == 0:
            return None
        if (pending.get("epoch"), pending.get("step")) != (epoch, start):
            return None  # saved elsewhere (an early stop moved the resume point): the position decides
        return pending

    def _record_state(self, epoch: int, step: int, iterator, base: int | None) -> None:
        get_state = getattr(iterator, "get_state", None)
        state = {"epoch": epoch, "step": step}
        if get_state is not None:
            raw = get_state()
            state["iterator"] = {"bytes": raw.decode()} if isinstance(raw, bytes) else copy.deepcopy(raw)
        if base is not None:
            state["base"] = base
        self._states[(epoch, step)] = state
        while len(self._states) > _STATES_KEPT:
            self._states.popitem(last=False)

    # -- records: one iterator over all epochs ------------------------------------------------------

    def _new_iterator(self, base: int, iterator_state=None):
        grain = _grain()
        self.close()
        # Batches numbered over every epoch from ``base`` on: one iterator serves the whole fit.
        dataset = grain.MapDataset.range(base, sys.maxsize // 2).map(self._reader())
        dataset = dataset.to_iter_dataset(self.read_options)
        if self.options.worker_count:
            from absl import flags
            if not flags.FLAGS.is_parsed():
                # grain 0.2.18 reads an absl flag in mp_prefetch and fails when none were parsed
                # (google/grain#1355); an absl app has parsed them already.
                flags.FLAGS.mark_as_parsed()
            dataset = dataset.mp_prefetch(grain.MultiprocessingOptions(
                num_workers=int(self.options.worker_count),
                per_worker_buffer_size=int(self.options.worker_buffer_size)))
        iterator = iter(dataset)
        if iterator_state is not None:
            iterator.set_state(iterator_state)
        self._base = base
        return iterator

    def _checkout(self, first: int, pending: dict | None):
        """The iterator positioned at batch ``first``: the kept one if it is there, else a new one."""
        if pending is not None and "iterator" in pending and "base" in pending:
            return self._new_iterator(int(pending["base"]), pending["iterator"])
        if self._iterator is not None and self._position == first:
            iterator, self._iterator = self._iterator, None
            return iterator
        return self._new_iterator(first)

    def _checkin(self, iterator, position: int) -> None:
        if self._iterator is not None and self._iterator is not iterator:
            _close(self._iterator)
        self._iterator, self._position = iterator, position

    def _record_batches(self, epoch: int, start: int, k: int, pending) -> Iterator:
        per_epoch = self.num_batches
        first = epoch * per_epoch + start * k
        end = (epoch + 1) * per_epoch
        iterator = self._checkout(first, pending)
        base = self._base
        position = first
        step = start
        try:
            while position < end:
                n = min(k, end - position)
                group = []
                for _ in range(n):
                    group.append(next(iterator))
                    position += 1
                step += 1
                self._record_state(epoch, step, iterator, base)
                if k == 1:
                    yield group[0]
                elif n == k:
                    yield Stacked(jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *group))
                else:
                    yield group
        finally:
            # Kept for the next epoch when it stands where this one stopped (also after a break).
            self._checkin(iterator, position)

    # -- batched datasets: read from the start each epoch -------------------------------------------

    def _epoch_iterator(self):
        grain = _grain()
        if isinstance(self.dataset, grain.MapDataset):
            return iter(self.dataset.to_iter_dataset(self.read_options))
        return iter(self.dataset)

    def _stream_batches(self, epoch: int, start: int, k: int, pending) -> Iterator:
        iterator = self._epoch_iterator()
        try:
            skip = start * k
            if skip and pending is not None and "iterator" in pending:
                saved = pending["iterator"]
                iterator.set_state(saved["bytes"].encode() if isinstance(saved, dict) and "bytes" in saved
                                   else saved)
                skip = 0
            raw = itertools.islice(iterator, skip, None) if skip else iterator
            if self.num_batches is not None:
                raw = itertools.islice(raw, max(self.num_batches - start * k, 0))
            step = start
            for item in _grouped(self._padded(raw), k):
                step += 1
                self._record_state(epoch, step, iterator, None)
                yield item
        finally:
            _close(iterator)

    def _padded(self, raw) -> Iterator[Batch]:
        for item in raw:
            x, y, sw = _split_record(item, self.targets, "batch")
            if self.batch_size is None:
                self.batch_size = int(jax.tree_util.tree_leaves(_tree_standardize(x, "x"))[0].shape[0])
            yield _pad(x, y, sw, self.batch_size, self.class_weight)

    def close(self) -> None:
        """Stops the kept Grain iterator (its reader threads or worker processes)."""
        if self._iterator is not None:
            _close(self._iterator)
        self._iterator, self._position = None, None


def _close(iterator) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()
