"""Several processes (hosts) training one model: ``jax.distributed`` underneath.

Over several processes every process runs the same program. Each feeds ``fit``,
``evaluate`` and ``predict`` its own rows (``shard`` picks them) and the global batch is
assembled on the devices from the processes' local rows. Reading arrays back to the host
(``to_host``) is collective: every process takes part and gets the whole array. Files are
written by process 0 alone (``on_chief``), while the others wait for it, so a checkpoint,
a log or a run directory is never written twice or read before it is whole.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax
import numpy as np

__all__ = ["initialize", "process_index", "process_count", "is_chief", "shard", "process_rows", "to_host",
           "on_chief", "barrier"]


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, cpu_collectives: str | None = "gloo") -> None:
    """Joins this process to a multi-process run (``jax.distributed.initialize``).

    Call it first, before anything touches a device. Arguments not given come from the
    environment: ``HIGHLEVEL_COORDINATOR`` (``host:port`` of process 0),
    ``HIGHLEVEL_NUM_PROCESSES`` and ``HIGHLEVEL_PROCESS_ID``, or whatever
    ``jax.distributed.initialize`` detects itself (SLURM, Open MPI, Cloud TPU). Afterwards
    ``jax.devices()`` lists every process's devices, so ``hl.distribute.DataParallel()``
    spans them all. Each process then passes its own rows to ``fit`` (see ``shard``) with
    the *global* ``batch_size``; each step trains on every process's rows together.

    Args:
      coordinator_address: ``"host:port"`` of process 0's coordinator.
      num_processes: how many processes take part.
      process_id: this process's index, ``0 .. num_processes - 1``.
      cpu_collectives: the CPU backend's cross-process collectives (``"gloo"``; None keeps
        jax's default, which has none).

    Two shells on one machine (``train.py`` calls ``hl.distribute.initialize()`` first)::

        HIGHLEVEL_COORDINATOR=127.0.0.1:1234 HIGHLEVEL_NUM_PROCESSES=2 HIGHLEVEL_PROCESS_ID=0 python train.py
        HIGHLEVEL_COORDINATOR=127.0.0.1:1234 HIGHLEVEL_NUM_PROCESSES=2 HIGHLEVEL_PROCESS_ID=1 python train.py

    A wrong process id is refused before anything connects:

    >>> import highlevel as hl
    >>> hl.distribute.initialize("127.0.0.1:1234", num_processes=2, process_id=2)
    Traceback (most recent call last):
    ...
    ValueError: process_id=2 is not in 0..1 (num_processes=2).
    """
    coordinator_address = coordinator_address or os.environ.get("HIGHLEVEL_COORDINATOR")
    if num_processes is None and "HIGHLEVEL_NUM_PROCESSES" in os.environ:
        num_processes = int(os.environ["HIGHLEVEL_NUM_PROCESSES"])
    if process_id is None and "HIGHLEVEL_PROCESS_ID" in os.environ:
        process_id = int(os.environ["HIGHLEVEL_PROCESS_ID"])
    if num_processes is not None and process_id is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"process_id={process_id} is not in 0..{num_processes - 1} (num_processes={num_processes}).")
    if cpu_collectives is not None:
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id)


def process_index() -> int:
    """This process's index (0 in a single-process run).

    >>> import highlevel as hl
    >>> hl.distribute.process_index()
    0
    """
    return jax.process_index()


def process_count() -> int:
    """How many processes take part (1 unless ``initialize`` joined several).

    >>> import highlevel as hl
    >>> hl.distribute.process_count()
    1
    """
    return jax.process_count()


def is_chief() -> bool:
    """Whether this process is process 0, the one that writes logs, checkpoints and run directories.

    >>> import highlevel as hl
    >>> hl.distribute.is_chief()
    True
    """
    return jax.process_index() == 0


def process_rows(num_rows: int, index: int | None = None, count: int | None = None) -> slice:
    """The contiguous block of rows process ``index`` of ``count`` reads from ``num_rows``.

    Every process gets ``num_rows // count`` rows, so all run the same number of steps;
    the last ``num_rows % count`` rows are left out.

    Args:
      num_rows: rows in the whole data set.
      index: the process (default: this one).
      count: the number of processes (default: all).

    >>> import highlevel as hl
    >>> hl.distribute.process_rows(10, index=1, count=3)
    slice(3, 6, None)
    """
    index = jax.process_index() if index is None else int(index)
    count = jax.process_count() if count is None else int(count)
    if not 0 <= index < count:
        raise ValueError(f"index={index} is not in 0..{count - 1} (count={count}).")
    per = int(num_rows) // count
    if per == 0:
        raise ValueError(f"{num_rows} rows cannot be shared by {count} processes; give at least {count} rows.")
    return slice(index * per, (index + 1) * per)


def shard(data: Any, index: int | None = None, count: int | None = None) -> Any:
    """This process's rows of an array, or of each array in a tuple/list/dict.

    Slicing is all it does, so an ``np.memmap``, an ``np.load(..., mmap_mode="r")`` array or an
    h5py dataset is read only for this process's rows.

    Args:
      data: an array (rows first), or a tuple/list/dict of arrays with the same number of rows.
      index: the process (default: this one).
      count: the number of processes (default: all).

    >>> import numpy as np, highlevel as hl
    >>> x, y = hl.distribute.shard((np.arange(10), np.arange(10) * 2), index=1, count=2)
    >>> x, y
    (array([5, 6, 7, 8, 9]), array([10, 12, 14, 16, 18]))
    """
    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ValueError("shard() got no arrays; pass an array or a tuple/list/dict of arrays.")
    rows = {int(np.shape(a)[0]) for a in leaves}
    if len(rows) > 1:
        raise ValueError(f"shard() needs arrays with the same number of rows, got {sorted(rows)}.")
    block = process_rows(rows.pop(), index, count)
    return jax.tree_util.tree_map(lambda a: a[block], data)


def _to_host_leaf(leaf):
    if not isinstance(leaf, jax.Array):
        return np.asarray(leaf)
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(_to_host_leaf(jax.random.key_data(leaf)), impl=jax.random.key_impl(leaf))
    if leaf.is_fully_addressable or leaf.is_fully_replicated:
        return np.asarray(leaf)
    from jax.experimental import multihost_utils
    return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))


def to_host(tree: Any) -> Any:
    """The tree with every array copied to the host whole (NumPy).

    Over several processes, an array split across them is gathered, which is a collective:
    every process must call ``to_host`` on the same arrays in the same order.

    Args:
      tree: a pytree of arrays.

    >>> import jax.numpy as jnp, highlevel as hl
    >>> hl.distribute.to_host({"w": jnp.ones(2)})
    {'w': array([1., 1.], dtype=float32)}
    """
    return jax.tree_util.tree_map(_to_host_leaf, tree)


def barrier(name: str) -> None:
    """Waits until every process has reached the barrier ``name`` (nothing in a single process).

    Args:
      name: the barrier's name; every process must use the same one.

    >>> import highlevel as hl
    >>> hl.distribute.barrier("checkpoint written")
    """
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices(name)


def on_chief(fn: Callable[[], Any], name: str) -> Any:
    """Runs ``fn()`` on process 0 only; every process returns once it has finished.

    If ``fn`` fails on process 0, it raises there and a RuntimeError naming ``name`` is
    raised on the other processes, so none carries on as if the file had been written.

    Args:
      fn: what process 0 does (e.g. write a file).
      name: what it is, for the barrier and the error message.

    >>> import highlevel as hl
    >>> hl.distribute.on_chief(lambda: 42, "compute the answer")
    42
    """
    if jax.process_count() == 1:
        return fn()
    from jax.experimental import multihost_utils
    result, error = None, None
    if is_chief():
        try:
            result = fn()
        except BaseException as exc:  # reported to every process below, then re-raised here
            error = exc
    ok = multihost_utils.broadcast_one_to_all(np.int32(error is None))
    if error is not None:
        raise error
    if not int(ok):
        raise RuntimeError(f"process 0 failed to {name}; see its error.")
    return result
