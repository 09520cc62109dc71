"""A custom layer written with keras.ops (sublayers made in __init__, built in build), a functional model, merging
helpers."""

import keras
import numpy as np
from keras import ops

from common import report, set_weights


class GatedResidual(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.value = keras.layers.Dense(units)
        self.gate = keras.layers.Dense(units)

    def build(self, input_shape):
        self.value.build(input_shape)
        self.gate.build(input_shape)

    def call(self, inputs):
        gate = ops.sigmoid(self.gate(inputs))
        return gate * ops.tanh(self.value(inputs)) + (1.0 - gate) * inputs


rng = np.random.default_rng(3)
x1 = rng.normal(size=(32, 4)).astype("float32")
x2 = rng.normal(size=(32, 4)).astype("float32")
target = (np.sum(x1 * x2, axis=1, keepdims=True) > 0).astype("float32")

a, b = keras.Input((4,)), keras.Input((4,))
h = GatedResidual(4)(keras.layers.add([a, b]))
cosine = keras.layers.dot([a, b], axes=1, normalize=True)
merged = keras.layers.concatenate([h, cosine, keras.layers.multiply([a, b])])
out = keras.layers.Dense(1, activation="sigmoid")(merged)
model = keras.Model([a, b], out)
set_weights(model, seed=4)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy", keras.metrics.AUC()])
history = model.fit([x1, x2], target, batch_size=8, epochs=2, shuffle=False, verbose=0)
probe = ops.convert_to_numpy(ops.top_k(ops.convert_to_tensor(x1[0]), k=2)[0])
segments = ops.segment_sum(ops.convert_to_tensor(x1[:4, 0]), ops.convert_to_tensor([0, 0, 1, 1]), num_segments=2)
report(loss=history.history["loss"], auc=history.history["auc"], predictions=model.predict([x1[:3], x2[:3]], verbose=0),
       top_k=probe, segments=ops.convert_to_numpy(segments),
       resized=ops.convert_to_numpy(ops.image.resize(np.ones((1, 2, 2, 3), "float32"), (3, 3)))[0, :, :, 0])
