"""A custom Metric subclass (Keras 3's add_variable/update_state/result), a custom loss, fit/evaluate/predict."""

import keras
from keras import ops

from common import data, report, set_weights


class MeanConfidence(keras.metrics.Metric):
    """The mean probability given to the true class, and how many rows were seen."""

    def __init__(self, name="mean_confidence", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        probs = ops.softmax(y_pred, axis=-1)
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        picked = ops.sum(probs * ops.one_hot(labels, ops.shape(probs)[-1]), axis=-1)
        self.total.assign_add(ops.sum(picked))
        self.count.assign_add(ops.cast(ops.shape(picked)[0], "float32"))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


x, y = data()
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
set_weights(model)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[MeanConfidence(), "accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
results = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
metric = MeanConfidence()
metric.update_state(y[:5], model.predict(x[:5], verbose=0))
report(loss=history.history["loss"], confidence=history.history["mean_confidence"],
       accuracy=history.history["accuracy"], evaluate=results, predictions=model.predict(x[:4], verbose=0),
       eager_metric=float(metric.result()))
