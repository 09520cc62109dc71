"""The accelerator checks of issue 21 (experiment tracking), as one script:

1. throughput on a GPU: the device's peak is known, XLA's FLOPs of the step are found (and
   whether that compiles anything), MFU lands in (0, 1), and the host-clock times add up;
2. a jax.profiler trace of steps 3-5 through the TensorBoard callback holds the GPU's kernels;
3. the learning-rate finder on the GPU leaves the model bit for bit.

    python3 benchmarks/gpu_tracking_check.py OUT_DIR
"""

import glob
import gzip
import os
import sys
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import highlevel as hl  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
device = jax.devices()[0]
print("jax", jax.__version__, device, repr(device.device_kind), "peak float32", hl.backend.peak_flops())

compiles: list[str] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: compiles.append(kw.get("fun_name", "?"))
    if event == "/jax/core/compile/backend_compile_duration" else None)

SMALL = bool(os.environ.get("SMALL"))   # a dry run on a CPU (with HIGHLEVEL_PEAK_FLOPS set)
ROWS, WIDTH = (2048, 64) if SMALL else (16384, 2048)
rng = np.random.default_rng(0)
x = rng.standard_normal((ROWS, 784)).astype(np.float32)
y = rng.integers(0, 10, ROWS).astype(np.int32)


def mlp():
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((784,)), hl.layers.Dense(WIDTH, activation="relu"),
                           hl.layers.Dense(WIDTH, activation="relu"), hl.layers.Dense(10)])
    model.compile(optimizer="adam", loss=hl.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


# 1. throughput and MFU, device-resident data (the default) and host batches
for device_data in (True, False):
    model = mlp()
    model.trainer.device_data = device_data
    model.trainer.log_throughput = True
    compiles.clear()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=1024, epochs=4, verbose=0)
    wall = time.perf_counter() - start
    h = history.history
    flops = model.trainer.throughput.flops_per_step
    lowered = model.trainer.lower_train_step()
    try:
        lowered_cost = lowered.cost_analysis()
        lowered_flops = lowered_cost.get("flops") if isinstance(lowered_cost, dict) else lowered_cost
    except Exception as err:  # noqa: BLE001
        lowered_flops = f"{type(err).__name__}: {err}"
    print(f"device_data={device_data}: compiled {compiles}; flops/step {flops} (6*params*batch "
          f"{6 * model.count_params() * 1024:.4g}); lowered cost_analysis flops {lowered_flops}")
    for key in ("samples_per_second", "step_time", "train_time", "compile_time", "mfu"):
        print(f"  {key}: {[round(v, 6) for v in h.get(key, [])]}")
    print(f"  fit wall {wall:.3f}s >= sum(train_time) {sum(h['train_time']):.3f}s")
    assert h.get("mfu") and all(0 < v < 1 for v in h["mfu"]), h.get("mfu")

# 2. a profile of steps 3-5
log_dir = os.path.join(out, "tb")
model = mlp()
model.fit(x, y, batch_size=1024, epochs=1, verbose=0,
          callbacks=[hl.callbacks.TensorBoard(log_dir, profile_batch=(3, 5))])
files = sorted(glob.glob(os.path.join(log_dir, "train", "plugins", "profile", "*", "*")))
print("trace files:", [(os.path.basename(f), os.path.getsize(f)) for f in files])
traces = [f for f in files if f.endswith(".trace.json.gz")]
if traces:
    text = gzip.open(traces[0]).read().decode(errors="replace")
    print("trace mentions: GPU", text.count("GPU"), "gemm", text.lower().count("gemm"),
          "train_step", text.count("train_step"))

# 3. the learning-rate finder
model = mlp()
model.fit(x, y, batch_size=1024, epochs=1, verbose=0)
before = model.trainer.snapshot()
start = time.perf_counter()
result = hl.utils.find_learning_rate(model, x, y, batch_size=256, num_steps=100)
after = model.trainer.snapshot()
same = all(np.array_equal(a, b) for a, b in zip(before.leaves + before.hyper, after.leaves + after.hyper))
print(f"lr finder: suggestion {result.suggestion}, {len(result.losses)} steps in {time.perf_counter() - start:.2f}s, "
      f"stopped early {result.stopped_early}, state unchanged {same}")
assert same
print("ALL CHECKS PASSED")
