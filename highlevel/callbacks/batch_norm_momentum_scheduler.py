"""BatchNormMomentumScheduler: sets each BatchNormalization layer's momentum every epoch, without recompiling."""

from __future__ import annotations

from highlevel.callbacks._layers import LayerValueScheduler
from highlevel.layers.normalization import BatchNormalization

__all__ = ["BatchNormMomentumScheduler"]


class BatchNormMomentumScheduler(LayerValueScheduler):
    """Sets the momentum of BatchNormalization layers to ``schedule(epoch, momentum)`` each epoch.

    The moving statistics are updated as ``moving * momentum + batch * (1 - momentum)``;
    a low momentum early (statistics that follow fast-changing weights) and a high one
    later is a common schedule. The momentum is an array in the train state, so a new
    value each epoch never recompiles the step.

    Each epoch's logs get the momentum of every scheduled layer under
    ``"batch_norm_momentum/<layer name>"`` (so ``History``, ``CSVLogger`` and
    ``TensorBoard`` listed after this callback record it).

    Args:
      schedule: ``schedule(epoch, momentum) -> momentum`` (epoch from 0), or
        ``schedule(epoch) -> momentum``. Called once per layer and epoch; the result
        must be in [0, 1].
      layers: None for every BatchNormalization layer of the model (nested models
        included), or layer names / layers (a list, or one); a nested model or block
        stands for the BatchNormalization layers inside it.
      verbose: 1 prints each new momentum.

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.BatchNormalization(name="bn"), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> warmup = BatchNormMomentumScheduler(lambda epoch: 0.9 if epoch < 2 else 0.99)
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=3, callbacks=[warmup], verbose=0)
    >>> history.history["batch_norm_momentum/bn"]
    [0.9, 0.9, 0.99]
    """

    _layer_type = BatchNormalization
    _attribute = "momentum"
    _value_name = "momentum"
    _log_prefix = "batch_norm_momentum"
    _range = "[0, 1]"

    @staticmethod
    def _in_range(value: float) -> bool:
        return 0.0 <= value <= 1.0
