"""Several processes (hosts) training one model: ``jax.distributed`` underneath."""

from __future__ import annotations

import os

import jax

__all__ = ["initialize", "process_index", "process_count", "is_chief"]


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, cpu_collectives: str | None = "gloo") -> None:
    """Joins this process to a multi-process run (``jax.distributed.initialize``).

    Call it first, before anything touches a device. Arguments not given come from the
    environment: ``HIGHLEVEL_COORDINATOR`` (``host:port`` of process 0),
    ``HIGHLEVEL_NUM_PROCESSES`` and ``HIGHLEVEL_PROCESS_ID``, or whatever
    ``jax.distributed.initialize`` detects itself (SLURM, Open MPI, Cloud TPU). Afterwards
    ``jax.devices()`` lists every process's devices, so ``hl.distribute.DataParallel()``
    spans them all; every process runs the same program on the same global batches and
    places only its own rows on its own devices.

    Args:
      coordinator_address: ``"host:port"`` of process 0's coordinator.
      num_processes: how many processes take part.
      process_id: this process's index, ``0 .. num_processes - 1``.
      cpu_collectives: the CPU backend's cross-process collectives (``"gloo"``; None keeps
        jax's default, which has none).
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
    return jax.process_index()


def process_count() -> int:
    return jax.process_count()


def is_chief() -> bool:
    """Whether this process is process 0, the one that writes logs, checkpoints and run directories."""
    return jax.process_index() == 0
