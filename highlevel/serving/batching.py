"""Batching concurrent requests into one model call, as TF Serving's batching does.

A worker thread takes the first waiting request, then keeps taking more for at most
``timeout_s`` (a few milliseconds) or until ``max_batch_size`` rows are gathered, runs
them as one batch and hands each request its own rows of the outputs. Under load the
model runs fewer, fuller batches.

A batch waits only for requests that are on their way: the server ``announce()``s each
request when it arrives, before reading its body, and the batch runs as soon as every
announced request has joined it (or the timeout passes). So a lone request never waits,
and requests that arrive while the model runs are gathered into the next batch. (On the
2-core development machine, waiting the full timeout every time halved the throughput of
8 closed-loop clients; see benchmarks/RESULTS.md.)
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from typing import Callable, Sequence

import numpy as np

__all__ = ["RequestBatcher"]

_STOP = object()   # close(): finish what is queued, then end
_WAKE = object()   # withdraw(): a batch waiting for a request looks again


class RequestBatcher:
    """Gathers concurrent requests into batches for ``predict`` (one worker thread).

    Args:
      predict: ``predict(inputs) -> outputs``, lists of arrays with the same rows.
      max_batch_size: the most rows one batch gathers (a larger request runs alone).
      timeout_s: how long the first request of a batch waits for others.

    >>> import numpy as np
    >>> batcher = RequestBatcher(lambda xs: [xs[0] * 2], max_batch_size=8, timeout_s=0.005)
    >>> for _ in range(3):
    ...     batcher.announce()   # three requests on their way: a batch waits for them
    >>> futures = [batcher.submit([np.full((2, 1), i, "float32")]) for i in range(3)]
    >>> [f.result()[0].ravel().tolist() for f in futures]
    [[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]]
    >>> batcher.close()
    """

    def __init__(self, predict: Callable[[list], list], max_batch_size: int = 64, timeout_s: float = 0.002):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}.")
        if timeout_s < 0:
            raise ValueError(f"timeout_s must be at least 0, got {timeout_s}.")
        self.predict = predict
        self.max_batch_size = int(max_batch_size)
        self.timeout_s = float(timeout_s)
        self.batch_sizes: list[int] = []   # rows per model call, for tests and benchmarks
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._announced = 0   # requests on their way that have not been submitted (or withdrawn)
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._loop, name="highlevel-batcher", daemon=True)
        self._worker.start()

    def announce(self) -> None:
        """Says that a request is on its way (then ``submit`` or ``withdraw`` it): a batch waits for it."""
        with self._lock:
            self._announced += 1

    def withdraw(self) -> None:
        """Takes back an ``announce()`` whose request will not be submitted (a bad request)."""
        with self._lock:
            self._announced = max(0, self._announced - 1)
            self._queue.put(_WAKE)   # a batch waiting for it looks again

    def submit(self, inputs: Sequence[np.ndarray]) -> concurrent.futures.Future:
        """Queues one request (one array per input); its future gets the outputs' rows.

        Takes back one ``announce()``, if any is outstanding.

        Args:
          inputs: one array per input, all with the same number of rows.
        """
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:   # nothing is queued after close()'s stop mark
            if self._closed:
                raise RuntimeError("The batcher is closed; the server is shutting down.")
            self._announced = max(0, self._announced - 1)
            self._queue.put((list(inputs), future))
        return future

    def _gather(self, first) -> tuple[list, object, bool]:
        """``(batch, carry, stop)``: requests for one call, one left for the next, and whether to stop."""
        batch, rows = [first], len(first[0][0])
        deadline = time.monotonic() + self.timeout_s
        while rows < self.max_batch_size:
            if self._announced == 0 and self._queue.empty():
                break   # nobody else is on the way: run what is here
            remaining = deadline - time.monotonic()
            try:
                # Each submit() and withdraw() puts something in the queue: this wakes for both.
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break   # the timeout passed
            if item is _WAKE:
                continue
            if item is _STOP:
                return batch, None, True
            if rows + len(item[0][0]) > self.max_batch_size:
                return batch, item, False   # it starts the next batch
            batch.append(item)
            rows += len(item[0][0])
        return batch, None, False

    def _run(self, batch: list) -> None:
        sizes = [len(inputs[0]) for inputs, _ in batch]
        try:
            joined = [np.concatenate(parts) for parts in zip(*(inputs for inputs, _ in batch))]
            outputs = self.predict(joined)
        except Exception as err:  # noqa: BLE001  (each waiting request gets the error)
            for _, future in batch:
                future.set_exception(err)
            return
        self.batch_sizes.append(sum(sizes))
        start = 0
        for (_, future), n in zip(batch, sizes):
            future.set_result([o[start:start + n] for o in outputs])
            start += n

    def _loop(self) -> None:
        carry, stopping = None, False
        while True:
            if carry is not None:
                first, carry = carry, None
            elif stopping:
                return
            else:
                first = self._queue.get()
                if first is _STOP:
                    return
                if first is _WAKE:
                    continue
            batch, carry, stop = self._gather(first)
            stopping = stopping or stop
            self._run(batch)

    def close(self) -> None:
        """Finishes the requests already queued, then stops the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._worker.join()
