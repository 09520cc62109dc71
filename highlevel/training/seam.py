"""The trainer seam: what callbacks, saving and ensembles may ask of ``model.trainer``.

``TrainerAPI`` is the typed, public interface of the object behind ``compile``/``fit``
(``highlevel.training.Trainer`` implements it). Code outside ``highlevel/training`` and
``models/model.py`` reaches training only through it and the model's public API: no
private member of the trainer is read anywhere else (a test walks the imports and
attribute uses to hold this).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

import numpy as np

__all__ = ["TrainerAPI", "Snapshot"]


@dataclasses.dataclass
class Snapshot:
    """Everything a ``fit`` needs to continue exactly, on the host (``trainer.snapshot()``).

    Args:
      leaves: the train state's arrays in its pytree order (random keys as their raw data).
      hyper: the layers' hyperparameters (dropout rates, momentum, frozen flags).
      epoch: the epoch the next step belongs to.
      step: the step within that epoch where training continues (0 at an epoch's start).
      seed: the data-order seed (the order of epoch e depends only on (seed, e)).
      data_state: where a Grain data pipeline stands (its iterator's state, JSON-able) when the
        snapshot is taken mid-epoch; None for arrays and other iterables, whose position
        (epoch, step) says it all.

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)
    >>> snapshot = model.trainer.snapshot()
    >>> snapshot.epoch, snapshot.step
    (1, 0)
    >>> model.trainer.restore(snapshot)   # back to the end of epoch 0, exactly
    """

    leaves: list[np.ndarray]
    hyper: list[np.ndarray]
    epoch: int
    step: int
    seed: int
    data_state: dict | None = None


@runtime_checkable
class TrainerAPI(Protocol):
    """The public seam of the trainer (``model.trainer``).

    State and the module: ``state`` (the ``TrainState`` pytree), ``sync()`` (the module's
    variables take the latest trained values), ``initialize(x_sample)``, ``step``,
    ``epoch``, ``optimizer_state`` (read and set: a hand-written loop can continue the
    optimizer), ``set_step``.

    Exact resumption: ``snapshot()``, ``snapshot_signature()``, ``restore(snapshot)``.

    Hyperparameters: ``hyperparameters()`` and ``set_hyperparameters(values)``.

    Statistics passes: ``training_batches(n)``, ``statistics_pass(batches, before_batch)``.

    What a callback asks: ``callbacks`` (the running fit's), ``metric_direction(name)``,
    ``compile_config``, ``compiled``, ``optimizer``, ``distribution``, ``data_on_device``,
    ``metric_reads``, ``steps_per_execution``, ``lower_train_step()``.

    Throughput: ``throughput`` (``hl.training.Throughput``: samples/s, step time, compilation
    time and MFU of the last epoch) and ``log_throughput`` (put them into the epoch logs).

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    >>> isinstance(model.trainer, hl.training.TrainerAPI)
    True
    """

    compiled: bool
    optimizer: Any
    distribution: Any
    steps_per_execution: int
    device_data: bool
    metric_reads: int
    epoch: int
    throughput: Any
    log_throughput: bool

    @property
    def state(self) -> Any: ...
    def sync(self) -> None: ...
    def initialize(self, x_sample: Any = None) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def optimizer_state(self) -> Any: ...
    def set_step(self, step: int) -> None: ...
    @property
    def compile_config(self) -> dict[str, Any]: ...
    @property
    def callbacks(self) -> list: ...
    @property
    def data_on_device(self) -> bool: ...
    def metric_direction(self, name: str) -> str | None: ...
    def hyperparameters(self) -> dict[str, np.ndarray]: ...
    def set_hyperparameters(self, values: Mapping[str, Any]) -> None: ...
    def snapshot(self) -> Snapshot: ...
    def snapshot_signature(self) -> dict[str, list]: ...
    def restore(self, snapshot: Snapshot) -> None: ...
    def training_batches(self, num_batches: int, epoch: int | None = None) -> Iterator: ...
    def statistics_pass(self, batches: Any, before_batch: Callable[[int], None] | None = None) -> int: ...
    def lower_train_step(self, batch_spec: Any = None) -> Any: ...
