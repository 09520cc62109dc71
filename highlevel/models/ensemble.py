"""``hl.Ensemble``: n independently initialized copies of a model, trained in one compiled step.

Each member is an ordinary ``hl`` model with its own Trainer. ``fit`` stacks the
members' train states along a leading member axis and runs
``jax.jit(jax.vmap(train_step))`` over it: one compilation for the whole ensemble,
whatever ``n``. Between calls the members are the source of truth (as the module is
for a single model): ``fit`` restacks their states at its start and writes the
trained states back into them at its end, so ``members()`` are usable on their own.

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
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import optimizers as _optimizers
from highlevel.training.callback import History
from highlevel.training.data import make_adapter, prefetch_to_device
from highlevel.training.state import FlatStep, LiveState
from highlevel.utils import random as _random

__all__ = ["Ensemble"]


def _stack(trees: list):
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def _unstack(tree, n: int) -> list:
    # One device-to-device slice per leaf and member; no host round trip.
    return [jax.tree_util.tree_map(lambda a, i=i: a[i], tree) for i in range(n)]


def _sample_x(adapter):
    if hasattr(adapter, "x"):
        return adapter.x
    x, _, _ = adapter.peek()
    return x


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

    def __init__(self, build_fn: Callable, n: int, seeds: Sequence[int] | None = None):
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
        self.seeds = [int(s) for s in seeds]
        self._members = []
        self._generators = []  # each member's seed generator, to draw its train-state key later
        saved = _random._GLOBAL
        try:
            for i, seed in enumerate(self.seeds):
                _random.set_random_seed(seed)
                model = _call_build_fn(build_fn, i)
                if not isinstance(model, Model):
                    raise TypeError(f"Ensemble's build_fn must return an hl model (hl.Sequential or hl.Model), "
                                    f"got {type(model).__name__} for member {i}.")
                if any(model is m for m in self._members):
                    raise ValueError("Ensemble's build_fn returned the same model twice; it must build a new "
                                     "model on every call.")
                self._members.append(model)
                self._generators.append(_random._GLOBAL)
        finally:
            _random._GLOBAL = saved
        self.compiled = False
        self._live = LiveState()
        self._ready = False
        self.history = None

    # -- compile ------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                learning_rate=None) -> None:
        """Configures training of every member, as ``Model.compile``.

        Args:
          optimizer, loss, loss_weights, metrics: as ``Model.compile``; each member gets its
            own copy of the optimizer.
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
        if lrs is not None and getattr(base, "_is_scheduled", False):
            raise ValueError("Ensemble.compile got learning_rate together with an optimizer whose learning rate "
                             "is a schedule; pass a float learning rate to the optimizer instead of a schedule.")
        for model in self._members:
            opt = _optimizers.get(optimizer) if isinstance(optimizer, (str, dict, type)) else copy.copy(base)
            if hasattr(opt, "_unbind"):
                opt._unbind()  # a copy of a compiled model's optimizer must not drive that model's state
            model.compile(optimizer=opt, loss=loss, loss_weights=loss_weights, metrics=metrics)
        self._lrs = lrs
        self._ready = False
        self._live.set(None)
        self.compiled = True

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must call ensemble.compile(optimizer=..., loss=...) before {what}().")

    # -- stacking ---------------------------------------------------------------------------

    def _trainers(self):
        return [m._trainer for m in self._members]

    def _prepare(self, x_sample) -> None:
        """Builds and initializes each member as its solo ``fit`` would, then sets up the steps."""
        saved = _random._GLOBAL
        try:
            for model, gen in zip(self._members, self._generators):
                _random._GLOBAL = gen  # the member's own stream: its train-state key as if alone
                model._trainer._ensure_ready(x_sample)
        finally:
            _random._GLOBAL = saved
        if self._ready:
            return
        trainers = self._trainers()
        first = jax.tree_util.tree_structure(trainers[0].state.params)
        shapes0 = [np.shape(a) for a in jax.tree_util.tree_leaves(trainers[0].state.params)]
        for i, t in enumerate(trainers[1:], start=1):
            if (jax.tree_util.tree_structure(t.state.params) != first
                    or [np.shape(a) for a in jax.tree_util.tree_leaves(t.state.params)] != shapes0):
                raise ValueError(f"Ensemble member {i} has different weights (structure or shapes) from member 0; "
                                 "build_fn must build the same architecture for every member.")
        if self._lrs is not None:
            for t, lr in zip(trainers, self._lrs):
                t._set_learning_rate(lr)
        t0 = trainers[0]
        self._builder = builder = t0.builder
        self._hyper_treedef = t0._hyper_leaves_treedef
        self._metrics_template = _stack([t._metrics_template for t in trainers])

        def ensemble_train_step(state, hyper, batch, per_member):
            return jax.vmap(builder.train_step, in_axes=(0, None, 0 if per_member else None))(state, hyper, batch)

        def ensemble_train_step_shared(state, hyper, batch):
            return ensemble_train_step(state, hyper, batch, False)

        def ensemble_train_step_per_member(state, hyper, batch):
            return ensemble_train_step(state, hyper, batch, True)

        self._train_fns = {False: FlatStep(ensemble_train_step_shared, self._hyper_treedef),
                           True: FlatStep(ensemble_train_step_per_member, self._hyper_treedef)}

        def ensemble_eval_step(variables, hyper, metrics, mean_metrics, batch):
            metrics = jax.vmap(builder.eval_step, in_axes=((0, 0), None, 0, None))(variables, hyper, metrics, batch)
            x, y, sample_weight, mask = batch
            preds = jax.vmap(builder.predict_step, in_axes=((0, 0), None, None))(variables, hyper, x)
            mean = jax.tree_util.tree_map(lambda p: jnp.mean(p, axis=0), preds)
            loss, per_output, y_list, p_list = builder._losses(y, mean, sample_weight, mask)
            mean_metrics = builder._update_metrics(mean_metrics, loss, per_output, y_list, p_list,
                                                   sample_weight, mask)
            return metrics, mean_metrics

        def ensemble_predict_step(variables, hyper, x):
            return jax.vmap(builder.predict_step, in_axes=((0, 0), None, None))(variables, hyper, x)

        self._eval_fn = jax.jit(ensemble_eval_step, donate_argnums=(2, 3))
        self._predict_fn = jax.jit(ensemble_predict_step)
        self._ready = True

    def _stack_members(self) -> None:
        self._live.set(_stack([t.state for t in self._trainers()]))

    def _unstack_to_members(self) -> None:
        for t, state in zip(self._trainers(), _unstack(self._live.get(), self.n)):
            t.state = state
            t._module_stale = True
            t.push_to_module()

    # -- reading metrics -----------------------------------------------------------------------

    def _read_one(self, host) -> dict[str, float]:
        tracker, outputs = host
        names = iter(self._builder.metric_names())
        name, metric = next(names)
        logs = {name: float(metric.result(tracker))}
        for loss_state, metric_states in outputs:
            if loss_state is not None:
                name, metric = next(names)
                logs[name] = float(metric.result(loss_state))
            for ms in metric_states:
                name, metric = next(names)
                logs[name] = float(metric.result(ms))
        return logs

    def _read(self, stacked, mean_metrics=None, prefix: str = "") -> dict[str, float]:
        host = jax.device_get(stacked)
        per = [self._read_one(jax.tree_util.tree_map(lambda a, i=i: a[i], host)) for i in range(self.n)]
        logs = {}
        for name in per[0]:
            logs[prefix + name] = float(np.mean([p[name] for p in per]))
            for i, p in enumerate(per):
                logs[f"{prefix}{name}_{i}"] = p[name]
        if mean_metrics is not None:
            for name, value in self._read_one(jax.device_get(mean_metrics)).items():
                logs[f"{prefix}ensemble_{name}"] = value
        return logs

    # -- fit ---------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose=0, validation_data=None,
            shuffle=True, shuffle_per_member: bool = False, sample_weight=None, class_weight=None) -> History:
        """Trains all members together; returns a History.

        Its logs hold each member's metrics (``loss_0``, ``loss_1``, ..., ``accuracy_0``, ...),
        their mean over members (``loss``, ``accuracy``) and, with ``validation_data``, the
        same with ``val_`` plus ``val_ensemble_loss``/... of the averaged prediction.

        Args:
          shuffle: shuffle the data each epoch (as ``Model.fit``); all members see the same
            order (member 0's, as its solo ``fit`` would) unless ``shuffle_per_member``.
          shuffle_per_member: each member gets its own order, the one its solo ``fit`` would
            use (array data only).
        """
        self._require_compiled("fit")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
        adapter = make_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                               class_weight=class_weight, seed=0)
        per_member = bool(shuffle_per_member) and bool(shuffle)
        if per_member and not hasattr(adapter, "_order"):
            raise ValueError("shuffle_per_member=True needs array data (x and y as arrays); an iterable of "
                             "batches has one order.")
        self._prepare(_sample_x(adapter))
        for t in self._trainers():
            if t._loss_missing:
                raise ValueError("The ensemble was compiled without a loss, so it cannot be trained; pass "
                                 "loss=... to compile().")
        seeds = [t.seed for t in self._trainers()]
        adapter.seed = seeds[0]
        adapters = None
        if per_member:
            adapters = []
            for s in seeds:
                a = copy.copy(adapter)
                a.seed = s
                adapters.append(a)
        val_adapter = None
        if validation_data is not None:
            if not (isinstance(validation_data, tuple) and len(validation_data) in (2, 3)):
                raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight).")
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val_adapter = make_adapter(validation_data[0], validation_data[1], vsw, batch_size=batch_size)
        train_fn = self._train_fns[per_member]
        history = History()
        history.on_train_begin()
        self._stack_members()
        try:
            for epoch in range(int(epochs)):
                state = self._live.get()
                self._live.set(state.replace(metrics=jax.tree_util.tree_map(
                    lambda a: jax.device_put(a, may_alias=False), self._metrics_template)))
                hyper = self._trainers()[0]._hyper_leaves()
                if per_member:
                    batches = (jax.tree_util.tree_map(lambda *p: np.stack(p), *group)
                               for group in zip(*(a.batches(epoch, k=1) for a in adapters)))
                else:
                    batches = adapter.batches(epoch, k=1)
                for batch in prefetch_to_device(batches):
                    self._live.run(train_fn, hyper, tuple(batch))
                logs = self._read(self._live.get().metrics)
                if val_adapter is not None:
                    logs.update(self._evaluate_adapter(val_adapter, prefix="val_"))
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(
                        f"{k}: {v:.4g}" for k, v in logs.items() if not k[-1].isdigit()), flush=True)
                history.on_epoch_end(epoch, logs)
        finally:
            self._unstack_to_members()
        self.history = history
        return history

    # -- evaluate / predict ------------------------------------------------------------------

    def _variables(self):
        state = self._live.get()
        return (state.params, state.non_trainable)

    def _evaluate_adapter(self, adapter, prefix: str = "") -> dict[str, float]:
        variables = self._variables()
        hyper = self._trainers()[0]._hyper()
        copy_ = lambda t: jax.tree_util.tree_map(lambda a: jax.device_put(a, may_alias=False), t)
        metrics = copy_(self._metrics_template)
        mean_metrics = copy_(self._trainers()[0]._metrics_template)
        for batch in prefetch_to_device(adapter.batches(0, k=1)):
            metrics, mean_metrics = self._eval_fn(variables, hyper, metrics, mean_metrics, tuple(batch))
        return self._read(metrics, mean_metrics, prefix)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None) -> dict[str, float]:
        """Per-member metrics (``loss_0``, ...), their mean (``loss``), and the metrics of the
        averaged prediction (``ensemble_loss``, ...; no regularization term), as a dict."""
        self._require_compiled("evaluate")
        adapter = make_adapter(x, y, sample_weight, batch_size=batch_size)
        self._prepare(_sample_x(adapter))
        if self._trainers()[0]._loss_missing:
            raise ValueError("The ensemble was compiled without a loss, so it cannot be evaluated; pass "
                             "loss=... to compile().")
        self._stack_members()
        return self._evaluate_adapter(adapter)

    def predict(self, x, batch_size=None):
        """Every member's outputs, stacked: NumPy arrays of shape ``(n, samples, ...)``."""
        self._require_compiled("predict")
        adapter = make_adapter(x, None, None, batch_size=batch_size, targets=False)
        self._prepare(_sample_x(adapter))
        self._stack_members()
        variables = self._variables()
        hyper = self._trainers()[0]._hyper()
        counts, outputs = [], []
        for batch in prefetch_to_device(adapter.batches(0, k=1)):
            counts.append(int(np.asarray(batch.mask).sum()))
            outputs.append(self._predict_fn(variables, hyper, batch.x))
        if not outputs:
            raise ValueError("predict got no data: x is empty.")
        host = jax.device_get(outputs)
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p)[:, :c] for p, c in zip(parts, counts)], axis=1), *host)

    def predict_mean(self, x, batch_size=None):
        """The members' outputs averaged over the member axis: shape ``(samples, ...)``."""
        return jax.tree_util.tree_map(lambda p: p.mean(axis=0), self.predict(x, batch_size=batch_size))

    # -- members -----------------------------------------------------------------------------

    def members(self) -> list:
        """The n member models with their trained weights: ordinary ``hl`` models.

        They are the ensemble's own members (not copies): training one on its own changes
        that member of the ensemble too.
        """
        return list(self._members)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Ensemble(n={self.n}, seeds={self.seeds}, member={type(self._members[0]).__name__})"
