"""Where a fused epoch of the tiny model spends its time (round five, item 1).

    python benchmarks/fused_epoch.py [--k 32] [--epochs 10]

Prints (1) samples/s of ``fit`` over ``--epochs`` epochs with ``steps_per_execution=K``,
(2) the compiled steps of one epoch timed alone (dispatched through the trainer's live
state, blocked at the end; K=1024 is one call per epoch, the device's own time) and
(3) the top of a cProfile of the same ``fit``. Reaches into the trainer's resident data
(an internal of ``highlevel.training``), which a benchmark may do and user code should not.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    import jax
    import numpy as np

    import highlevel as hl
    from workloads import keras_style, spec

    w = spec.get("tiny")
    x, y = spec.make_data(w)
    hl.utils.set_random_seed(0)
    model = keras_style.build(hl, w)
    model.compile(optimizer=hl.optimizers.Adam(spec.LEARNING_RATE), loss="mse", steps_per_execution=args.k)
    model.fit(x, y, batch_size=w.batch_size, epochs=2, verbose=0)  # compiled and warm

    start = time.perf_counter()
    model.fit(x, y, batch_size=w.batch_size, epochs=args.epochs, verbose=0)
    elapsed = time.perf_counter() - start
    print(f"fit, K={args.k}: {args.epochs * len(x) / elapsed:,.0f} samples/s "
          f"({1e3 * elapsed / args.epochs:.2f} ms an epoch)")

    trainer = model.trainer
    program, data = trainer.program, trainer._resident
    live = program.live
    fns = program.resident_fns(data.batch_size, args.k)
    hyper = program.hyper_leaves()
    times = []
    for epoch in range(2, 22):
        call_args, items = data.executions(epoch, 0, args.k, live.peek("step"), *fns)
        items = list(items)
        start = time.perf_counter()
        for item in items:
            for fn in item:
                live.run(fn, hyper, *call_args)
        jax.block_until_ready(live.get().params)
        times.append(time.perf_counter() - start)
    print(f"the compiled steps of one epoch alone ({len(items)} calls): median {1e3 * np.median(times):.2f} ms, "
          f"min {1e3 * min(times):.2f} ms")
    live.sync()

    profile = cProfile.Profile()
    profile.enable()
    model.fit(x, y, batch_size=w.batch_size, epochs=args.epochs, verbose=0)
    profile.disable()
    pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(args.top)


if __name__ == "__main__":
    main()
