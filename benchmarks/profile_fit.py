"""Where the host time of a highlevel fit goes: cProfile of the steady epochs of one workload.

    python benchmarks/profile_fit.py --workload mlp [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("KERAS_BACKEND", "jax")

from workloads import spec  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mlp")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    w = spec.get(args.workload)
    x, y = spec.make_data(w)
    import highlevel as hl
    from workloads import keras_style
    hl.utils.set_random_seed(0)
    model = keras_style.build(hl, w)
    loss = "mse" if w.task == "regression" else hl.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=hl.optimizers.Adam(spec.LEARNING_RATE), loss=loss)
    model.fit(x, y, batch_size=w.batch_size, epochs=1, verbose=0)  # compile
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    model.fit(x, y, batch_size=w.batch_size, epochs=args.epochs, verbose=0)
    profiler.disable()
    elapsed = time.perf_counter() - start
    steps = args.epochs * w.steps_per_epoch
    print(f"{args.workload}: {steps} steps in {elapsed:.3f} s = {1e3 * elapsed / steps:.3f} ms/step "
          f"(highlevel {hl.__version__}, backend {__import__('jax').default_backend()})")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
