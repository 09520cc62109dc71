"""Side-by-side training benchmark: highlevel, Keras 3 (JAX), hand-written flax+optax, PyTorch CPU.

    python benchmarks/run.py [--workloads tiny,mlp,cnn,lstm,resnet] [--repeats 3] [--quick]
                             [--frameworks highlevel,keras,flax,torch] [--json out.json]
                             [--policy mixed_bfloat16]

``--policy mixed_bfloat16`` (or ``mixed_float16``) adds highlevel and Keras with that dtype
policy (variants ``highlevel-bf16``/``keras-bf16``, ``highlevel-f16``/``keras-f16``) beside
their float32 runs: on a GPU, ``--workloads cnn,resnet --frameworks highlevel,keras
--policy mixed_bfloat16`` compares float32 and bfloat16 training of both in one run
(samples/s, and the accelerator's peak memory in the ``device MB`` column).

Every (framework, workload, repeat) runs in a fresh process (``child.py``);
repeats are interleaved (repeat 1 runs every framework, then repeat 2, ...), and
the framework order rotates between repeats. The table gives medians over the
repeats of: the time from model construction to the end of the first epoch
(compilation included; imports excluded and shown apart), the steady-state
throughput (median epoch time of the later epochs), the peak resident memory of
the child (ru_maxrss) and the final epoch's mean training loss. Ratios are
against Keras at default settings and against the hand-written flax loop.
Not run by CI; PyTorch (``pip install torch==2.13.0``) is not a project dependency.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workloads import spec  # noqa: E402

DEFAULT_FRAMEWORKS = {
    "tiny": ["highlevel", "highlevel-spe32", "highlevel-auto", "keras", "keras-spe32", "flax", "flax-scan32",
             "flax-scan32-hostorder", "torch"],
    "mlp": ["highlevel", "highlevel-auto", "keras", "flax", "torch"],
    "cnn": ["highlevel", "highlevel-auto", "keras", "flax", "torch"],
    "lstm": ["highlevel", "keras", "flax", "torch"],
    "resnet": ["highlevel", "keras", "flax", "torch"],
}
PACKAGES = ["jax", "jaxlib", "flax", "optax", "keras", "torch", "numpy", "highlevel"]
#: ``--policy``: the variants it adds (child.py's VARIANTS).
POLICY_VARIANTS = {"mixed_bfloat16": ["highlevel-bf16", "keras-bf16"], "mixed_float16": ["highlevel-f16", "keras-f16"]}


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "versions": versions,
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


#: ``--tree NAME=PATH``: a framework ``VARIANT@NAME`` runs VARIANT with the highlevel checked out
#: at PATH first on the path (e.g. the commit before a change, for a before/after table in one run).
TREES: dict[str, str] = {}


def run_child(framework: str, workload: str, quick: bool, timeout: float) -> dict:
    variant, _, tree = framework.partition("@")
    cmd = [sys.executable, os.path.join(HERE, "child.py"), "--framework", variant, "--workload", workload]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONUNBUFFERED="1")
    if tree:
        env["PYTHONPATH"] = os.pathsep.join([TREES[tree], env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"framework": framework, "workload": workload, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["process_wall_s"] = wall
            result["framework"] = framework
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"framework": framework, "workload": workload, "error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(results: list[dict]) -> dict:
    """(workload, framework) -> medians over the repeats that succeeded."""
    groups: dict = {}
    for r in results:
        groups.setdefault((r["workload"], r["framework"]), []).append(r)
    summary = {}
    for key, runs in groups.items():
        ok = [r for r in runs if "error" not in r]
        summary[key] = {
            "runs": len(ok),
            "errors": [r["error"] for r in runs if "error" in r],
            "first_epoch_s": _median([r["first_epoch_s"] for r in ok]),
            "import_s": _median([r["import_s"] for r in ok]),
            "steady": _median([r["steady_samples_per_s"] for r in ok]),
            "rss_mb": _median([r["peak_rss_mb"] for r in ok]),
            "device_mb": _median([r.get("device_peak_mb") for r in ok]),
            "first_loss": _median([r["losses"][0] for r in ok]),
            "final_loss": _median([r["final_loss"] for r in ok]),
            "learned": bool(ok) and all(r["learned"] for r in ok),
            "steps_per_execution": ok[0].get("steps_per_execution") if ok else None,
        }
    return summary


def _ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def table(summary: dict, workloads: list[str], frameworks: dict) -> str:
    lines = []
    for w in workloads:
        wl = spec.get(w)
        lines.append(f"\n### {w}: {spec.DESCRIPTIONS[w]}\n")
        lines.append("| framework | first epoch s | /keras | /flax | steady samples/s | /keras | /flax "
                     "| peak MB | /keras | device MB | import s | loss 1st -> last | learned |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        keras = summary.get((w, "keras"), {})
        flax = summary.get((w, "flax"), {})
        for fw in frameworks[w]:
            s = summary.get((w, fw))
            if s is None:
                continue
            if not s["runs"]:
                lines.append(f"| {fw} | failed: {s['errors'][0]} |")
                continue
            loss = f"{s['first_loss']:.4g} -> {s['final_loss']:.4g}"
            label = f"{fw} (K={s['steps_per_execution']})" if fw.endswith("-auto") else fw
            lines.append(
                f"| {label} | {s['first_epoch_s']:.2f} | {_ratio(s['first_epoch_s'], keras.get('first_epoch_s'))} "
                f"| {_ratio(s['first_epoch_s'], flax.get('first_epoch_s'))} "
                f"| {_num(s['steady'], ',.0f')} | {_ratio(s['steady'], keras.get('steady'))} "
                f"| {_ratio(s['steady'], flax.get('steady'))} "
                f"| {s['rss_mb']:.0f} | {_ratio(s['rss_mb'], keras.get('rss_mb'))} | {_num(s['device_mb'], '.0f')} "
                f"| {s['import_s']:.2f} "
                f"| {loss} | {'yes' if s['learned'] else '**NO: loss did not drop**'} |")
        del wl
    return "\n".join(lines)


def targets(summary: dict) -> str:
    """The issue's target ratios that this run can check."""
    get = lambda w, fw, k: (summary.get((w, fw)) or {}).get(k)
    rows = []

    def check(label, value, goal, higher=True):
        if value is None:
            return
        met = value >= goal if higher else value <= goal
        rows.append(f"| {label} | {value:.3f} | {'>=' if higher else '<='} {goal} | {'met' if met else 'NOT met'} |")

    hl_k = lambda w, a, b, k: (get(w, a, k) / get(w, b, k)) if get(w, a, k) and get(w, b, k) else None
    check("tiny: highlevel / keras, steady", hl_k("tiny", "highlevel", "keras", "steady"), 2.5)
    check("tiny: highlevel-spe32 / keras-spe32, steady", hl_k("tiny", "highlevel-spe32", "keras-spe32", "steady"), 5.0)
    check("tiny: highlevel-auto / keras, steady", hl_k("tiny", "highlevel-auto", "keras", "steady"), 2.5)
    # Round five, item 1: the fused path within 10% of the hand-written scan (epoch order drawn on the host).
    for variant in ("highlevel-spe32", "highlevel-auto"):
        check(f"tiny: {variant} / flax-scan32-hostorder, steady",
              hl_k("tiny", variant, "flax-scan32-hostorder", "steady"), 0.9)
    for w in ("mlp", "cnn", "lstm", "resnet"):
        check(f"{w}: highlevel / keras, steady", hl_k(w, "highlevel", "keras", "steady"), 1.0)
        check(f"{w}: highlevel / flax, steady", hl_k(w, "highlevel", "flax", "steady"), 1.0)
    for w in spec.NAMES:
        check(f"{w}: highlevel / keras, first epoch s", hl_k(w, "highlevel", "keras", "first_epoch_s"), 1.0, False)
        check(f"{w}: highlevel / keras, peak memory", hl_k(w, "highlevel", "keras", "rss_mb"), 1.1, False)
    for w in ("cnn", "lstm"):
        r = hl_k(w, "highlevel", "torch", "steady")
        if r is not None:
            rows.append(f"| {w}: highlevel / torch, steady | {r:.2f} | (report) | - |")
    if not rows:
        return ""
    return "\n".join(["\n### Targets\n", "| ratio | value | target | |", "|---|---:|---|---|"] + rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(spec.NAMES))
    parser.add_argument("--frameworks", default=None,
                        help="comma-separated variants for every workload (default: per workload, "
                             "see DEFAULT_FRAMEWORKS); known: highlevel, highlevel-spe32, highlevel-auto, keras, "
                             "keras-spe32, flax, flax-scan32, flax-scan32-unrolled, torch, torch-1t")
    parser.add_argument("--add", default="", help="comma-separated variants added to every workload's list")
    parser.add_argument("--policy", choices=sorted(POLICY_VARIANTS), default=None,
                        help="also run highlevel and keras with this dtype policy (beside float32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                        help="a highlevel source tree; frameworks VARIANT@NAME run against it")
    parser.add_argument("--quick", action="store_true", help="small epochs and one repeat: a smoke run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per child process")
    parser.add_argument("--json", default=None, help="write every run and the medians to this file")
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="print the tables of a file written by --json, running nothing")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        runs = saved["runs"]
        order: dict = {}
        for r in runs:
            order.setdefault(r["workload"], [])
            if r["framework"] not in order[r["workload"]]:
                order[r["workload"]].append(r["framework"])
        summary = aggregate(runs)
        print(f"`{saved['command'].strip()}`, {saved['machine']['date']}")
        print(table(summary, [w for w in spec.NAMES if w in order], order))
        print(targets(summary))
        return 0

    for item in args.tree:
        name, sep, path = item.partition("=")
        if not sep or not os.path.isdir(os.path.join(path, "highlevel")):
            parser.error(f"--tree takes NAME=PATH with PATH a checkout holding highlevel/, got {item!r}")
        TREES[name] = os.path.abspath(path)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in spec.NAMES:
            parser.error(f"unknown workload {w!r}; choose from {', '.join(spec.NAMES)}")
    if args.frameworks:
        chosen = [f.strip() for f in args.frameworks.split(",") if f.strip()]
        frameworks = {w: chosen for w in workloads}
    else:
        frameworks = {w: DEFAULT_FRAMEWORKS[w] for w in workloads}
    extra = [f.strip() for f in args.add.split(",") if f.strip()]
    if args.policy:
        extra += POLICY_VARIANTS[args.policy]
    frameworks = {w: fws + [f for f in extra if f not in fws] for w, fws in frameworks.items()}
    repeats = 1 if args.quick and args.repeats == 3 else args.repeats

    info = machine()
    info["loadavg_start"] = os.getloadavg()
    print(f"# {info['cpu']}, {info['cores']} cores, {info['platform']}, python {info['python']}", flush=True)
    print("# " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v), flush=True)
    results = []
    started = time.perf_counter()
    for rep in range(repeats):
        for w in workloads:
            order = frameworks[w][rep % len(frameworks[w]):] + frameworks[w][:rep % len(frameworks[w])]
            for fw in order:
                r = run_child(fw, w, args.quick, args.timeout)
                r["repeat"] = rep
                results.append(r)
                if "error" in r:
                    msg = r["error"]
                else:
                    msg = (f"first epoch {r['first_epoch_s']:.2f} s, {r['steady_samples_per_s']:,.0f} samples/s, "
                           f"{r['peak_rss_mb']:.0f} MB, loss {r['final_loss']:.4g}")
                print(f"[repeat {rep + 1}/{repeats}] {w:6s} {fw:16s} {msg}", file=sys.stderr, flush=True)
    info["loadavg_end"] = os.getloadavg()
    info["total_s"] = time.perf_counter() - started
    summary = aggregate(results)
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"\n`{command.strip()}` — medians of {repeats} interleaved run(s) in fresh processes, "
          f"{info['date']}, {info['total_s'] / 60:.1f} min; load average {info['loadavg_start'][0]:.1f} at the "
          f"start, {info['loadavg_end'][0]:.1f} at the end (above {info['cores']}: the cores were shared).")
    print("Ratios: value / Keras (default settings) and value / hand-written flax loop; for throughput "
          "higher is better, for time and memory lower is better.")
    print(table(summary, workloads, frameworks))
    print(targets(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "command": command, "runs": results,
                       "medians": [{"workload": w, "framework": fw, **s} for (w, fw), s in summary.items()]},
                      f, indent=1)
    failed = [r for r in results if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
