"""The peak FLOP/s of a device: the denominator of model FLOP utilisation (MFU).

Known for the accelerators in ``PEAK_FLOPS`` (dense, no sparsity, from the vendors' data
sheets), looked up by the device's ``device_kind``. On NVIDIA GPUs since Ampere, jax runs
float32 matrix products as TF32 by default, so the float32 figure is the TF32 one; on TPUs
float32 products run as bfloat16 passes by default, so both figures are the bfloat16 one.
A CPU's peak is not listed (it depends on the cores, the clock and the vector units): set
it with ``HIGHLEVEL_PEAK_FLOPS`` (FLOP/s per device) or ``set_peak_flops(...)``, which
also override the table for any device.
"""

from __future__ import annotations

import os

import jax
import numpy as np

__all__ = ["PEAK_FLOPS", "PEAK_FLOPS_VARIABLE", "peak_flops", "set_peak_flops"]

#: ``(substring of the lower-cased device_kind, {"float32": FLOP/s, "bfloat16": FLOP/s})``, the
#: first match wins (so ``"h100 pcie"`` comes before ``"h100"``). "bfloat16" also stands for float16.
PEAK_FLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("gh200", {"float32": 494.7e12, "bfloat16": 989.4e12}),
    ("h200", {"float32": 494.7e12, "bfloat16": 989.4e12}),
    ("h100 pcie", {"float32": 378e12, "bfloat16": 756e12}),
    ("h100", {"float32": 494.7e12, "bfloat16": 989.4e12}),
    ("a100", {"float32": 156e12, "bfloat16": 312e12}),
    ("l40s", {"float32": 183e12, "bfloat16": 362e12}),
    ("l4", {"float32": 60e12, "bfloat16": 121e12}),
    ("v100", {"float32": 15.7e12, "bfloat16": 125e12}),
    ("tpu v6", {"float32": 918e12, "bfloat16": 918e12}),
    ("tpu v5 lite", {"float32": 197e12, "bfloat16": 197e12}),
    ("tpu v5e", {"float32": 197e12, "bfloat16": 197e12}),
    ("tpu v5", {"float32": 459e12, "bfloat16": 459e12}),
    ("tpu v4", {"float32": 275e12, "bfloat16": 275e12}),
)

#: The environment variable holding a peak (FLOP/s per device) that overrides the table.
PEAK_FLOPS_VARIABLE = "HIGHLEVEL_PEAK_FLOPS"

# set_peak_flops's value, over the environment variable (process-wide, as jax.config's).
_chosen: float | None = None


def _positive(value, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{where} must be a positive number of FLOP/s per device (e.g. 2.5e11), got {value!r}.")
    return number


def set_peak_flops(flops_per_second: float | None) -> None:
    """Sets the peak FLOP/s of one device, over the table and ``HIGHLEVEL_PEAK_FLOPS`` (None: back to them).

    Model FLOP utilisation (``mfu`` in ``model.trainer.throughput``) is logged only where a
    peak is known; set one for a CPU, or for an accelerator missing from ``PEAK_FLOPS``.

    Args:
      flops_per_second: the device's peak (FLOP/s), or None.

    >>> import highlevel as hl
    >>> hl.backend.set_peak_flops(2.5e11)
    >>> hl.backend.peak_flops()
    250000000000.0
    >>> hl.backend.set_peak_flops(None)
    """
    global _chosen
    _chosen = None if flops_per_second is None else _positive(flops_per_second, "set_peak_flops's value")


def peak_flops(dtype="float32", device=None) -> float | None:
    """The peak FLOP/s of one device for matrix products in ``dtype``; None when unknown.

    ``set_peak_flops``'s value first, then ``HIGHLEVEL_PEAK_FLOPS``, then ``PEAK_FLOPS`` by the
    device's kind.

    Args:
      dtype: the compute dtype: float32 (the default), or bfloat16/float16.
      device: a ``jax.Device``; by default the first of ``jax.devices()``.

    Returns:
      FLOP/s, or None for a device whose peak is not known (a CPU, unless set).

    >>> import highlevel as hl
    >>> hl.backend.set_peak_flops(1e12)
    >>> hl.backend.peak_flops("bfloat16")
    1000000000000.0
    >>> hl.backend.set_peak_flops(None)
    """
    if _chosen is not None:
        return _chosen
    value = os.environ.get(PEAK_FLOPS_VARIABLE)
    if value:
        return _positive(value, f"The environment variable {PEAK_FLOPS_VARIABLE}")
    device = jax.devices()[0] if device is None else device
    kind = str(getattr(device, "device_kind", "")).lower()
    half = np.dtype(dtype).itemsize <= 2
    for pattern, peaks in PEAK_FLOPS:
        if pattern in kind:
            return peaks["bfloat16" if half else "float32"]
    return None
