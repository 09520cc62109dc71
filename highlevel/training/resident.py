"""Training data kept on the device: each step slices its own batch from it.

For in-memory arrays that fit, ``fit`` copies the data set to the device once. Each epoch
one vector of row indices (the epoch's shuffled order, padded to whole batches) goes to
the device and one compiled gather (``epoch_rows``) puts the rows in that order; the
compiled step slices its batch out of them by the step number, so a step costs the host
one call with arguments that are all on the device already: no host gather, no per-step
copy of four arrays. (Profiled on an H200, copying each batch from the host was 0.45 of
the 1.04 ms of host time per step of the MLP.) The batches are the ones the host path
makes, padding and mask included, so the result is the same up to float rounding.

Why a gather an epoch and not one per step: inside a fused loop (``lax.scan``) XLA:CPU's
gather of a batch through the index vector cost the tiny 20-32-1 model twice its step
(17.4 against 8.3 ms an epoch of 1024 steps; benchmarks/RESULTS.md), while a slice of
rows already in order costs what a hand-written loop over pre-shuffled batches does. The
price is a second copy of the data on the device while an epoch runs.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import backend as _backend
from highlevel.training import weights
from highlevel.training.data import ArrayAdapter, Batch

__all__ = ["ResidentData", "resident_steps", "epoch_rows", "fits_on_device", "bucket"]

#: The largest data set (bytes of x, y and sample weights) kept on a CPU "device": there the
#: copy is a second copy in the same memory, worth it only where per-step costs dominate.
CPU_LIMIT_BYTES = 64 << 20
#: ... and on an accelerator, where the data would otherwise cross the bus every step.
ACCELERATOR_LIMIT_BYTES = 2 << 30


def _nbytes(adapter: ArrayAdapter) -> int:
    leaves = jax.tree_util.tree_leaves((adapter.x, adapter.y, adapter.sample_weight))
    return int(sum(np.asarray(a).nbytes for a in leaves))


def fits_on_device(adapter, backend: str | None = None, limit: int | None = None) -> bool:
    """Whether ``fit`` keeps this adapter's data on the device (in-memory arrays that fit).

    Args:
      adapter: the training data adapter.
      backend: ``"cpu"``, ``"gpu"``, ``"tpu"`` (default: ``hl.backend.name()``).
      limit: the largest size in bytes (default: 64 MiB on a CPU, 2 GiB on an accelerator).

    >>> import numpy as np
    >>> from highlevel.training.data import ArrayAdapter
    >>> small = ArrayAdapter(np.zeros((100, 4), "float32"), np.zeros(100, "float32"))
    >>> fits_on_device(small, "cpu"), fits_on_device(small, "cpu", limit=100)
    (True, False)
    """
    if not isinstance(adapter, ArrayAdapter) or adapter.num_samples == 0:
        return False
    backend = backend or _backend.name()
    if limit is None:
        limit = CPU_LIMIT_BYTES if backend == "cpu" else ACCELERATOR_LIMIT_BYTES
    return _nbytes(adapter) <= limit


class ResidentData:
    """An adapter's arrays on the device, and per epoch the order of its rows.

    Args:
      adapter: the in-memory training data (its batch size, shuffling and seed are used).

    >>> import numpy as np
    >>> from highlevel.training.data import ArrayAdapter
    >>> data = ResidentData(ArrayAdapter(np.arange(10.0)[:, None], np.zeros(10), batch_size=4))
    >>> np.asarray(data.order(0))[:12].tolist()   # 3 batches of 4 rows; the last padded with row 8
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 8]
    """

    def __init__(self, adapter: ArrayAdapter):
        self.adapter = adapter
        self.batch_size = adapter.batch_size
        self.num_batches = adapter.num_batches
        # Rows padded up to a size bucket: the step's signature holds the data's shape, so a
        # data set of another size within the bucket reuses the compiled step.
        rows = bucket(adapter.num_samples)
        pad = lambda tree: None if tree is None else jax.tree_util.tree_map(lambda a: _pad_rows(a, rows), tree)
        self.arrays = jax.device_put((pad(adapter.x), pad(adapter.y), pad(adapter.sample_weight)))
        self.num_samples = jax.device_put(np.int32(adapter.num_samples))
        self._order_length = bucket(self.num_batches) * self.batch_size
        self._next: tuple | None = None   # (epoch, its order on the device), made ahead

    def prefetch(self, epoch: int) -> None:
        """Makes ``epoch``'s order now (the host shuffle and its copy to the device: 0.5 ms for
        32k rows), while the device still runs the steps of the epoch before it."""
        self._next = (epoch, self.order(epoch))

    def order(self, epoch: int) -> jax.Array:
        """The epoch's row order, padded to whole batches as the host path pads them."""
        if self._next is not None and self._next[0] == epoch:
            return self._next[1]
        order = self.adapter._order(epoch)
        b, n = self.batch_size, self.adapter.num_samples
        padded = np.zeros(self._order_length, np.int32)
        padded[:n] = order
        padded[n:self.num_batches * b] = order[(n // b) * b] if n % b else 0
        return jax.device_put(padded)

    def executions(self, epoch: int, start: int, k: int, step_count, one, multi):
        """``(args, items)`` for an epoch from execution ``start`` on: the arguments every call
        takes, and per execution the list of step functions to call (``multi`` for a full
        group of ``k`` batches; a partial last group runs batch by batch through ``one``).

        Each step finds its batch from the state's step count, so the arguments are the same
        all epoch: ``step_count`` now (copied on the device, no program compiled) and the
        batch it stands at.
        """
        first = start * k
        base = (jax.device_put(step_count, may_alias=False), jax.device_put(np.int32(first)))
        args = (epoch_rows(self.arrays, self.order(epoch)), self.num_samples, base)
        full = (self.num_batches - first) // k if k > 1 else 0
        tail = self.num_batches - first - full * k
        items = [[multi]] * full + ([[one] * tail] if k > 1 and tail else [[one]] * (tail if k == 1 else 0))
        return args, iter(items)


def bucket(n: int) -> int:
    """``n`` rounded up to a size class: 64, then steps of an eighth of the power of two below.

    >>> [bucket(n) for n in (10, 64, 65, 100, 1000, 1025)]
    [64, 64, 72, 104, 1024, 1152]
    """
    if n <= 64:
        return 64
    step = 1 << (int(n).bit_length() - 4)
    return -(-int(n) // step) * step


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    if len(a) == rows:
        return a
    out = np.zeros((rows,) + a.shape[1:], a.dtype)
    out[:len(a)] = a
    return out


@jax.jit
def epoch_rows(arrays, order):
    """``arrays`` (a tree of row-major arrays; None leaves allowed) with their rows in ``order``.

    One compiled gather per data shape, run once an epoch. The order holds valid rows only:
    no bounds checks or NaN fill in the gather."""
    return jax.tree_util.tree_map(lambda a: a.at[order].get(mode="promise_in_bounds"), arrays)


def _batch_at(rows, num_samples, i, batch_size: int) -> Batch:
    """Batch ``i`` of an epoch's rows in order (``epoch_rows``): a slice, the host path's mask."""
    x, y, sample_weight = rows
    start = i * batch_size
    take = lambda tree: None if tree is None else jax.tree_util.tree_map(
        lambda a: jax.lax.dynamic_slice_in_dim(a, start, batch_size), tree)
    mask = (start + jnp.arange(batch_size) < num_samples).astype(jnp.float32)
    return Batch(take(x), take(y), weights.weight_rows(take(sample_weight), mask), mask)


def resident_steps(train_step: Callable, batch_size: int, k: int) -> tuple[Callable, Callable]:
    """``(one_step, k_steps)``: ``train_step(state, hyper, batch)`` fed from resident data.

    ``one_step(state, hyper, rows, num_samples, base)`` trains on batch
    ``state.step - start_count + first`` of the epoch (``base = (start_count, first)``: the
    optimizer step count when the loop started, at batch ``first``), so successive calls
    take successive batches with identical arguments:
    nothing is copied to the device per step. ``k_steps(...)`` runs k such steps in one
    ``lax.scan``.

    Args:
      train_step: the pure one-batch train step (it advances ``state.step`` by one).
      batch_size: rows per batch (static).
      k: steps fused per call by ``k_steps``.
    """

    def one(state, hyper, rows, num_samples, base):
        start_count, first = base
        i = (state.step - start_count + first).astype(jnp.int32)
        return train_step(state, hyper, _batch_at(rows, num_samples, i, batch_size))

    def one_step(state, hyper, rows, num_samples, base):
        return one(state, hyper, rows, num_samples, base)

    def k_steps(state, hyper, rows, num_samples, base):
        def body(carry, _):
            return one(carry, hyper, rows, num_samples, base), None

        state, _ = jax.lax.scan(body, state, None, length=k)
        return state

    # The compile log and the recompilation tests know the steps by these names.
    one_step.__name__, k_steps.__name__ = "train_step", "multi_train_step"
    return one_step, k_steps
