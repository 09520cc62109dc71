"""A ``keras`` package that is highlevel: Keras 3 programs run on highlevel with their imports unchanged.

``tests/test_keras_programs.py`` puts this directory first on ``PYTHONPATH`` for the
highlevel run of each program, so ``import keras``, ``from keras import ops, layers`` and
``keras.random.SeedGenerator`` resolve to ``highlevel``'s modules of the same names.
"""

import sys

import highlevel as _hl

from highlevel import Input, Model, Sequential  # noqa: F401
from highlevel import (activations, callbacks, initializers, layers, losses, metrics, models, ops,  # noqa: F401
                       optimizers, random, regularizers, saving, utils)

Layer = _hl.layers.Layer
Loss = _hl.losses.Loss
Metric = _hl.metrics.Metric
__version__ = "highlevel-" + _hl.__version__

for _name in ("activations", "callbacks", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
              "random", "regularizers", "saving", "utils"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_hl, _name)
for _name in ("nn", "linalg", "image", "numpy", "math"):
    sys.modules[f"{__name__}.ops.{_name}"] = getattr(_hl.ops, _name)
