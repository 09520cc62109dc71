"""``steps_per_execution="auto"``: how many train steps to fuse into one compiled call.

Fusing K steps (one ``lax.scan`` over K batches) saves K - 1 host dispatches, worth
about 100-200 us each on CPU and tens of microseconds on GPU/TPU, and costs
whatever the backend loses by running the step inside a while loop. The decision
is a pure function of a few facts about the step, measured on the project's
machines (``benchmarks/RESULTS.md``):

* **CPU**: a rolled scan makes convolution gradients 19-45x slower (XLA:CPU runs
  them inside the while loop without its fast paths), and a large dense step
  gains nothing from fewer dispatches. Dense in-H-H-10 classifiers, batch 128,
  32 fused steps against one step a call (2-core machine under load, two
  interleaved runs each): 9e5 FLOPs per step 2.7x/3.6x faster, 6e6 2.0x/2.7x,
  1.8e7 1.8x/1.2x, 6.2e7 1.08x/1.05x, 4.2e8 (784-512-512-10) 0.77x/0.98x, 1.25e9
  1.15x/0.97x; the tiny 20-32-1 model (2e5) about 5x. So: fuse only without
  convolutions and under ``CPU_MAX_FLOPS``.
* **GPU/TPU**: the device runs asynchronously; the host's per-step work is hidden
  behind any step whose device time exceeds it, and only shorter steps leave the
  device idle between dispatches. A while loop's per-iteration cost on the device
  is a few microseconds, and convolutions run at full speed in it. On one H200,
  32 fused steps against one a call: tiny 8.5x, MLP (4.4e8 FLOPs) 3.3x, the CNN
  (3.1e8) 2.0x, the small ResNet (3.8e8) 1.24x: every one of these steps is shorter
  than the host's ~0.5 ms of work per step. So: fuse every step under
  ``ACCELERATOR_MAX_FLOPS`` (about 1 ms of device time at a modest 1e13 FLOP/s),
  convolutions included; XLA analyzes only compiled programs there, so the count
  is ``estimate_flops`` (no compilation is spent on the decision).

Everywhere K is capped so that K stacked batches stay under ``MAX_GROUP_BYTES``
(they are gathered on the host and copied as one), and chosen so that an epoch
needs few calls (a partial last group runs step by step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["choose_steps_per_execution", "flops_of", "estimate_flops", "has_convolution", "batch_bytes",
           "FUSED_STEPS", "CPU_MAX_FLOPS", "ACCELERATOR_MAX_FLOPS", "MAX_GROUP_BYTES"]

FUSED_STEPS = 32              # the most steps one call fuses
CPU_MAX_FLOPS = 3e7           # per step: fusing gains clearly below, at most ~5% above, loses at 4e8
ACCELERATOR_MAX_FLOPS = 1e10  # per step: about 1 ms of device time
MAX_GROUP_BYTES = 64 << 20    # host memory for one group of K stacked batches
_ACCELERATORS = ("gpu", "cuda", "rocm", "tpu")


def choose_steps_per_execution(flops_per_step: float | None, has_conv: bool, backend: str,
                               steps_per_epoch: int | None, batch_bytes: int | None = None) -> int:
    """The number of train steps to fuse into one compiled call (1: no fusion).

    Args:
      flops_per_step: the train step's floating-point operations (XLA's cost analysis, or
        ``estimate_flops``); None when unknown, which fuses nothing on CPU.
      has_conv: whether the model has convolutions.
      backend: ``hl.backend.name()``: "cpu", "gpu", "cuda", "rocm" or "tpu".
      steps_per_epoch: batches per epoch, or None when unknown (an iterable without length).
      batch_bytes: the bytes of one batch, to cap the host memory of a group.

    Returns:
      An integer K >= 1.

    >>> choose_steps_per_execution(2e5, False, "cpu", 1024)   # a tiny dense model
    32
    >>> choose_steps_per_execution(6e9, True, "cpu", 1024)    # a CNN on CPU
    1
    >>> choose_steps_per_execution(6e9, True, "gpu", 100)     # the CNN on a GPU; 4 calls an epoch
    25
    """
    backend = str(backend).lower()
    if backend == "cpu":
        if has_conv or flops_per_step is None or flops_per_step > CPU_MAX_FLOPS:
            return 1
    elif backend in _ACCELERATORS:
        if flops_per_step is not None and flops_per_step > ACCELERATOR_MAX_FLOPS:
            return 1
    else:
        return 1
    most = FUSED_STEPS
    if batch_bytes:
        most = min(most, int(MAX_GROUP_BYTES // max(int(batch_bytes), 1)))
    if steps_per_epoch is not None:
        most = min(most, int(steps_per_epoch))
    if most < 2:
        return 1
    if steps_per_epoch is None:
        return most
    # Fewest calls per epoch (full groups plus the steps of the partial last one), then the largest K.
    n = int(steps_per_epoch)
    return min(range(2, most + 1), key=lambda k: (n // k + n % k, -k))


def flops_of(lowered: Any) -> float | None:
    """The FLOPs of a lowered step from XLA's cost analysis (no compilation); None if unavailable."""
    try:
        cost = lowered.cost_analysis()
    except Exception:  # noqa: BLE001 - backends without cost analysis raise various errors
        return None
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    if not isinstance(cost, dict):
        return None
    flops = cost.get("flops")
    return float(flops) if flops is not None and flops >= 0 else None


def estimate_flops(num_params: int, batch_size: int) -> float:
    """A dense model's train-step FLOPs: 2 per weight per sample forward, twice that backward."""
    return 6.0 * float(num_params) * float(batch_size)


def has_convolution(module: Any) -> bool:
    """Whether a module (or any module inside it) is a convolution layer: Conv1D/2D/3D,
    their transposes, depthwise and separable convolutions, ``nnx.Conv``."""
    from flax import nnx
    for _, node in nnx.iter_graph(module):
        if isinstance(node, nnx.Module) and "conv" in type(node).__name__.lower():
            return True
    return False


def batch_bytes(spec: Any) -> int:
    """The bytes of one batch, from its arrays or ``jax.ShapeDtypeStruct``s."""
    import jax
    return int(sum(int(np.prod(leaf.shape)) * np.dtype(leaf.dtype).itemsize
                   for leaf in jax.tree_util.tree_leaves(spec)))
