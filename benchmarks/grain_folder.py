"""An image folder larger than memory's share for data, trained through Grain, against the same images in memory.

    python benchmarks/grain_folder.py [--images 85000] [--format bmp|png|jpeg] [--size 64]
                                      [--batch 128] [--steps 200] [--repeats 3] [--dir DIR]

Writes ``--images`` images of ``--size`` x ``--size`` x 3 into 10 class folders in a
temporary directory (its size on disk is printed; the default, 85,000 BMP files of 64x64,
is 1.05 GB), then, in fresh processes with the repeats interleaved, trains the same small
CNN (stride-2 convolutions 32-64-128, global pooling, 10 classes; Adam; batch ``--batch``)
three ways for ``--steps`` steps:

* ``memory``: ``steps x batch`` of the images decoded beforehand (once, into a ``.npy``
  file beside the class folders) and loaded as a float32 array, ``fit(x, y)`` (the array
  path; at this size its batches are gathered on the host);
* ``grain``: ``fit(hl.datasets.image_folder.dataset(dir), shuffle=True)``: every batch read
  from the files and decoded while the steps run, in Grain's reader threads;
* ``grain-1worker``: the same, decoded in one Grain worker process.

The rate is steady samples/s from step 20 to the end (compilation excluded), the median of
the repeats; beside it, the CPU time a sample costs over the same steps (this process's
threads and its worker processes), which holds better than the rate on a shared machine. The folder is deleted at the end unless ``--dir`` names one to keep. Also
printed: the cost of decoding one image on one core (the budget a 2-core machine has).
Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

VARIANTS = ("memory", "grain", "grain-1worker")
WARMUP = 20


def write_folder(root: str, n: int, size: int, fmt: str) -> int:
    from PIL import Image
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    total = 0
    ext = {"bmp": "bmp", "png": "png", "jpeg": "jpg"}[fmt]
    for c in range(10):
        os.makedirs(os.path.join(root, f"class_{c}"), exist_ok=True)
    for i in range(n):
        c = i % 10
        # A class-dependent pattern (stripes of a class's frequency and colour) plus noise.
        phase = rng.uniform(0, 6.28)
        base = np.sin((xx * np.cos(c) + yy * np.sin(c)) * (0.15 + 0.03 * c) + phase)
        color = np.array([(c * 37) % 255, (c * 91) % 255, (c * 151) % 255], np.float32)
        image = 128 + 60 * base[..., None] * (color / 255 - 0.5) * 2 + rng.normal(0, 25, (size, size, 3))
        path = os.path.join(root, f"class_{c}", f"{i:06d}.{ext}")
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path, **({"quality": 90} if fmt == "jpeg" else {}))
        total += os.path.getsize(path)
    return total


def build(hl, size: int):
    L = hl.layers
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((size, size, 3)), L.Rescaling(1 / 255),
                           L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                           L.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
                           L.Conv2D(128, 3, strides=2, padding="same", activation="relu"),
                           L.GlobalAveragePooling2D(), L.Dense(10)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def child(variant: str, root: str, size: int, batch: int, steps: int, dtype: str = "float32") -> dict:
    import highlevel as hl
    ds = hl.datasets.image_folder.dataset(root, image_size=(size, size), dtype=dtype)
    model = build(hl, size)
    stamps: list[float] = []
    cpu: list[float] = []

    def cpu_seconds() -> float:
        # This process's threads and its worker processes: the work, whatever else runs here.
        import psutil
        me = psutil.Process()
        total = sum(me.cpu_times()[:2])
        for c in me.children(recursive=True):
            try:
                total += sum(c.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
        return total

    class Clock(hl.callbacks.Callback):
        def on_train_batch_end(self, b, logs=None):
            stamps.append(time.perf_counter())
            if len(stamps) in (WARMUP, steps):
                cpu.append(cpu_seconds())

    info = {"variant": variant, "files": len(ds)}
    if variant == "memory":
        t = time.perf_counter()
        x, y = memory_arrays(root, ds, steps * batch)
        x = x.astype(dtype, copy=False)
        info["load_s"] = time.perf_counter() - t
        info["array_mb"] = x.nbytes / 2**20
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0, callbacks=[Clock()])
        info["on_device"] = model.trainer.data_on_device
    else:
        data = ds if variant == "grain" else hl.training.GrainData(ds, worker_count=1)
        model.fit(data, batch_size=batch, epochs=1, steps_per_epoch=steps, shuffle=True, verbose=0,
                  callbacks=[Clock()])
    steady = stamps[-1] - stamps[WARMUP - 1]
    info["samples_per_s"] = (len(stamps) - WARMUP) * batch / steady
    info["cpu_ms_per_sample"] = 1e3 * (cpu[-1] - cpu[0]) / ((len(stamps) - WARMUP) * batch)
    info["cores_used"] = (cpu[-1] - cpu[0]) / steady
    info["steps"] = len(stamps)
    return info


def memory_arrays(root: str, ds, rows: int):
    """``rows`` images picked at random, decoded once into ``root/memory-*.npy`` (not a class folder)."""
    xf, yf = os.path.join(root, f"memory-x-{rows}.npy"), os.path.join(root, f"memory-y-{rows}.npy")
    if not os.path.exists(yf):
        picked = np.random.default_rng(0).permutation(len(ds))[:rows]
        np.save(xf, np.stack([ds[int(i)][0] for i in picked]))
        np.save(yf, np.asarray([ds[int(i)][1] for i in picked]))
    return np.load(xf), np.load(yf)


def decode_cost(root: str, size: int, n: int = 2000) -> float:
    import highlevel as hl
    ds = hl.datasets.image_folder.dataset(root, image_size=(size, size))
    idx = np.random.default_rng(1).permutation(len(ds))[:n]
    t = time.perf_counter()
    for i in idx:
        ds[int(i)]
    return (time.perf_counter() - t) / n * 1e6


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=85_000)
    p.add_argument("--format", default="bmp", choices=["bmp", "png", "jpeg"])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--dtype", default="float32", choices=["float32", "uint8"],
                   help="the images' dtype in both paths (the model rescales them to [0, 1] itself)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--dir", default=None, help="keep (or reuse) the image folder here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args.dir, args.size, args.batch, args.steps, args.dtype)), flush=True)
        return 0

    root = args.dir or tempfile.mkdtemp(prefix="grain_folder_")
    keep = args.dir is not None
    try:
        if not os.path.isdir(os.path.join(root, "class_9")):
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(root))).free
            need = args.images * (args.size * args.size * 3 + 1024)
            if free < 3 * need:
                print(f"Only {free / 2**30:.1f} GiB free for a folder of about {need / 2**30:.1f} GiB.", file=sys.stderr)
                return 1
            t = time.perf_counter()
            total = write_folder(root, args.images, args.size, args.format)
            print(f"# wrote {args.images:,} {args.format.upper()} files, {total / 1e9:.2f} GB, in "
                  f"{time.perf_counter() - t:.0f} s to {root}", flush=True)
        else:
            total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
            print(f"# reusing {root}: {total / 1e9:.2f} GB", flush=True)
        print(f"# load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; reading+decoding one image "
              f"on one core: {decode_cost(root, args.size):.0f} us", flush=True)
        import highlevel as hl
        memory_arrays(root, hl.datasets.image_folder.dataset(root, image_size=(args.size, args.size)),
                      args.steps * args.batch)
        results: dict[str, list[dict]] = {}
        variants = args.variants.split(",")
        for r in range(args.repeats):
            for v in variants[r % len(variants):] + variants[:r % len(variants)]:   # rotate the order
                cmd = [sys.executable, os.path.abspath(__file__), "--child", v, "--dir", root, "--size",
                       str(args.size), "--batch", str(args.batch), "--steps", str(args.steps), "--dtype", args.dtype]
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
                if out.returncode:
                    print(f"# {v} failed: {out.stderr[-1500:]}", flush=True)
                    continue
                info = json.loads(out.stdout.strip().splitlines()[-1])
                info["load"] = os.getloadavg()[0]
                results.setdefault(v, []).append(info)
                print(f"#   repeat {r}: {json.dumps(info)}", flush=True)
        base = statistics.median(i["samples_per_s"] for i in results.get("memory", [{"samples_per_s": float("nan")}]))
        base_cpu = statistics.median(i["cpu_ms_per_sample"] for i in results.get("memory", [{"cpu_ms_per_sample": float("nan")}]))
        print(f"\n| variant | samples/s (median of {args.repeats}) | runs | / memory | CPU ms a sample | / memory | cores used |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for v in variants:
            rates = [i["samples_per_s"] for i in results.get(v, [])]
            if rates:
                med = statistics.median(rates)
                cpu_ms = statistics.median(i["cpu_ms_per_sample"] for i in results[v])
                cores = statistics.median(i["cores_used"] for i in results[v])
                print(f"| {v} | {med:,.0f} | {', '.join(f'{x:,.0f}' for x in rates)} | {med / base:.2f} | "
                      f"{cpu_ms:.2f} | {cpu_ms / base_cpu:.2f} | {cores:.2f} |")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
