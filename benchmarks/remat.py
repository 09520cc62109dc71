"""Rematerialisation: how large a ResNet-style model trains in a memory budget, and what it costs.

    python benchmarks/remat.py [--budget-gib 24] [--depth 16] [--image 32] [--filters 64]
                               [--time-batch 32] [--time-steps 20] [--verify]

A ResNet-style model: a 3x3 stem to ``filters`` channels, ``depth`` residual blocks (each a
nested functional model: conv-BN-ReLU-conv-BN-add-ReLU at ``image`` x ``image`` x
``filters``), global average pooling and a 10-way head; Adam. Three ways:

* ``none``: no rematerialisation;
* ``layers``: every layer of every block rematerialised on its own (Keras's
  ``RematScope(mode="full")`` around the layers): each keeps its own input;
* ``blocks``: each residual block rematerialised as one (``hl.remat(block)``): the
  backward pass keeps each block's input and recomputes its inside.

Peak memory is XLA's own account of the compiled train step
(``trainer.lower_train_step(spec).compile().memory_analysis()``: arguments + outputs +
temporaries - aliased (donated) buffers), which needs no allocation, so a CPU can measure
what a GPU would hold. Memory is linear in the batch, so the largest batch within the
budget is estimated from two batch sizes (128, 256) and then (``--verify``) found by
bisection on compiled programs. Then the same model trains for ``--time-steps`` steps
at ``--time-batch``, timed per step (median, after the compilation), for the step-time cost.

Prints a markdown table; not run by CI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import numpy as np

MODES = ("none", "layers", "blocks")


def build(hl, depth: int, image: int, filters: int, mode: str):
    L = hl.layers
    hl.utils.clear_session()
    hl.utils.set_random_seed(0)

    def block(i):
        inputs = hl.Input((image, image, filters))
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(inputs)))
        h = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(h))
        outputs = L.ReLU()(L.Add()([inputs, h]))
        with hl.RematScope(None):
            return hl.Model(inputs, outputs, name=f"block_{i}")

    inputs = hl.Input((image, image, 3))
    h = L.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    for i in range(depth):
        # "layers": every layer of a block rematerialised on its own (Keras's RematScope("full")
        # around the layers); "blocks": each block as one.
        with hl.RematScope("full") if mode == "layers" else contextlib.nullcontext():
            b = block(i)
        h = (hl.remat(b) if mode == "blocks" else b)(h)
    outputs = L.Dense(10)(L.GlobalAveragePooling2D()(h))
    model = hl.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.trainer.initialize()
    return model


def peak_bytes(hl, model, batch: int, image: int) -> int:
    from highlevel.training.data import batch_spec
    spec = batch_spec(np.zeros((1, image, image, 3), np.float32), np.zeros((1,), np.int32), None, batch)
    m = model.trainer.lower_train_step(spec).compile().memory_analysis()
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def largest_batch(hl, model, image: int, budget: int, verify: bool, max_compiles: int = 12) -> tuple[int, dict]:
    """The largest batch whose step fits ``budget``: a linear estimate from two large batches,
    then (``verify``) bisection on compiled programs until the bracket is within 2%."""
    b1, b2 = 128, 256
    p1, p2 = peak_bytes(hl, model, b1, image), peak_bytes(hl, model, b2, image)
    per_row = (p2 - p1) / (b2 - b1)
    fixed = p1 - per_row * b1
    best = max(1, int((budget - fixed) // per_row))
    info = {"per_row_mib": per_row / 2**20, "fixed_mib": fixed / 2**20, "estimate": best, "compiles": 2}
    if not verify:
        return best, info
    lo, hi = 0, None
    candidate = best
    while info["compiles"] < max_compiles:
        fits = peak_bytes(hl, model, candidate, image) <= budget
        info["compiles"] += 1
        if fits:
            lo = candidate
            candidate = candidate * 2 if hi is None else (lo + hi) // 2
        else:
            hi = candidate
            candidate = (lo + hi) // 2
        if hi is not None and hi - lo <= max(1, lo // 50):
            break
    info["at_best_gib"] = peak_bytes(hl, model, lo, image) / 2**30 if lo else float("nan")
    return lo, info


def step_times(hl, model, batch: int, image: int, steps: int) -> list[float]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, image, image, 3)).astype(np.float32)
    y = rng.integers(0, 10, batch * steps).astype(np.int32)
    times: list[float] = []

    class Clock(hl.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            import jax
            jax.block_until_ready(model.trainer.state.params)
            times.append(time.perf_counter() - self.start)

    model.trainer.device_data = False
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[Clock()])
    return times[2:]   # the first steps compile


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget-gib", type=float, default=24.0)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--time-batch", type=int, default=32)
    p.add_argument("--time-steps", type=int, default=20)
    p.add_argument("--time-depth", type=int, default=None, help="depth of the timed model (default: --depth)")
    p.add_argument("--time-filters", type=int, default=None)
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--verify", action="store_true")
    p.add_argument("--max-compiles", type=int, default=12, help="compiles per mode for the bisection")
    p.add_argument("--train-batch", type=int, default=None,
                   help="instead: train --train-steps steps at this batch (one --modes mode) and say whether "
                        "it fit (run with XLA_PYTHON_CLIENT_MEM_FRACTION to cap the GPU memory)")
    p.add_argument("--train-steps", type=int, default=3)
    args = p.parse_args(argv)

    import jax
    import highlevel as hl

    if args.train_batch:
        mode = args.modes.split(",")[0]
        model = build(hl, args.depth, args.image, args.filters, mode)
        try:
            ms = 1e3 * statistics.median(step_times(hl, model, args.train_batch, args.image, args.train_steps + 2))
            print(f"# train {mode} batch {args.train_batch}: fits, {ms:.1f} ms a step", flush=True)
        except Exception as err:  # XlaRuntimeError: RESOURCE_EXHAUSTED
            print(f"# train {mode} batch {args.train_batch}: does not fit ({type(err).__name__}: "
                  f"{str(err).splitlines()[0][:160]})", flush=True)
        return 0

    budget = int(args.budget_gib * 2**30)
    modes = args.modes.split(",")
    print(f"# backend {jax.default_backend()} ({jax.devices()[0].device_kind}), jax {jax.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}; ResNet-style: {args.depth} blocks at "
          f"{args.image}x{args.image}x{args.filters}, Adam; budget {args.budget_gib:g} GiB", flush=True)
    print("| remat | MiB per row | largest batch in budget | peak at 32 rows (MiB) | step ms (batch "
          f"{args.time_batch}) | step / none |")
    print("|---|---:|---:|---:|---:|---:|")
    base_ms = None
    for mode in modes:
        t0 = time.perf_counter()
        model = build(hl, args.depth, args.image, args.filters, mode)
        best, info = largest_batch(hl, model, args.image, budget, args.verify, args.max_compiles)
        at32 = peak_bytes(hl, model, 32, args.image) / 2**20
        compile_s = time.perf_counter() - t0
        timed = model
        if args.time_depth or args.time_filters:
            timed = build(hl, args.time_depth or args.depth, args.image, args.time_filters or args.filters, mode)
        ms = 1e3 * statistics.median(step_times(hl, timed, args.time_batch, args.image, args.time_steps))
        base_ms = ms if mode == "none" else base_ms
        ratio = f"{ms / base_ms:.2f}" if base_ms else "-"
        print(f"| {mode} | {info['per_row_mib']:.1f} | {best:,} | {at32:,.0f} | {ms:.1f} | {ratio} |", flush=True)
        print(f"# best {mode} {best}", flush=True)
        extra = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items())
        print(f"#   {mode}: {extra}; compiling the memory probes took {compile_s:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
