"""Writes or reads a .weights.h5 file: run once per framework, each reading the file the other wrote."""

import sys

import keras
import numpy as np

from common import report, set_weights

mode, path = sys.argv[1], sys.argv[2]
inputs = keras.Input((7, 3))
h = keras.layers.Conv1D(4, 3, activation="relu")(inputs)
h = keras.layers.BatchNormalization()(h)
h = keras.layers.Bidirectional(keras.layers.GRU(3))(h)
outputs = keras.layers.Dense(2)(h)
model = keras.Model(inputs, outputs)
x = np.random.default_rng(8).normal(size=(4, 7, 3)).astype("float32")
if mode == "write":
    set_weights(model, seed=9)
    model.save_weights(path)
else:
    model.load_weights(path)
report(predictions=model.predict(x, verbose=0))
