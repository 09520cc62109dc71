"""``PyDataset``: Keras 3's indexable dataset of batches, prefetched on the host by threads or processes."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import multiprocessing
from typing import Any, Iterator

__all__ = ["PyDataset"]


class PyDataset:
    """A dataset of batches by index (Keras's ``keras.utils.PyDataset``).

    Subclass it with ``__len__`` (the number of batches) and ``__getitem__(index)`` (one batch).

    A batch is ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` alone, or ``(x,)``, for
    ``predict``). ``fit``, ``evaluate`` and ``predict`` take the object as their ``x``:
    each epoch reads every index in order, ``workers`` at a time ahead of the step
    (threads, or processes with ``use_multiprocessing=True``, keeping up to
    ``max_queue_size`` batches ready), then calls ``on_epoch_end()``, where a subclass may
    reshuffle. ``on_epoch_begin()`` is called before the first batch of each epoch. As
    Keras's, ``fit(shuffle=True)`` (the default) reads the batches of a dataset with
    ``__len__`` in a shuffled order each epoch (a permutation of the indices seeded as
    array shuffling is, so a resumed run reads the same order); ``evaluate``, ``predict``
    and ``shuffle=False`` read them in index order.

    Args:
        workers: How many batches are read at the same time (1: one thread ahead of the step).
        use_multiprocessing: Read batches in worker processes (the dataset is pickled to them;
            worth it when ``__getitem__`` holds the GIL, e.g. decoding in pure Python).
        max_queue_size: How many batches may wait ready at most.

    >>> import highlevel as hl, numpy as np
    >>> class Squares(hl.utils.PyDataset):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x = np.arange(10, dtype="float32")[:, None]
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, index):
    ...         rows = slice(4 * index, 4 * index + 4)
    ...         return self.x[rows], self.x[rows] ** 2
    >>> data = Squares(workers=2)
    >>> [len(x) for x, _ in data]
    [4, 4, 2]
    >>> model = hl.Sequential([hl.Input((1,)), hl.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> model.fit(data, epochs=1, verbose=0).history["loss"][0] > 0
    True
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        if int(workers) < 1:
            raise ValueError(f"PyDataset: workers must be >= 1, got {workers}.")
        if int(max_queue_size) < 1:
            raise ValueError(f"PyDataset: max_queue_size must be >= 1, got {max_queue_size}.")
        self._workers = int(workers)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = int(max_queue_size)

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)``), or None for an endless dataset."""
        try:
            return len(self)
        except TypeError:
            return None

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches).")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning one batch.")

    def on_epoch_begin(self) -> None:
        """Called before each epoch's first batch is read."""

    def on_epoch_end(self) -> None:
        """Called after each epoch's last batch has been read (e.g. to reshuffle)."""

    def _executor(self):
        if self.use_multiprocessing:
            context = multiprocessing.get_context("spawn")
            return concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context)
        return concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="highlevel-pydataset")

    def __iter__(self) -> Iterator[Any]:
        """One epoch: every batch in index order, read ahead by the workers."""
        count = self.num_batches
        if count is None:
            raise ValueError(f"{type(self).__name__} has no __len__; highlevel reads a PyDataset epoch by epoch, so "
                             "define __len__ (the number of batches per epoch).")
        return self.read(0, count)

    def read(self, start: int, stop: int, order=None) -> Iterator[Any]:
        """One epoch of batches ``start`` to ``stop - 1`` in index order (or of ``order[start:stop]``,
        the batch indices in the order to read them), read ahead by the workers, between
        ``on_epoch_begin`` and ``on_epoch_end`` (``fit`` with ``steps_per_epoch`` reads a part
        of the dataset per epoch, as Keras; ``fit(shuffle=True)`` gives a shuffled ``order``)."""
        indices = list(range(start, stop)) if order is None else [int(i) for i in order[start:stop]]
        self.on_epoch_begin()
        if self.workers == 1 and not self.use_multiprocessing and self.max_queue_size <= 1:
            for index in indices:
                yield self[index]
        else:
            ahead = max(self.workers, self.max_queue_size)
            executor = self._executor()
            read = _read_in_process if self.use_multiprocessing else type(self).__getitem__
            try:
                pending: collections.deque = collections.deque()
                upcoming = iter(indices)
                for index in itertools.islice(upcoming, ahead):
                    pending.append(executor.submit(read, self, index))
                while pending:
                    batch = pending.popleft().result()
                    for index in itertools.islice(upcoming, 1):
                        pending.append(executor.submit(read, self, index))
                    yield batch
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
        self.on_epoch_end()


def _read_in_process(dataset: PyDataset, index: int) -> Any:
    return dataset[index]
