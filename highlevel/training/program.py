"""What the trainer's one loop runs: a ``Program`` (abstract) and ``ModelProgram`` for one model.

A program holds the compiled steps of one training setup, the live train state they
carry (``LiveState``) and how that state maps to the module(s). The trainer's loop
(``training/trainer.py``) drives any program the same way; ``ModelProgram`` trains one
module, ``EnsembleProgram`` (``training/ensemble.py``) n stacked copies under ``jax.vmap``.
"""

from __future__ import annotations

import abc
from typing import Any, Iterator

import jax
import numpy as np
from flax import nnx

from highlevel import metrics as _metrics
from highlevel import optimizers as _optimizers
from highlevel.layers.base import Hyperparameter
from highlevel.training import custom_steps, resident, results
from highlevel.training.compiled_metrics import CompileMetrics, model_metrics
from highlevel.training.data import Stacked
from highlevel.training.live import LiveState
from highlevel.training.outputs import output_specs
from highlevel.training.state import FlatStep, TrainState
from highlevel.training.step import StepBuilder
from highlevel.utils import random as _random

__all__ = ["Program", "ModelProgram", "copy_tree", "read_metrics"]


def copy_tree(tree):
    """A real copy (new buffers) of every array, without compiling a copy program per shape."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if all(not isinstance(a, jax.Array) or a.is_fully_addressable for a in leaves):
        # one batched transfer for the whole tree (a call per leaf costs ~0.1 ms each)
        return jax.tree_util.tree_unflatten(treedef, jax.device_put(leaves, may_alias=False))

    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:  # a global array of several processes
            return jax.device_put(a, a.sharding, may_alias=False)
        return jax.device_put(a, may_alias=False)
    return jax.tree_util.tree_map(one, tree)


def read_metrics(builder: StepBuilder, host, prefix: str = "") -> dict[str, float]:
    """Metric results from accumulators already on the host, named as ``builder.metric_slots()``."""
    tracker, outputs = host
    names = iter(builder.metric_slots())
    name, metric = next(names)
    metric.load_state(tracker)   # model.metrics answer with what was last read (compiled_metrics.py)
    logs = {prefix + name: float(metric.result())}
    for loss_state, metric_states in outputs:
        if loss_state is not None:
            name, metric = next(names)
            metric.load_state(loss_state)
            logs[prefix + name] = float(metric.result())
        for ms in metric_states:
            name, metric = next(names)
            metric.load_state(ms)
            logs.update(_metrics.result_logs(prefix + name, metric.result()))  # vectors: one entry each
    return logs


class Program(abc.ABC):
    """Abstract: the compiled steps of one training setup and the state they carry.

    Attributes set by ``prepare``: ``live`` (the ``LiveState``), ``seed`` (the data-order
    seed), ``builder`` (the ``StepBuilder`` of one model), ``loss_missing``.
    """

    live: LiveState
    seed: int = 0
    distribution = None
    loss_missing: bool = False
    builder: StepBuilder | None = None

    # -- setting up ------------------------------------------------------------------------

    @abc.abstractmethod
    def prepare(self, x_sample) -> None:
        """Builds the module(s) from a sample of inputs and creates the state (once)."""

    @property
    def ready(self) -> bool:
        return not self.live.empty

    #: Whether ``fit`` may keep in-memory training data on the device (``training/resident.py``).
    supports_resident_data: bool = False

    @property
    @abc.abstractmethod
    def analysed_module(self):
        """The module whose size and layers ``steps_per_execution="auto"`` looks at."""

    def load_state(self, state) -> None:
        """A whole new train state (restored, or set by hand): placed, and written to the module(s)."""
        self.live.load(state)

    def place_field(self, name: str, tree):
        """``tree`` placed as the state's field ``name`` is (a no-op on one device)."""
        return tree

    # -- hyperparameters -------------------------------------------------------------------

    @abc.abstractmethod
    def hyper_variables(self) -> list:
        """The ``Hyperparameter`` variables the steps read, in the steps' order."""

    def hyper_names(self) -> list[str]:
        """A name per hyperparameter variable (its path in the module), in ``hyper_variables()``'s order."""
        return [f"hyperparameter_{i}" for i in range(len(self.hyper_variables()))]

    @abc.abstractmethod
    def hyper_leaves(self) -> list:
        """The hyperparameters' current arrays, by reference (for ``FlatStep`` calls)."""

    @abc.abstractmethod
    def hyper(self):
        """The hyperparameters as the steps' ``hyper`` pytree."""

    # -- steps -----------------------------------------------------------------------------

    @abc.abstractmethod
    def train_fns(self) -> tuple[FlatStep, FlatStep]:
        """``(one step, K fused steps)`` on host batches."""

    def resident_fns(self, batch_size: int, k: int) -> tuple[FlatStep, FlatStep] | None:
        """``(one, K)`` steps that gather their batch from device-resident data, or None."""
        return None

    @abc.abstractmethod
    def fresh_metrics(self):
        """New training-metric accumulators on the device."""

    @abc.abstractmethod
    def read(self, host_metrics, prefix: str = "") -> dict[str, float]:
        """Training logs from accumulators copied to the host."""

    @abc.abstractmethod
    def fresh_eval_metrics(self):
        """New evaluation accumulators on the device."""

    @abc.abstractmethod
    def eval(self, variables, hyper, metrics, item):
        """Accumulates one execution (a batch, a ``Stacked`` group or a list of batches)."""

    @abc.abstractmethod
    def read_eval(self, host_metrics, prefix: str = "") -> dict[str, float]:
        """Evaluation logs from accumulators copied to the host."""

    def result_values(self, logs: dict[str, float]):
        """What ``evaluate``/``test_on_batch``/``train_on_batch`` return without ``return_dict``:
        the values of ``logs`` as a list, or the one value alone."""
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @abc.abstractmethod
    def predict(self, variables, hyper, x):
        """The outputs for one batch of inputs (device arrays)."""

    @abc.abstractmethod
    def join_predictions(self, host_outputs: list, counts: list[int]):
        """The per-batch outputs joined, padding rows dropped."""

    def statistics_step(self):
        """``jax.jit`` of the forward pass that updates only the non-trainable state."""
        raise TypeError(f"{type(self).__name__} has no statistics pass.")

    # -- what callbacks ask ------------------------------------------------------------------

    @abc.abstractmethod
    def learning_rate(self) -> float | None:
        """The learning rate in the state (None when the optimizer keeps none)."""

    @abc.abstractmethod
    def set_learning_rate(self, value: float) -> bool:
        """Sets the learning rate in the state; False when there is no state yet."""

    def metric_direction(self, name: str) -> str | None:
        """``"up"``/``"down"`` for a loss or compiled metric logged as ``name``, None when unknown."""
        if name == "loss" or name.endswith("_loss"):
            return "down"
        if self.builder is None:
            return None
        for log_name, metric in self.builder.metric_names():
            if log_name == name:
                return getattr(metric, "direction", None)
        return None

    def metric_objects(self) -> list:
        """Keras 3's ``model.metrics`` for this program (``training/compiled_metrics.py``)."""
        return []

    @property
    def loss_config(self):
        """``compile``'s ``loss`` argument (for the data checks)."""
        return getattr(self, "loss", None)

    def check_data(self, adapter, **kwargs) -> None:
        """The data checks that need the built model (``training/checks.py``): labels in range for
        the loss, target shapes, dict input names; ``epochs`` when given."""
        adapter.check_against(self.analysed_module, self.loss_config, **kwargs)

    def host_batches(self, adapter, epoch: int, start: int, k: int) -> Iterator:
        """The epoch's executions from the host (``adapter.batches``)."""
        return adapter.batches(epoch, start=start, k=k)

    def variables(self):
        state = self.live.get()
        return (state.params, state.non_trainable)


_MISSING = object()


def _child(node, key):
    """``node``'s child at ``key`` as ``nnx`` paths name it (attribute, list index, dict key)."""
    if isinstance(key, str):
        value = getattr(node, key, _MISSING)
        if value is not _MISSING:
            return value
    try:
        return node[key]
    except (KeyError, IndexError, TypeError):
        return _MISSING


class _Split:
    """A split of the module (its own ``Variable`` objects, in the builder's partition) and the
    graph edges on the way to them: valid while each edge still leads to the same object."""

    __slots__ = ("builder", "model", "params", "rest", "edges")

    def __init__(self, builder, model, params, rest):
        self.builder, self.model, self.params, self.rest = builder, model, params, rest
        edges = {}
        for state in (params, rest):
            for path, variable in nnx.to_flat_state(state):
                node = model
                for depth, key in enumerate(path):
                    child = variable if depth == len(path) - 1 else _child(node, key)
                    edges[(id(node), key)] = (node, key, child)
                    node = child
        self.edges = tuple(edges.values())

    def valid(self, builder, model) -> bool:
        return (builder is self.builder and model is self.model
                and all(_child(node, key) is child for node, key, child in self.edges))


class _ModelLink:
    """``ModuleLink`` of one module: the trainable weights and the rest, in the builder's partition.

    The module's graph is walked (``builder.split``: 0.85 ms for the tiny 20-32-1 model on a
    CPU, the largest host cost between two fused epochs) only when the split it keeps no longer
    holds: every edge from the module to each of its variables is re-checked by identity
    (microseconds), so an attribute set to a new layer or a new ``Variable`` is seen at the
    next read, as before.
    """

    def __init__(self, program: "ModelProgram"):
        self.program = program
        self._split: _Split | None = None

    def _variables(self):
        """``(params, rest)``: the module's own variables (by reference), from the kept split if valid."""
        program = self.program
        split = self._split
        if split is None or not split.valid(program.builder, program.model):
            params, _, rest = program.builder.split(program.model)
            split = self._split = _Split(program.builder, program.model, params, rest)
        return split.params, split.rest

    def read(self, state):
        params, rest = self._variables()
        return state.replace(params=params, non_trainable=rest)

    def fresh(self, state):
        params, rest = self._variables()
        return self.program.place(state.replace(params=copy_tree(params), non_trainable=copy_tree(rest)))

    def write(self, state) -> None:
        params, rest = self._variables()
        pairs = ((params, state.params), (rest, state.non_trainable))
        if any(jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b) for a, b in pairs):
            nnx.update(self.program.model, state.params, state.non_trainable)   # the general (walking) update
            return
        is_variable = lambda v: isinstance(v, nnx.Variable)
        for module_states, new_states in pairs:
            for old, new in zip(jax.tree_util.tree_leaves(module_states, is_leaf=is_variable),
                                jax.tree_util.tree_leaves(new_states, is_leaf=is_variable)):
                old.update_from_state(new)


class ModelProgram(Program):
    """The steps of one model, as ``compile`` configured them (a final class).

    Args:
      model: the ``nnx`` module to train (a highlevel Layer: ``module(x, training=...)``,
        ``regularization_loss()``, ``trainable_weights``, ``output_names``).
      optimizer: an ``hl.optimizers`` optimizer (resolved).
      loss, loss_weights, metrics: ``compile``'s arguments.
      distribution: a ``hl.distribute`` strategy or None.
    """

    def __init__(self, model, optimizer, loss, loss_weights, metrics, distribution=None):
        custom_steps.refuse_keras_steps(model)
        self.model = model
        self.optimizer = optimizer
        self.loss, self.loss_weights, self.metrics = loss, loss_weights, metrics
        #: Keras's ``Mean(name="loss")`` and ``compile_metrics``: what ``model.metrics`` lists.
        self.loss_tracker = _metrics.Mean(name="loss")
        self.compile_metrics = CompileMetrics(self) if metrics is not None else None
        self.distribution = distribution
        self.live = LiveState(_ModelLink(self))
        self.builder = None
        self.seed = 0
        self._state_shardings = None
        self._hyper_vars: list = []
        self._hyper_names: list[str] = []
        self._hyper_state = None
        self.hyper_treedef = None
        self._metrics_template = None
        self._fns: dict = {}
        self._resident_fns: dict = {}

    @property
    def supports_resident_data(self) -> bool:
        return self.distribution is None

    @property
    def analysed_module(self):
        return self.model

    def place(self, state):
        """``state`` on the mesh when distributed (a no-op where it already is)."""
        if state is None or self._state_shardings is None:
            return state
        return self.distribution.place(state, self._state_shardings)

    def place_field(self, name: str, tree):
        if self._state_shardings is None:
            return tree
        return self.distribution.place(tree, getattr(self._state_shardings, name))

    def load_state(self, state) -> None:
        self.live.load(self.place(state))

    # -- setting up --------------------------------------------------------------------------

    def prepare(self, x_sample) -> None:
        self.model.build_from_data(x_sample)
        if self.ready:
            return
        model = self.model
        trainable_ids = {id(v) for v in model.trainable_weights}
        paths = frozenset(tuple(path) for path, node in nnx.iter_graph(model)
                          if isinstance(node, nnx.Variable) and id(node) in trainable_ids)
        graphdef, _, _, _ = nnx.split(model, lambda p, v: tuple(p) in paths, Hyperparameter, ...)
        outputs = output_specs(model.output_names, model.output_shapes(), self.loss, self.loss_weights,
                               self.metrics)
        self.loss_missing = all(spec.loss is None for spec in outputs)
        to_optax_for = getattr(self.optimizer, "to_optax_for", None)
        tx = to_optax_for(model, paths) if to_optax_for is not None else self.optimizer.to_optax()
        self.builder = StepBuilder(graphdef, paths, tx, outputs, self.loss_tracker,
                                   list(model.output_names), loss_scale=getattr(self.optimizer, "loss_scale", None))
        params, hyper, rest = self.builder.split(model)
        params, rest = copy_tree(params), copy_tree(rest)
        by_path = {tuple(path): node for path, node in nnx.iter_graph(model) if isinstance(node, Hyperparameter)}
        flat = list(nnx.to_flat_state(hyper))
        self._hyper_vars = [by_path[tuple(path)] for path, _ in flat]
        self._hyper_names = ["/".join(str(p) for p in path) for path, _ in flat]
        self._hyper_state = hyper
        self.hyper_treedef = jax.tree_util.tree_structure(hyper)
        self.seed = _random.seed_from_global()
        # The metric accumulators are made once here and copied (explicitly) at each reset, so
        # that fit/evaluate make no implicit transfer (jax.transfer_guard("disallow") holds).
        with jax.transfer_guard("allow"):
            self._metrics_template = self.builder.init_metrics()
        state = TrainState.create(params=params, non_trainable=rest, opt_state=tx.init(params),
                                  rng=_random.host_key(self.seed), metrics=self.fresh_metrics())
        if self.distribution is not None:
            self._state_shardings = self.distribution.state_shardings(state)
        self.live.attach(self.place(state))
        # Both steps are always there: full groups of K batches go through the K-step function
        # (a plain lax.scan), single batches and a partial last group through the one-step
        # function. Each compiles at its first use, once.
        self._fns = {"train": (FlatStep(self._constrained(self.builder.train_step), self.hyper_treedef),
                               FlatStep(self._constrained(self.builder.multi_train_step), self.hyper_treedef)),
                     "eval": (jax.jit(self.builder.eval_step, donate_argnums=2),
                              jax.jit(self.builder.multi_eval_step, donate_argnums=2)),
                     "predict": jax.jit(self.builder.predict_step)}
        self._resident_fns = {}

    def _constrained(self, step):
        """``step`` whose new state keeps the state's shardings (so it is donated in place and the
        next call has the same signature); ``step`` itself when not distributed."""
        shardings = self._state_shardings
        if shardings is None:
            return step

        def constrained(state, hyper, batch):
            return jax.lax.with_sharding_constraint(step(state, hyper, batch), shardings)

        constrained.__name__ = step.__name__
        return constrained

    # -- hyperparameters ------------------------------------------------------------------------

    def hyper_variables(self) -> list:
        return list(self._hyper_vars)

    def hyper_names(self) -> list[str]:
        return list(self._hyper_names)

    def hyper_leaves(self) -> list:
        leaves = [v.get_value() for v in self._hyper_vars]
        return leaves if self.distribution is None else self.distribution.replicate(leaves)

    def hyper(self):
        if not self._hyper_vars:
            return self._hyper_state
        return jax.tree_util.tree_unflatten(self.hyper_treedef, self.hyper_leaves())

    # -- steps --------------------------------------------------------------------------------

    def train_fns(self) -> tuple[FlatStep, FlatStep]:
        return self._fns["train"]

    def resident_fns(self, batch_size: int, k: int):
        if self.distribution is not None:
            return None
        if (batch_size, k) not in self._resident_fns:
            one, multi = resident.resident_steps(self.builder.train_step, batch_size, k)
            self._resident_fns[(batch_size, k)] = (FlatStep(one, self.hyper_treedef),
                                                   FlatStep(multi, self.hyper_treedef))
        return self._resident_fns[(batch_size, k)]

    def fresh_metrics(self):
        return copy_tree(self._metrics_template)

    def metric_objects(self) -> list:
        return model_metrics(self)

    def read(self, host_metrics, prefix: str = "") -> dict[str, float]:
        return results.sorted_logs(read_metrics(self.builder, host_metrics, prefix))   # Keras's order of logs

    fresh_eval_metrics = fresh_metrics
    read_eval = read

    def result_values(self, logs: dict[str, float]):
        # Keras 3's order (training/results.py): the loss, each output's loss, the metrics.
        return results.ordered_values(logs, results.keras_names(self.builder.outputs))

    def eval(self, variables, hyper, metrics, item):
        one, multi = self._fns["eval"]
        if isinstance(item, Stacked):
            return multi(variables, hyper, metrics, tuple(item.batch))
        for batch in (item if isinstance(item, list) else [item]):
            metrics = one(variables, hyper, metrics, tuple(batch))
        return metrics

    def predict(self, variables, hyper, x):
        return self._fns["predict"](variables, hyper, x)

    def join_predictions(self, host_outputs: list, counts: list[int]):
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p)[:c] for p, c in zip(parts, counts)], axis=0),
            *host_outputs)

    def statistics_step(self):
        if "stats" not in self._fns:
            self._fns["stats"] = jax.jit(self.builder.statistics_step, donate_argnums=2)
        return self._fns["stats"]

    # -- learning rate --------------------------------------------------------------------------

    def learning_rate(self) -> float | None:
        if not self.ready:
            return None
        try:
            lr = _optimizers.get_hyperparam(self.live.get().opt_state)
        except ValueError:
            return None
        return float(jax.device_get(lr))

    def set_learning_rate(self, value: float) -> bool:
        if not self.ready:
            return False
        self.live.replace(opt_state=_optimizers.set_hyperparam(self.live.get().opt_state, value))
        return True


def sample_of(adapter):
    """The inputs of an adapter's data (its arrays, or its first batch), for building a model."""
    if hasattr(adapter, "x"):
        return adapter.x
    x, _, _ = adapter.peek()
    return x
