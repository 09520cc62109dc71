"""Serving and export: latency and throughput of ``highlevel serve`` on loopback, export time and file size.

    python benchmarks/serving.py [--requests 300] [--json benchmarks/results/serving.json]

1. Trains ``configs/quickstart.yaml`` for one epoch into a temporary run directory (the
   weights do not change the speed), starts ``highlevel serve`` on it in another process
   (``--warmup``: every batch-size bucket compiled first) on 127.0.0.1, with and without
   request batching, and sends ``--requests`` single-image ``:predict`` requests from 1, 8
   and 32 client threads (each thread its own ``requests.Session``, a bounded count): p50
   and p99 latency and requests/s, both servers up at once, the settings interleaved over
   ``--repeats`` rounds, medians reported.
2. Exports the quickstart CNN, an LSTM, a two-input two-output model and MobileNetV2
   (alpha 0.35, 96x96) to ONNX and StableHLO: seconds, file size, and the largest
   difference from ``model.predict`` on 7 random inputs.

The clients share the machine's cores with the server: on a 2-core machine the numbers
are the whole loop's (client JSON encoding included), as a user on the same host sees it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(run_dir: Path, batching: bool):
    import requests
    port = _free_port()
    args = [sys.executable, "-m", "highlevel", "serve", str(run_dir), "--port", str(port), "--warmup"]
    if not batching:
        args.append("--no-batching")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/v1/models/quickstart"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:   # not listening yet, or still compiling its buckets
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def _load(url: str, images: np.ndarray, clients: int, total: int) -> dict:
    import requests
    bodies = [json.dumps({"instances": images[i % len(images)][None].tolist()}) for i in range(total)]
    per_client = [list(range(c, total, clients)) for c in range(clients)]

    def client(indices):
        session = requests.Session()
        out = []
        for i in indices:
            start = time.perf_counter()
            reply = session.post(f"{url}:predict", data=bodies[i], timeout=60)
            out.append(time.perf_counter() - start)
            assert reply.status_code == 200, reply.text
        return out

    for i in range(min(20, total)):   # warm the connection path
        requests.post(f"{url}:predict", data=bodies[i], timeout=60)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(client, per_client) for t in part]
    wall = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {"clients": clients, "requests": total, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "requests_per_s": total / wall}


def serving_benchmark(total: int, repeats: int) -> list[dict]:
    """Both servers run at once; the settings are interleaved and repeated, and medians reported
    (the development machine is shared, and its load moves between minutes)."""
    import highlevel as hl
    from highlevel import config as cfg
    run_dir = cfg.train(ROOT / "configs" / "quickstart.yaml", [f"output_dir={tempfile.mkdtemp()}",
                                                               "trainer.epochs=1", "trainer.verbose=0"])
    images = hl.datasets.digits.load_data()[1][0][:64]
    servers = {batching: _start(run_dir, batching) for batching in (True, False)}
    measured: dict[tuple, list[dict]] = {}
    try:
        for repeat in range(repeats):
            for clients in (1, 8, 32):
                for batching in ((True, False) if repeat % 2 == 0 else (False, True)):
                    row = _load(servers[batching][1], images, clients, total)
                    print(json.dumps({"repeat": repeat, "batching": batching, **row}), flush=True)
                    measured.setdefault((batching, clients), []).append(row)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=60)
    rows = []
    for (batching, clients), runs in sorted(measured.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        rows.append({"batching": batching, "clients": clients, "requests": total, "repeats": len(runs),
                     **{k: float(np.median([r[k] for r in runs])) for k in ("p50_ms", "p99_ms", "requests_per_s")}})
    return rows


def export_benchmark() -> list[dict]:
    import jax
    import onnxruntime

    from tests import test_export as models   # the test's models and random weights
    rows = []
    for name, build in models.MODELS.items():
        model = models._randomize(build())
        specs = __import__("highlevel").export.input_specs(model)[0]
        xs = models._inputs(specs, 7, seed=0)
        want = models._as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
        folder = Path(tempfile.mkdtemp())
        for fmt in ("onnx", "jax"):
            start = time.perf_counter()
            path = model.export(folder / f"{name}.{fmt}", format=fmt, verbose=False)
            seconds = time.perf_counter() - start
            if fmt == "onnx":
                got = onnxruntime.InferenceSession(str(path)).run(None, {s.name: x for s, x in zip(specs, xs)})
            else:
                exported = jax.export.deserialize(bytearray(path.read_bytes()))
                got = exported.call(xs[0]) if len(xs) == 1 else exported.call({s.name: x for s, x in zip(specs, xs)})
                got = [got[n] for n in model.output_names] if isinstance(got, dict) else [got]
            diff = max(float(np.abs(np.asarray(g) - w).max()) for g, w in zip(got, want))
            row = {"model": name, "format": fmt, "seconds": seconds, "bytes": path.stat().st_size,
                   "params": model.count_params(), "max_abs_diff": diff}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per (batching, clients) setting")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (medians are reported)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    results = {"machine": platform.platform(), "cpus": os.cpu_count(),
               "load_average": os.getloadavg(), "serving": serving_benchmark(args.requests, args.repeats),
               "export": export_benchmark()}
    print("\n| batching | clients | p50 ms | p99 ms | requests/s |  (medians of the repeats)\n"
          "| --- | ---: | ---: | ---: | ---: |")
    for r in results["serving"]:
        print(f"| {'on' if r['batching'] else 'off'} | {r['clients']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['requests_per_s']:.0f} |")
    print("\n| model | format | export s | file | max abs diff to predict |\n| --- | --- | ---: | ---: | ---: |")
    for r in results["export"]:
        print(f"| {r['model']} | {r['format']} | {r['seconds']:.2f} | {r['bytes'] / 1e6:.2f} MB | "
              f"{r['max_abs_diff']:.1e} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
