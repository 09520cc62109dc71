"""pad_sequences + Embedding + LSTM on integer sequences, with callbacks (History, EarlyStopping, LambdaCallback)."""

import keras
import numpy as np

from common import report, set_weights

rng = np.random.default_rng(5)
sequences = [list(rng.integers(1, 30, size=rng.integers(2, 12))) for _ in range(48)]
labels = np.array([float(np.mean(s) > 15) for s in sequences], "float32")
x = keras.utils.pad_sequences(sequences, maxlen=8, padding="post", truncating="pre")
model = keras.Sequential([keras.Input((8,)), keras.layers.Embedding(30, 6), keras.layers.LSTM(5),
                          keras.layers.Dense(1, activation="sigmoid")])
set_weights(model, seed=6)
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
epochs_seen = []
history = model.fit(x, labels, batch_size=16, epochs=4, shuffle=False, verbose=0, validation_split=0.25,
                    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=10),
                               keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs_seen.append(e))])
report(padded=x[:3], loss=history.history["loss"], val_loss=history.history["val_loss"], epochs=epochs_seen,
       predictions=model.predict(x[:4], verbose=0), categorical=keras.utils.to_categorical([0, 2, 1], 3))
