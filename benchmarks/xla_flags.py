"""XLA compiler options, one at a time, against the defaults: does any of them help highlevel?

    python benchmarks/xla_flags.py [--workloads mlp,cnn] [--repeats 2] [--flags "--xla_a=1;--xla_b=0"]

Each (flag set, workload, repeat) trains the benchmark workload with highlevel in a fresh
process (``child.py --framework highlevel``) with ``XLA_FLAGS`` set; repeats are interleaved
and the table gives medians and the ratio to the defaults (steady throughput: higher is
better; first epoch, compilation included: lower is better). The flag sets default to a list
per backend (``CPU_FLAGS``/``GPU_FLAGS``); a flag this jaxlib does not know ends its process,
and the table says so. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CPU_FLAGS = [
    "",
    "--xla_cpu_use_onednn=true",
    "--xla_cpu_use_xnnpack=true",
    "--xla_cpu_enable_fast_math=true",
    "--xla_cpu_multi_thread_eigen=false",
    "--xla_cpu_enable_concurrency_optimized_scheduler=true",
]
GPU_FLAGS = [
    "",
    "--xla_gpu_enable_latency_hiding_scheduler=true",
    "--xla_gpu_autotune_level=0",
    "--xla_gpu_enable_triton_gemm=false",
    "--xla_gpu_enable_command_buffer=",
]


def _backend() -> str:
    out = subprocess.run([sys.executable, "-c", "import jax; print(jax.default_backend())"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _run(flags: str, workload: str, quick: bool, timeout: float) -> dict:
    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + flags).strip(),
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, os.path.join(HERE, "child.py"), "--framework", "highlevel", "--workload", workload]
    if quick:
        cmd.append("--quick")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {proc.returncode}: {tail[0][:120]}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", default="mlp,cnn")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--flags", default=None, help="';'-separated flag sets ('' is the defaults)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    backend = _backend()
    flag_sets = ([""] + [f.strip() for f in args.flags.split(";") if f.strip()] if args.flags is not None
                 else (CPU_FLAGS if backend == "cpu" else GPU_FLAGS))
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    runs: dict = {}
    for rep in range(args.repeats):
        for w in workloads:
            # The order rotates between repeats, so a drift in the machine's speed during the
            # run does not always favour the same flag set.
            for flags in flag_sets[rep % len(flag_sets):] + flag_sets[:rep % len(flag_sets)]:
                r = _run(flags, w, args.quick, args.timeout)
                runs.setdefault((w, flags), []).append(r)
                shown = (f"{r['steady_samples_per_s']:,.0f} samples/s, first epoch {r['first_epoch_s']:.2f} s"
                         if "error" not in r else r["error"])
                print(f"[{rep + 1}/{args.repeats}] {w:6s} {flags or '(defaults)'}: {shown}", flush=True)

    print(f"\n# backend {backend}; medians of {args.repeats}")
    print("| workload | XLA_FLAGS | steady samples/s | / defaults | first epoch s | / defaults |")
    print("|---|---|---:|---:|---:|---:|")
    for w in workloads:
        base = None
        for flags in flag_sets:
            ok = [r for r in runs[(w, flags)] if "error" not in r]
            if not ok:
                print(f"| {w} | `{flags}` | {runs[(w, flags)][0]['error']} | | | |")
                continue
            steady = statistics.median(r["steady_samples_per_s"] for r in ok)
            first = statistics.median(r["first_epoch_s"] for r in ok)
            if flags == "":
                base = (steady, first)
            ratio = (f"{steady / base[0]:.2f}", f"{first / base[1]:.2f}") if base else ("-", "-")
            print(f"| {w} | `{flags or '(defaults)'}` | {steady:,.0f} | {ratio[0]} | {first:.2f} | {ratio[1]} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backend": backend, "runs": [{"workload": w, "flags": fl, **r}
                                                    for (w, fl), rs in runs.items() for r in rs]}, f, indent=1)


if __name__ == "__main__":
    main()
