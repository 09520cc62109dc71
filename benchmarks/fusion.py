"""Fused steps against single steps, per workload, on whatever backend jax has: the facts
behind ``steps_per_execution="auto"`` (``highlevel/training/auto.py``).

    python benchmarks/fusion.py [--workloads tiny,mlp,cnn] [--steps 256] [--epochs 3] [--repeats 3]

For each workload, in this one process, fits alternate between ``steps_per_execution=1`` and
``=K`` (repeats interleaved, a new model each fit); the table gives the median steady
throughput (steps/s over the epochs after the first), the ratio, XLA's FLOPs per step, and
what ``"auto"`` resolves to. Not run by CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import keras_style, spec  # noqa: E402


def _fit(hl, w, x, y, steps_per_execution):
    times = []

    class Clock(hl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            float(logs["loss"])
            times.append(time.perf_counter())

    hl.utils.set_random_seed(0)
    model = keras_style.build(hl, w)
    loss = "mse" if w.task == "regression" else hl.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=hl.optimizers.Adam(spec.LEARNING_RATE), loss=loss,
                  steps_per_execution=steps_per_execution)
    start = time.perf_counter()
    model.fit(x, y, batch_size=w.batch_size, epochs=w.epochs, verbose=0, callbacks=[Clock()])
    epochs = [b - a for a, b in zip([start] + times[:-1], times)]
    return model, w.steps_per_epoch / statistics.median(epochs[1:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="tiny,mlp,cnn")
    parser.add_argument("--steps", type=int, default=256, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=spec.SCAN_STEPS)
    args = parser.parse_args(argv)

    import jax
    import highlevel as hl
    from highlevel.training import auto

    print(f"# backend {jax.default_backend()}, {jax.devices()[0].device_kind}, jax {jax.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print("| workload | FLOPs/step | K=1 steps/s | K steps/s | K / 1 | auto |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.workloads.split(","):
        shape, batch, task = spec._SHAPES[name]
        w = spec.Workload(name, shape, batch, args.steps, args.epochs, task)
        x, y = spec.make_data(w)
        rates: dict[int, list[float]] = {1: [], args.k: []}
        for _ in range(args.repeats):
            for k in rates:
                _, rate = _fit(hl, w, x, y, k)
                rates[k].append(rate)
        model, _ = _fit(hl, spec.Workload(name, shape, batch, args.steps, 2, task), x, y, "auto")
        lowered = model.trainer.lower_train_step()
        flops = auto.flops_of(lowered) or auto.flops_of(lowered.compile()) or float("nan")
        one, fused = statistics.median(rates[1]), statistics.median(rates[args.k])
        print(f"| {name} | {flops:.3g} | {one:,.0f} | {fused:,.0f} | {fused / one:.2f} | "
              f"{model.trainer.steps_per_execution} |", flush=True)
        print(f"#   {name} K=1 runs: {[round(r) for r in rates[1]]}, K={args.k} runs: "
              f"{[round(r) for r in rates[args.k]]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
