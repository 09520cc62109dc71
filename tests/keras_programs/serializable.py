"""register_keras_serializable: a custom activation and a custom loss, saved to .keras and loaded back."""

import os
import tempfile

import keras
from keras import ops

from common import data, report, set_weights


@keras.saving.register_keras_serializable(package="programs")
def scaled_tanh(x):
    return 1.7159 * ops.tanh(2.0 * x / 3.0)


@keras.saving.register_keras_serializable(package="programs")
def weighted_mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1) * 2.0


x, y = data(n=32, features=5)
y = (x[:, :2] * 0.5).astype("float32")
model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation=scaled_tanh), keras.layers.Dense(2)])
set_weights(model, seed=7)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=weighted_mse)
model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "model.keras")
model.save(path)
restored = keras.models.load_model(path)
restored_loss = restored.evaluate(x, y, batch_size=8, verbose=0)
restored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)   # the optimizer state came back too
model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
report(activation=keras.saving.get_registered_name(scaled_tanh), restored_loss=restored_loss,
       predictions=model.predict(x[:3], verbose=0), restored_predictions=restored.predict(x[:3], verbose=0))
