"""One measurement: one framework variant on one workload, in this (fresh) process.

Prints one JSON line (prefixed ``RESULT ``) with the measurements; ``run.py``
starts this script once per (framework, workload, repeat).

    python benchmarks/child.py --framework flax --workload mlp [--quick]
"""

from __future__ import annotations

import time

_PROCESS_START = time.perf_counter()

import argparse
import importlib
import json
import math
import os
import resource
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import spec  # noqa: E402

# variant -> (module in workloads/, options passed to its train())
VARIANTS = {
    "highlevel": ("hl_fit", {"steps_per_execution": 1}),
    "highlevel-spe32": ("hl_fit", {"steps_per_execution": spec.SCAN_STEPS}),
    "highlevel-auto": ("hl_fit", {"steps_per_execution": "auto"}),
    "keras": ("keras_fit", {"steps_per_execution": 1}),
    "keras-spe32": ("keras_fit", {"steps_per_execution": spec.SCAN_STEPS}),
    "flax": ("flax_loop", {"scan": 1}),
    "flax-scan32": ("flax_loop", {"scan": spec.SCAN_STEPS}),
    "flax-scan32-unrolled": ("flax_loop", {"scan": spec.SCAN_STEPS, "unroll": True}),
    # The same with each epoch's order drawn by NumPy on the host (the device permutation is a sort).
    "flax-scan32-hostorder": ("flax_loop", {"scan": spec.SCAN_STEPS, "host_order": True}),
    "torch": ("torch_loop", {}),
    # One intra-op thread: PyTorch's OpenMP pool collapses when the cores are shared with other work.
    "torch-1t": ("torch_loop", {"threads": 1}),
    # Mixed precision, the same policy in both (float32 weights, half-precision computation).
    "highlevel-bf16": ("hl_fit", {"policy": "mixed_bfloat16"}),
    "keras-bf16": ("keras_fit", {"policy": "mixed_bfloat16"}),
    "highlevel-f16": ("hl_fit", {"policy": "mixed_float16"}),   # with dynamic loss scaling
    "keras-f16": ("keras_fit", {"policy": "mixed_float16"}),
    # The optimizer's training numerics (benchmarks/numerics.py).
    "highlevel-accum4": ("hl_fit", {"optimizer_kwargs": {"gradient_accumulation_steps": 4}}),
    "highlevel-ema": ("hl_fit", {"optimizer_kwargs": {"use_ema": True}}),
    "highlevel-clip": ("hl_fit", {"optimizer_kwargs": {"global_clipnorm": 1.0}}),
}


def device_peak_mb() -> float | None:
    """The accelerator's peak memory in use (None on a CPU or without JAX)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # a backend without memory statistics
        return None
    peak = (stats or {}).get("peak_bytes_in_use")
    return None if peak is None else peak / 2 ** 20


class EpochClock:
    """Called by the training code at each epoch end, after the epoch's loss is on the host."""

    def __init__(self):
        self.times: list[float] = []
        self.losses: list[float] = []

    def __call__(self, loss: float) -> None:
        self.losses.append(float(loss))
        self.times.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--workload", required=True, choices=spec.NAMES)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    workload = spec.get(args.workload, quick=args.quick)
    x, y = spec.make_data(workload)
    module_name, options = VARIANTS[args.framework]
    t_import = time.perf_counter()
    module = importlib.import_module(f"workloads.{module_name}")
    module.import_framework()
    import_s = time.perf_counter() - t_import

    clock = EpochClock()
    t0 = time.perf_counter()  # model construction, compilation and the first epoch count from here
    info = module.train(workload, x, y, clock, **options) or {}
    if len(clock.times) != workload.epochs:
        raise RuntimeError(f"{args.framework} reported {len(clock.times)} epochs, expected {workload.epochs}.")

    epoch_s = [b - a for a, b in zip([t0] + clock.times[:-1], clock.times)]
    steady = epoch_s[1:]
    result = {
        "framework": args.framework,
        "workload": args.workload,
        "quick": args.quick,
        "samples_per_epoch": workload.num_samples,
        "epochs": workload.epochs,
        "import_s": import_s,
        "startup_s": t0 - _PROCESS_START,
        "first_epoch_s": epoch_s[0],
        "epoch_s": epoch_s,
        "steady_samples_per_s": workload.num_samples / statistics.median(steady) if steady else None,
        "losses": clock.losses,
        "final_loss": clock.losses[-1],
        "learned": bool(math.isfinite(clock.losses[-1]) and clock.losses[-1] < clock.losses[0]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "device_peak_mb": device_peak_mb(),
        **info,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
