"""Predictions for batches of any size from one compiled function per batch-size bucket.

A request of 5 rows runs the function compiled for 8 rows on the 5 rows padded with
zeros (the padding's outputs are dropped): a server compiles once per bucket, never
once per request size. A batch over the largest bucket runs in pieces of that size.
"""

from __future__ import annotations

import threading
from typing import Sequence

import jax
import numpy as np

from highlevel.export import InferenceFunction

__all__ = ["BucketedPredictor", "default_buckets"]


def default_buckets(max_batch_size: int) -> tuple[int, ...]:
    """Powers of two up to ``max_batch_size``, and ``max_batch_size`` itself.

    Args:
      max_batch_size: the largest batch one compiled call takes.

    >>> default_buckets(48)
    (1, 2, 4, 8, 16, 32, 48)
    """
    if int(max_batch_size) < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}.")
    buckets, b = [], 1
    while b < max_batch_size:
        buckets.append(b)
        b *= 2
    return tuple(buckets + [int(max_batch_size)])


class BucketedPredictor:
    """Runs an ``InferenceFunction`` jitted once per batch-size bucket, padding each batch up to its bucket.

    Args:
      function: the model's ``hl.export.InferenceFunction``.
      buckets: the batch sizes to compile for (default ``default_buckets(max_batch_size)``).
      max_batch_size: the largest bucket, when ``buckets`` is not given.

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> predictor = BucketedPredictor(hl.export.InferenceFunction(model), max_batch_size=8)
    >>> [predictor.predict([np.ones((n, 3), "float32")])[0].shape for n in (1, 3, 5, 11)]
    [(1, 2), (3, 2), (5, 2), (11, 2)]
    >>> predictor.compiled_buckets   # 11 rows ran as 8 + 3 (padded to 4)
    [1, 4, 8]
    """

    def __init__(self, function: InferenceFunction, buckets: Sequence[int] | None = None,
                 max_batch_size: int = 64):
        self.function = function
        self.buckets = tuple(sorted(set(int(b) for b in buckets))) if buckets else default_buckets(max_batch_size)
        if self.buckets[0] < 1:
            raise ValueError(f"buckets must be positive batch sizes, got {list(self.buckets)}.")
        self.max_batch_size = self.buckets[-1]
        self._variables = jax.device_put(function.variables)
        self._apply = jax.jit(function.apply)
        self._compiled: set[int] = set()
        self._lock = threading.Lock()

    @property
    def compiled_buckets(self) -> list[int]:
        """The buckets compiled so far, ascending."""
        return sorted(self._compiled)

    def bucket(self, rows: int) -> int:
        """The smallest bucket that holds ``rows`` rows (at most the largest bucket).

        Args:
          rows: the batch size.

        >>> import highlevel as hl
        >>> fn = hl.export.InferenceFunction(hl.Sequential([hl.Input((1,)), hl.layers.Dense(1)]))
        >>> BucketedPredictor(fn, buckets=(1, 4, 16)).bucket(5)
        16
        """
        for b in self.buckets:
            if rows <= b:
                return b
        return self.max_batch_size

    def warm_up(self) -> None:
        """Compiles every bucket now, so that no request waits for a compilation."""
        for b in self.buckets:
            self._run([np.zeros(s.batch_shape(b), s.dtype) for s in self.function.inputs], b)

    def _run(self, inputs: list[np.ndarray], rows: int) -> list[np.ndarray]:
        size = self.bucket(rows)
        padded = [x if len(x) == size else np.concatenate([x, np.zeros((size - len(x),) + x.shape[1:], x.dtype)])
                  for x in inputs]
        if size not in self._compiled:
            with self._lock:   # one thread compiles a bucket; the others wait for it
                outputs = self._apply(self._variables, padded)
                self._compiled.add(size)
        else:
            outputs = self._apply(self._variables, padded)
        return [np.asarray(o)[:rows] for o in outputs]

    def predict(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The outputs (one array per output) for ``inputs`` (one array per input, same rows).

        Args:
          inputs: one array per input, in ``function.inputs``' order, already of its dtype.
        """
        inputs = [np.asarray(x, s.dtype) for x, s in zip(inputs, self.function.inputs)]
        rows = len(inputs[0])
        if rows <= self.max_batch_size:
            return self._run(inputs, rows)
        parts = [self._run([x[i:i + self.max_batch_size] for x in inputs], min(self.max_batch_size, rows - i))
                 for i in range(0, rows, self.max_batch_size)]
        return [np.concatenate(p) for p in zip(*parts)]
