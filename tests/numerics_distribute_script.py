"""Gradient accumulation under DataParallel on 8 simulated CPU devices, against big batches on one.

Run by ``tests/test_gradient_accumulation.py`` in a subprocess (the device count is set
before jax is imported). Prints one JSON object on its last line.
"""

import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import json  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import highlevel as hl  # noqa: E402
from tests.compile_count import count_compilations  # noqa: E402

rng = np.random.default_rng(0)
X = rng.standard_normal((128, 6)).astype(np.float32)
Y = rng.integers(0, 3, 128)


def train(batch_size, k=None, distribution=None, epochs=2):
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((6,)), hl.layers.Dense(16, activation="relu"), hl.layers.Dense(3)])
    model.compile(optimizer=hl.optimizers.Adam(0.01, gradient_accumulation_steps=k),
                  loss="sparse_categorical_crossentropy", distribution=distribution)
    model.fit(X, Y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    return model


big = train(64)
dp = train(16, k=4, distribution=hl.distribute.DataParallel())   # 16 rows a step: 2 on each device
rel = max(float(np.max(np.abs(a - b)) / max(1e-6, float(np.max(np.abs(b)))))
          for a, b in zip(dp.get_weights(), big.get_weights()))
kernel = dp.trainer.state.params["_layers"][0]["kernel"].get_value()
with count_compilations() as compiled:
    dp.fit(X, Y, batch_size=16, epochs=1, verbose=0)
print(json.dumps({"devices": jax.device_count(), "weight_rel_diff": rel, "iterations": dp.optimizer.iterations - 2,
                  "big_iterations": big.optimizer.iterations, "kernel_devices": len(kernel.sharding.device_set),
                  "compiled_after_first_fit": compiled}))
