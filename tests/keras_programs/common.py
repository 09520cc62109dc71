"""Helpers the programs share: deterministic data and weights from NumPy, and printing results as JSON."""

import json
import sys

import numpy as np


def data(n=40, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.integers(0, classes, size=(n,)).astype("int32")
    return x, y


def set_weights(model, seed=1):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(w.dtype) for w in model.get_weights()])


def report(**results):
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        arr = np.asarray(v)
        return arr.tolist() if arr.dtype.kind in "fiub" else str(v)

    sys.stdout.write("RESULTS " + json.dumps(plain(results)) + "\n")
