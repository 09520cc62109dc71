"""hl.Ensemble of n small MLPs (one vmapped compiled step) vs n sequential ``fit``s of the same model.

Digits (1,437 training rows of 64 features), a 64-32-10 MLP, Adam, batch 32, no
shuffling (both sides see the same batches). Each repeat builds a fresh ensemble
and n fresh models and times, interleaved:

* first fit (1 epoch): what a user waits for, compilation included (the ensemble
  compiles one step; n separate models compile n steps);
* steady fit (``--epochs`` more epochs on the already compiled steps).

Prints the medians over the repeats: samples/s counted over all members
(n x rows x epochs / seconds) and the ratio ensemble / sequential.

    .venv/bin/python benchmarks/ensemble.py [--n 8] [--epochs 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

import highlevel as hl
from highlevel.models.ensemble import Ensemble

LOSS = "sparse_categorical_crossentropy"


def build():
    return hl.Sequential([hl.Input((64,)), hl.layers.Dense(32, activation="relu"),
                          hl.layers.Dense(10, activation="softmax")])


def _block(models) -> None:
    # fit returns after the last step is dispatched; wait for the weights.
    jax.block_until_ready([m.weights[0].get_value() for m in models])


def time_ensemble(n, x, y, batch_size, epochs) -> tuple[float, float]:
    ens = Ensemble(build, n)
    ens.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    t0 = time.perf_counter()
    ens.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False)
    _block(ens.members())
    t1 = time.perf_counter()
    ens.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False)
    _block(ens.members())
    return t1 - t0, time.perf_counter() - t1


def time_sequential(n, x, y, batch_size, epochs) -> tuple[float, float]:
    models = []
    for seed in range(n):
        hl.utils.set_random_seed(seed)
        model = build()
        model.compile(optimizer="adam", loss=LOSS, metrics=["accuracy"])
        models.append(model)
    t0 = time.perf_counter()
    for model in models:
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    _block(models)
    t1 = time.perf_counter()
    for model in models:
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    _block(models)
    return t1 - t0, time.perf_counter() - t1


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    (x, y), _ = hl.datasets.digits.load_data()
    x = x.reshape(len(x), -1).astype(np.float32)
    rows = len(x)
    results = {"ensemble": [], "sequential": []}
    for _ in range(args.repeats):  # interleaved, so load on a shared machine hits both alike
        results["ensemble"].append(time_ensemble(args.n, x, y, args.batch_size, args.epochs))
        results["sequential"].append(time_sequential(args.n, x, y, args.batch_size, args.epochs))
    print(f"backend={jax.default_backend()} device={jax.devices()[0].device_kind} n={args.n} rows={rows} "
          f"batch={args.batch_size} repeats={args.repeats} (medians)")
    med = {k: [statistics.median(t[j] for t in v) for j in range(2)] for k, v in results.items()}
    for j, (what, epochs) in enumerate((("first fit, 1 epoch, compile included", 1),
                                        (f"steady fit, {args.epochs} epochs", args.epochs))):
        samples = args.n * rows * epochs
        e, s = med["ensemble"][j], med["sequential"][j]
        print(f"{what:40s} ensemble {e:7.3f} s {samples / e:11.0f} samples/s | "
              f"sequential {s:7.3f} s {samples / s:11.0f} samples/s | speedup x{s / e:.2f}")


if __name__ == "__main__":
    main()
