"""The workload models written once against the Keras API, for Keras itself and for highlevel.

``ns`` is a namespace with ``layers``, ``Input``, ``Sequential`` and ``Model``
(``keras`` or ``highlevel``); both build the same architecture from the same code.
"""

from __future__ import annotations


def build(ns, w):
    L = ns.layers
    if w.name == "tiny":
        return ns.Sequential([ns.Input(w.input_shape), L.Dense(32, activation="relu"), L.Dense(1)])
    if w.name == "mlp":
        return ns.Sequential([ns.Input(w.input_shape), L.Dense(512, activation="relu"), L.Dropout(0.2),
                              L.Dense(512, activation="relu"), L.Dropout(0.2), L.Dense(10)])
    if w.name == "cnn":
        return ns.Sequential([ns.Input(w.input_shape), L.Conv2D(32, 3, activation="relu"),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                              L.BatchNormalization(), L.Dropout(0.25), L.Flatten(), L.Dense(10)])
    if w.name == "lstm":
        return ns.Sequential([ns.Input(w.input_shape), L.LSTM(128), L.Dense(10)])
    if w.name == "resnet":
        inputs = ns.Input(w.input_shape)
        h = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
        for _ in range(2):
            r = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(16, 3, padding="same", use_bias=False)(h)))
            r = L.BatchNormalization()(L.Conv2D(16, 3, padding="same", use_bias=False)(r))
            h = L.Activation("relu")(L.Add()([h, r]))
        r = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(h)))
        r = L.BatchNormalization()(L.Conv2D(32, 3, padding="same", use_bias=False)(r))
        shortcut = L.Conv2D(32, 1, strides=2, use_bias=False)(h)
        h = L.Activation("relu")(L.Add()([shortcut, r]))
        outputs = L.Dense(10)(L.GlobalAveragePooling2D()(h))
        return ns.Model(inputs, outputs)
    raise ValueError(w.name)
