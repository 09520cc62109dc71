"""``hl.Ensemble``: n independently initialized copies of a model, trained in one compiled step.

Each member is an ordinary ``hl`` model with its own Trainer. The ensemble has a trainer
too (``ensemble.trainer``), the same class and the same loop as a model's, driving an
``EnsembleProgram`` (``training/ensemble.py``): the members' train states stacked along a
leading member axis and ``jax.jit(jax.vmap(train_step))`` over them, one compilation
for the whole ensemble whatever ``n``. So callbacks (EarlyStopping on the averaged or on
one member's metric, TensorBoard, CSVLogger, BackupAndRestore) and
``steps_per_execution`` work as for one model. Between calls the members are the
source of truth (as the module is for a single model), so ``members()`` are usable on
their own.

Equivalence with solo runs: member ``i`` starts from exactly what
``hl.utils.set_random_seed(seeds[i]); build_fn(i)`` followed by ``compile`` and
``fit`` gives on its own: the same weights, the same train-state key (so dropout
draws the same masks under vmap) and, with ``shuffle_per_member=True``, the same
data order. With the default shared order every member sees member 0's order
(with ``shuffle=False``: the data order, so every member equals its solo run).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from highlevel import optimizers as _optimizers
from highlevel.training.callback import History
from highlevel.training.data import is_array_data
from highlevel.training.ensemble import EnsembleProgram
from highlevel.training.trainer import Trainer
from highlevel.utils import random as _random

__all__ = ["Ensemble"]


def _call_build_fn(build_fn: Callable, i: int):
    try:
        params = inspect.signature(build_fn).parameters.values()
    except (TypeError, ValueError):
        return build_fn(i)
    # build_fn(i) when it requires an argument (or takes *args); build_fn() when everything is optional.
    takes_i = any(p.kind is p.VAR_POSITIONAL or (p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                                                 and p.default is p.empty) for p in params)
    return build_fn(i) if takes_i else build_fn()


class Ensemble:
    """n copies of a model, each from its own seed, trained together with ``jax.vmap``.

    Args:
      build_fn: ``build_fn(i)`` (when it has a required argument) or ``build_fn()``: returns a
        new ``hl`` model (Sequential, functional or subclassed). Every member must have the
        same weight shapes.
      n: the number of members (>= 1).
      seeds: one non-negative integer per member (default ``range(n)``); member ``i``'s
        weights are those of ``hl.utils.set_random_seed(seeds[i]); build_fn(i)``.
        The global seed generator is left as it was.
      name: the ensemble's name (for summaries and TensorBoard).

    Predictions have a leading member axis: ``predict(x)`` is ``(n, batch, ...)``;
    ``predict_mean(x)`` averages the outputs as the model gives them (logits if the
    model outputs logits).

    >>> import highlevel as hl, numpy as np
    >>> ens = hl.Ensemble(lambda: hl.Sequential([hl.Input((4,)), hl.layers.Dense(1)]), n=3)
    >>> ens.compile(optimizer="sgd", loss="mse", learning_rate=[0.1, 0.01, 0.001])
    >>> h = ens.fit(np.ones((8, 4)), np.zeros((8, 1)), batch_size=4, epochs=1, verbose=0)
    >>> sorted(k for k in h.history if k.startswith("loss"))
    ['loss', 'loss_0', 'loss_1', 'loss_2']
    >>> ens.predict(np.ones((5, 4))).shape
    (3, 5, 1)
    """

    def __init__(self, build_fn: Callable, n: int, seeds: Sequence[int] | None = None,
                 name: str = "ensemble"):
        if not callable(build_fn):
            raise TypeError(f"Ensemble needs build_fn, a function that returns a new hl model; "
                            f"got {build_fn!r}.")
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"Ensemble needs n >= 1 members, got n={n!r}.")
        n = int(n)
        seeds = list(range(n)) if seeds is None else list(seeds)
        if len(seeds) != n:
            raise ValueError(f"Ensemble got {len(seeds)} seeds for n={n} members; pass one seed per member.")
        for s in seeds:
            if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
                raise ValueError(f"Ensemble seeds must be non-negative integers, got {s!r}.")
        from highlevel.models.model import Model
        self.n = n
        self.name = name
        self.seeds = [int(s) for s in seeds]
        self._members = []
        self._generators = []  # each member's seed generator, to draw its train-state key later
        for i, seed in enumerate(self.seeds):
            generator = _random.SeedGenerator(seed)
            with _random.use_generator(generator):
                model = _call_build_fn(build_fn, i)
            if not isinstance(model, Model):
                raise TypeError(f"Ensemble's build_fn must return an hl model (hl.Sequential or hl.Model), "
                                f"got {type(model).__name__} for member {i}.")
            if any(model is m for m in self._members):
                raise ValueError("Ensemble's build_fn returned the same model twice; it must build a new "
                                 "model on every call.")
            self._members.append(model)
            self._generators.append(generator)
        #: The trainer (``hl.training.TrainerAPI``): the same loop as a model's, over the members.
        self.trainer = Trainer(self)
        self.stop_training = False
        self.history = None

    @property
    def compiled(self) -> bool:
        return self.trainer.compiled

    # -- compile ------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                learning_rate=None, steps_per_execution: int | str = 1) -> None:
        """Configures training of every member, as ``Model.compile``.

        Args:
          optimizer, loss, loss_weights, metrics, steps_per_execution: as ``Model.compile``;
            each member gets its own copy of the optimizer.
          learning_rate: ``None`` (the optimizer's), a float, or a sequence of ``n`` floats,
            one per member (a hyperparameter sweep in one compiled step). The optimizer
            must keep its learning rate in its state (any ``hl.optimizers`` optimizer with a
            float learning rate, or ``optax.inject_hyperparams``), not a schedule.
        """
        lrs = None
        if learning_rate is not None:
            values = np.asarray(learning_rate, dtype=np.float64) if not callable(learning_rate) else None
            if values is None or values.ndim > 1:
                raise ValueError(f"Ensemble.compile learning_rate must be a float or a sequence of n={self.n} "
                                 f"floats, got {learning_rate!r}.")
            if values.ndim == 1 and values.shape[0] != self.n:
                raise ValueError(f"Ensemble.compile got {values.shape[0]} learning rates for n={self.n} members; "
                                 f"pass one learning rate per member (or a single float).")
            if np.any(values < 0) or not np.all(np.isfinite(values)):
                raise ValueError(f"Ensemble.compile learning rates must be finite and >= 0, got {learning_rate!r}.")
            lrs = [float(v) for v in np.broadcast_to(values, (self.n,))]
        base = _optimizers.get(optimizer)
        if lrs is not None and getattr(base, "is_scheduled", False):
            raise ValueError("Ensemble.compile got learning_rate together with an optimizer whose learning rate "
                             "is a schedule; pass a float learning rate to the optimizer instead of a schedule.")
        for model in self._members:
            opt = _optimizers.get(optimizer) if isinstance(optimizer, (str, dict, type)) else copy.copy(base)
            if hasattr(opt, "unbind"):
                opt.unbind()  # a copy of a compiled model's optimizer must not drive that model's state
            model.compile(optimizer=opt, loss=loss, loss_weights=loss_weights, metrics=metrics)
        program = EnsembleProgram([m.trainer for m in self._members], self._generators, learning_rates=lrs)
        self.trainer.use_program(program, steps_per_execution)
        self.trainer.compiled = True

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must call ensemble.compile(optimizer=..., loss=...) before {what}().")

    @property
    def optimizer(self):
        """Member 0's optimizer (each member has its own copy)."""
        return self._members[0].optimizer

    # -- fit ---------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose=0, callbacks=None,
            validation_data=None, shuffle=True, shuffle_per_member: bool = False, sample_weight=None,
            class_weight=None, initial_epoch: int = 0, steps_per_epoch=None,
            validation_freq: int = 1) -> History:
        """Trains all members together through the trainer's loop; returns a History.

        Its logs hold each member's metrics (``loss_0``, ``loss_1``, ..., ``accuracy_0``, ...),
        their mean over members (``loss``, ``accuracy``) and, with ``validation_data``, the
        same with ``val_`` plus ``val_ensemble_loss``/... of the averaged prediction.
        Callbacks see these logs (``EarlyStopping(monitor="val_loss_1")`` follows member 1).

        Args:
          shuffle: shuffle the data each epoch (as ``Model.fit``); all members see the same
            order (member 0's, as its solo ``fit`` would) unless ``shuffle_per_member``.
          shuffle_per_member: each member gets its own order, the one its solo ``fit`` would
            use (array data only).

        The other arguments are ``Model.fit``'s.
        """
        self._require_compiled("fit")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
        per_member = bool(shuffle_per_member) and bool(shuffle)
        if per_member and not is_array_data(x):
            raise ValueError("shuffle_per_member=True needs array data (x and y as arrays); an iterable of "
                             "batches has one order.")
        if validation_data is not None and not (isinstance(validation_data, tuple) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight).")
        self.trainer.program.shuffle_per_member = per_member
        return self.trainer.fit(x, y, batch_size=batch_size, epochs=int(epochs), verbose=verbose,
                                callbacks=callbacks, validation_data=validation_data, shuffle=shuffle,
                                class_weight=class_weight, sample_weight=sample_weight,
                                initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                                validation_freq=validation_freq)

    # -- evaluate / predict ------------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, callbacks=None) -> dict[str, float]:
        """Per-member metrics (``loss_0``, ...), their mean (``loss``), and the metrics of the
        averaged prediction (``ensemble_loss``, ...; no regularization term), as a dict."""
        self._require_compiled("evaluate")
        return self.trainer.evaluate(x, y, batch_size=batch_size, verbose=0, sample_weight=sample_weight,
                                     callbacks=callbacks, return_dict=True)

    def predict(self, x, batch_size=None):
        """Every member's outputs, stacked: NumPy arrays of shape ``(n, samples, ...)``."""
        self._require_compiled("predict")
        return self.trainer.predict(x, batch_size=batch_size, verbose=0)

    def predict_mean(self, x, batch_size=None):
        """The members' outputs averaged over the member axis: shape ``(samples, ...)``."""
        predictions = self.predict(x, batch_size=batch_size)
        if isinstance(predictions, dict):
            return {k: v.mean(axis=0) for k, v in predictions.items()}
        if isinstance(predictions, (list, tuple)):
            return type(predictions)(p.mean(axis=0) for p in predictions)
        return predictions.mean(axis=0)

    # -- weights (for callbacks such as EarlyStopping(restore_best_weights=True)) ----------------

    def get_weights(self) -> list[np.ndarray]:
        """Every member's weights, member after member (Keras's order within each)."""
        self.trainer.sync()
        return [w for m in self._members for w in m.get_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets every member's weights from ``get_weights()``'s list."""
        weights = list(weights)
        counts = [len(m.weights) for m in self._members]
        if len(weights) != sum(counts):
            raise ValueError(f"Ensemble expects {sum(counts)} weight arrays ({counts[0]} per member), got "
                             f"{len(weights)}.")
        self.trainer.sync()
        at = 0
        for m, count in zip(self._members, counts):
            m.set_weights(weights[at:at + count])
            at += count

    def summary(self, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None) -> None:
        """Member 0's summary, headed by the number of members."""
        (print_fn or print)(f"Ensemble '{self.name}' of {self.n} members, each:")
        self._members[0].summary(line_length=line_length, print_fn=print_fn)

    def flatten_layers(self) -> list:
        """Member 0's layers (every member has the same; they share its hyperparameters)."""
        return list(self._members[0].flatten_layers())

    def named_weights(self) -> list:
        """``(member_i/layer/weight, variable)`` of every member (TensorBoard's histograms per member)."""
        self.trainer.sync()
        return [(f"member_{i}/{name}", var) for i, m in enumerate(self._members) for name, var in m.named_weights()]

    def count_params(self) -> int:
        return sum(m.count_params() for m in self._members)

    # -- members -----------------------------------------------------------------------------

    def members(self) -> list:
        """The n member models with their trained weights: ordinary ``hl`` models.

        They are the ensemble's own members (not copies): training one on its own changes
        that member of the ensemble too.
        """
        self.trainer.sync()
        return list(self._members)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Ensemble(n={self.n}, seeds={self.seeds}, member={type(self._members[0]).__name__})"
