"""FreezeBatchNorm: from an epoch on, batch normalization uses and keeps its moving statistics."""

from __future__ import annotations

import numpy as np

from highlevel.callbacks._layers import select_layers
from highlevel.layers.normalization import BatchNormalization
from highlevel.training.callback import Callback

__all__ = ["FreezeBatchNorm"]


class FreezeBatchNorm(Callback):
    """Freezes BatchNormalization layers from ``start_epoch`` on, without recompiling.

    A frozen layer normalizes with its moving statistics and stops updating them,
    even in training, while its ``gamma``/``beta`` (and every other weight) go on
    training: what fine-tuning a pretrained network on small batches wants. It sets
    each layer's ``frozen`` flag, an array in the train state (unlike
    ``layer.trainable = False``, which needs a new ``compile`` and also stops
    ``gamma``/``beta``).

    The flag is set at the start of every epoch from ``start_epoch`` on, so a run
    resumed by ``BackupAndRestore`` is frozen again; the layers stay frozen after
    ``fit`` (``layer.frozen = False`` undoes it). Layers are never unfrozen by this
    callback, so one frozen by hand before ``start_epoch`` stays frozen.

    Args:
      start_epoch: the first epoch (from 0) trained with frozen statistics.
      layers: None for every BatchNormalization layer of the model (nested models
        included), or layer names / layers (a list, or one); a nested model, e.g. a
        pretrained backbone, stands for the BatchNormalization layers inside it.

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=2,
    ...                     callbacks=[FreezeBatchNorm(start_epoch=1)], verbose=0)
    >>> model.get_layer("bn").frozen
    True
    """

    def __init__(self, start_epoch: int = 0, layers=None):
        super().__init__()
        if isinstance(start_epoch, bool) or not isinstance(start_epoch, (int, np.integer)) or start_epoch < 0:
            raise ValueError(f"FreezeBatchNorm start_epoch must be a non-negative integer (the first frozen "
                             f"epoch, from 0), got {start_epoch!r}.")
        self.start_epoch = int(start_epoch)
        self.layers_arg = layers
        self._layers: list[BatchNormalization] = []

    def on_train_begin(self, logs=None):
        self._layers = select_layers(self.model, self.layers_arg, BatchNormalization, "FreezeBatchNorm")

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.start_epoch:
            for layer in self._layers:
                layer.frozen = True
