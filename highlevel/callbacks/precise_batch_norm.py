"""PreciseBatchNorm: batch-norm moving statistics recomputed as population statistics at epoch end."""

from __future__ import annotations

import warnings

import numpy as np

from highlevel.callbacks._layers import all_layers
from highlevel.layers.normalization import BatchNormalization
from highlevel.training.callback import Callback

__all__ = ["PreciseBatchNorm"]


class PreciseBatchNorm(Callback):
    """Replaces the moving statistics of BatchNormalization layers by the average over training batches.

    The exponential moving averages of training mix statistics of weights from many
    steps ago; PreciseBN (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021)
    recomputes them at the end of each epoch with the weights fixed: the moving
    mean and variance become the equal-weight average of the per-batch means and
    variances over ``num_batches`` training batches (forward passes in training mode,
    no gradient, weights unchanged). It does so by running the trainer's statistics
    pass with each layer's momentum set to ``i / (i + 1)`` before batch ``i`` (batch 0
    replaces the statistics, batch ``i`` enters the running average with weight
    ``1 / (i + 1)``), then putting the momentum back.

    The batches are the first ``num_batches`` of the epoch just trained, in its
    order (at most one epoch's worth); a padded last batch counts its real rows only.
    Layers that are frozen (``layer.frozen``, see ``FreezeBatchNorm``) or not trainable
    keep their statistics. Dropout is active in the pass, as in training.

    Note that the epoch's ``val_*`` logs are computed before ``on_epoch_end``, so they
    use the statistics from before this pass; the next epoch, ``evaluate`` and
    ``predict`` use the new ones. List this callback before ``ModelCheckpoint`` or
    ``EarlyStopping`` so that what they save includes the new statistics.

    Args:
      num_batches: how many training batches to average over.

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((1,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x = np.arange(8, dtype="float32").reshape(8, 1)
    >>> history = model.fit(x, x, batch_size=4, shuffle=False, epochs=1,
    ...                     callbacks=[PreciseBatchNorm(num_batches=2)], verbose=0)
    >>> model.get_layer("bn").get_weights()[2]   # the mean of the batch means 1.5 and 5.5
    array([3.5], dtype=float32)
    """

    def __init__(self, num_batches: int = 100):
        super().__init__()
        if isinstance(num_batches, bool) or not isinstance(num_batches, (int, np.integer)) or num_batches < 1:
            raise ValueError(f"PreciseBatchNorm num_batches must be a positive integer, got {num_batches!r}.")
        self.num_batches = int(num_batches)

    def on_train_begin(self, logs=None):
        if not any(isinstance(layer, BatchNormalization) for layer in all_layers(self.model)):
            warnings.warn(f"PreciseBatchNorm found no BatchNormalization layers in model "
                          f"'{getattr(self.model, 'name', type(self.model).__name__)}'; it will do nothing. "
                          "Remove the callback, or add BatchNormalization layers.", stacklevel=2)

    def on_epoch_end(self, epoch, logs=None):
        layers = [layer for layer in all_layers(self.model)
                  if isinstance(layer, BatchNormalization) and layer.trainable and not layer.frozen]
        if not layers:
            return
        trainer = self.model.trainer
        original = [layer.momentum for layer in layers]

        def before_batch(i: int) -> None:
            for layer in layers:
                layer.momentum = i / (i + 1)

        try:
            trainer.statistics_pass(trainer.training_batches(self.num_batches), before_batch=before_batch)
        finally:
            for layer, momentum in zip(layers, original):
                layer.momentum = momentum
