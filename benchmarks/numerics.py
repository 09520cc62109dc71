"""What each training-numerics feature costs per step, against the plain step (highlevel only).

    python benchmarks/numerics.py [--workloads mlp,cnn] [--repeats 3] [--quick] [--json out.json]

Variants (``child.py``): ``highlevel`` (Adam, float32), ``highlevel-accum4``
(``gradient_accumulation_steps=4``), ``highlevel-ema`` (``use_ema=True``),
``highlevel-clip`` (``global_clipnorm=1.0``), ``highlevel-bf16`` (``mixed_bfloat16``) and
``highlevel-f16`` (``mixed_float16``, with dynamic loss scaling). Every run is a fresh
process (``run.py``'s ``run_child``); repeats are interleaved and the order rotates. The
table gives medians of the steady time per training step (batch size / steady samples/s:
one batch, whether or not it applies an update) and its ratio to the plain step, the
first epoch (compilation included) and the peak memory. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import _median, machine, run_child  # noqa: E402
from workloads import spec  # noqa: E402

VARIANTS = ["highlevel", "highlevel-accum4", "highlevel-ema", "highlevel-clip", "highlevel-bf16", "highlevel-f16"]
WHAT = {"highlevel": "plain step (Adam, float32)", "highlevel-accum4": "gradient_accumulation_steps=4",
        "highlevel-ema": "use_ema=True", "highlevel-clip": "global_clipnorm=1.0",
        "highlevel-bf16": "mixed_bfloat16", "highlevel-f16": "mixed_float16 + loss scaling"}


def summarize(results: list[dict], workloads: list[str]) -> str:
    lines = []
    for w in workloads:
        wl = spec.get(w)
        lines += [f"\n### {w}: {spec.DESCRIPTIONS[w]}\n",
                  "| variant | ms/step | / plain | first epoch s | peak MB | final loss | runs |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        plain = None
        for v in VARIANTS:
            ok = [r for r in results if r["workload"] == w and r["framework"] == v and "error" not in r]
            if not ok:
                errors = [r["error"] for r in results if r["workload"] == w and r["framework"] == v]
                lines.append(f"| {WHAT[v]} | failed: {errors[0] if errors else 'not run'} |")
                continue
            ms = _median([1000.0 * wl.batch_size / r["steady_samples_per_s"] for r in ok if r["steady_samples_per_s"]])
            if v == "highlevel":
                plain = ms
            ratio = f"{ms / plain:.2f}" if plain and ms else "-"
            lines.append(f"| {WHAT[v]} | {ms:.2f} | {ratio} | {_median([r['first_epoch_s'] for r in ok]):.2f} "
                         f"| {_median([r['peak_rss_mb'] for r in ok]):.0f} "
                         f"| {_median([r['final_loss'] for r in ok]):.4g} | {len(ok)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="mlp,cnn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small epochs: a smoke run")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in spec.NAMES:
            parser.error(f"unknown workload {w!r}; choose from {', '.join(spec.NAMES)}")
    info = machine()
    info["loadavg_start"] = os.getloadavg()
    started = time.perf_counter()
    results = []
    for rep in range(args.repeats):
        for w in workloads:
            order = VARIANTS[rep % len(VARIANTS):] + VARIANTS[:rep % len(VARIANTS)]
            for v in order:
                r = run_child(v, w, args.quick, args.timeout)
                r["repeat"] = rep
                results.append(r)
                msg = r.get("error") or f"{r['steady_samples_per_s']:,.0f} samples/s, loss {r['final_loss']:.4g}"
                print(f"[repeat {rep + 1}/{args.repeats}] {w:6s} {v:18s} {msg}", file=sys.stderr, flush=True)
    info["loadavg_end"] = os.getloadavg()
    info["total_s"] = time.perf_counter() - started
    command = "python benchmarks/numerics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"`{command.strip()}`: medians of {args.repeats} interleaved runs in fresh processes, {info['date']}, "
          f"{info['total_s'] / 60:.1f} min; load average {info['loadavg_start'][0]:.1f} at the start, "
          f"{info['loadavg_end'][0]:.1f} at the end ({info['cores']} cores).")
    print(summarize(results, workloads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "command": command, "runs": results}, f, indent=1)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
