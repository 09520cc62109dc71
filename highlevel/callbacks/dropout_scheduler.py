"""DropoutScheduler: sets each Dropout layer's rate at the start of every epoch, without recompiling."""

from __future__ import annotations

from highlevel.callbacks._layers import LayerValueScheduler
from highlevel.layers.regularization import Dropout

__all__ = ["DropoutScheduler"]


class DropoutScheduler(LayerValueScheduler):
    """Sets the rate of Dropout layers to ``schedule(epoch, rate)`` at the start of each epoch.

    The rate is an array in the train state, so a new rate each epoch never
    recompiles the step. Useful for curriculum dropout (a rate that ramps up) or for
    switching dropout off for the last epochs.

    Each epoch's logs get the rate of every scheduled layer under
    ``"dropout_rate/<layer name>"`` (so ``History``, ``CSVLogger`` and ``TensorBoard``
    listed after this callback record it), as Keras logs ``"learning_rate"``.

    Args:
      schedule: ``schedule(epoch, rate) -> rate`` (epoch from 0; ``rate`` the layer's
        current rate), or ``schedule(epoch) -> rate``. Called once per layer and epoch;
        the result must be in [0, 1).
      layers: None for every Dropout layer of the model (nested models included), or
        layer names / layers (a list, or one); a nested model or block stands for the
        Dropout layers inside it.
      verbose: 1 prints each new rate.

    >>> import highlevel as hl, numpy as np
    >>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(8), hl.layers.Dropout(0.0, name="drop"),
    ...                        hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> ramp = DropoutScheduler(lambda epoch: min(0.1 * epoch, 0.3))
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=5, callbacks=[ramp], verbose=0)
    >>> history.history["dropout_rate/drop"]
    [0.0, 0.1, 0.2, 0.3, 0.3]
    """

    _layer_type = Dropout
    _attribute = "rate"
    _value_name = "rate"
    _log_prefix = "dropout_rate"
    _range = "[0, 1)"

    @staticmethod
    def _in_range(value: float) -> bool:
        return 0.0 <= value < 1.0
