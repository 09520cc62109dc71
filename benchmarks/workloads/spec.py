"""The workloads every framework runs: model shapes, batch sizes, epochs, and their synthetic data.

The data is NumPy, generated from a fixed seed by a random "teacher", so every
framework sees the same learnable task. Epoch 1 includes compilation; the
later epochs give the steady-state throughput.
"""

from __future__ import annotations

import dataclasses

import numpy as np

LEARNING_RATE = 1e-3
SCAN_STEPS = 32  # steps per call of the fused variants (steps_per_execution=32, lax.scan)


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    input_shape: tuple          # one sample, channels last
    batch_size: int
    steps_per_epoch: int
    epochs: int
    task: str                   # "regression" or "classification" (10 classes, logits)

    @property
    def num_samples(self) -> int:
        return self.batch_size * self.steps_per_epoch


# (steps_per_epoch, epochs) for the default run and for --quick.
_SIZES = {
    "tiny":   ((1024, 5), (256, 3)),
    "mlp":    ((160, 4), (32, 3)),
    "cnn":    ((10, 3), (4, 2)),
    "lstm":   ((40, 3), (12, 2)),
    "resnet": ((10, 3), (4, 2)),
}
_SHAPES = {
    "tiny": ((20,), 32, "regression"),
    "mlp": ((784,), 128, "classification"),
    "cnn": ((28, 28, 1), 128, "classification"),
    "lstm": ((50, 32), 64, "classification"),
    "resnet": ((32, 32, 3), 128, "classification"),
}
NAMES = tuple(_SHAPES)
DESCRIPTIONS = {
    "tiny": "Dense 20-32-1 (relu), MSE, batch 32",
    "mlp": "Dense 784-512-512-10 (relu, dropout 0.2), batch 128",
    "cnn": "Conv3x3(32)-Conv3x3(64)-MaxPool2-BN-Dropout(0.25)-Dense(10) on 28x28x1, batch 128",
    "lstm": "LSTM(128) over 50x32 -> Dense(10), batch 64",
    "resnet": "Conv(16)-BN + 2 residual blocks (16ch) + 1 strided block (32ch) + GAP + Dense(10) "
              "on 32x32x3, batch 128",
}


def get(name: str, quick: bool = False) -> Workload:
    shape, batch, task = _SHAPES[name]
    steps, epochs = _SIZES[name][1 if quick else 0]
    return Workload(name, shape, batch, steps, epochs, task)


def make_data(w: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: float32 inputs and float32 targets [N, 1] (regression) or int32 labels [N]."""
    rng = np.random.default_rng(seed)
    n = w.num_samples
    x = rng.standard_normal((n, *w.input_shape), dtype=np.float32)
    if w.name == "tiny":
        w1 = rng.standard_normal((20, 16)).astype(np.float32) / np.sqrt(20)
        w2 = rng.standard_normal((16, 1)).astype(np.float32) / 4
        y = np.tanh(x @ w1) @ w2 + 0.05 * rng.standard_normal((n, 1)).astype(np.float32)
        return x, y.astype(np.float32)
    if w.name == "lstm":
        feats = np.concatenate([x.mean(axis=1), x[:, -5:].mean(axis=1)], axis=1)  # [N, 64]
    elif len(w.input_shape) == 3:
        # Images: smooth them a little so that local structure carries the label.
        feats = (x[:, ::4, ::4] + x[:, 1::4, 1::4]).reshape(n, -1)
    else:
        feats = x
    teacher = rng.standard_normal((feats.shape[1], 10)).astype(np.float32)
    y = np.argmax(feats @ teacher, axis=1).astype(np.int32)
    return x, y
