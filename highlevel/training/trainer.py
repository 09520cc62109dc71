"""The Trainer behind ``compile``/``fit``/``evaluate``/``predict``.

It works on any ``flax.nnx`` module that follows the highlevel Layer protocol
(``module(x, training=...)``, ``regularization_loss()``, ``trainable_weights``)
and knows nothing of Sequential or graphs. Between compiled calls it is the only
place that touches the train state:

* at the start of ``fit``/``evaluate``/``predict`` and after epoch-level
  callbacks, weights are *pulled* from the module (copied, so donating the train
  state never invalidates the module's arrays): the module is the source of
  truth between epochs, whatever a callback or the user did to it;
* after each epoch and at the end, the state is *pushed* back to the module;
* hyperparameters (dropout rates, batch-norm momentum) are read from the module
  by reference after every hook that may have changed them: a handful of arrays.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import nnx

from highlevel import distribute as _distribute
from highlevel import losses as _losses
from highlevel import metrics as _metrics
from highlevel import optimizers as _optimizers
from highlevel.layers.base import Hyperparameter
from highlevel.training.callback import CallbackList, History, LazyLogs
from highlevel.training.data import Stacked, make_adapter, prefetch_to_device, split_validation
from highlevel.training.outputs import output_specs
from highlevel.training.progress import ProgbarLogger
from highlevel.training.resume import ResumeAndStatistics
from highlevel.training import resident
from highlevel.training.state import FlatStep, LiveState, TrainState
from highlevel.training.step import OutputSpec, StepBuilder
from highlevel.utils import random as _random

__all__ = ["Trainer"]


def _copy(tree):
    # A real copy (new buffers) without compiling a copy program per shape.
    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:  # a global array of several processes
            return jax.device_put(a, a.sharding, may_alias=False)
        return jax.device_put(a, may_alias=False)
    return jax.tree_util.tree_map(one, tree)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}.")
    return int(verbose)


class Trainer(ResumeAndStatistics):
    """Compiles and runs the steps of one model."""

    def __init__(self, model):
        self.model = model
        self.compiled = False
        self._live = LiveState()  # the train state; ``self.state`` reads and replaces it
        self.builder: StepBuilder | None = None
        self.optimizer = None
        self._train_fn = self._eval_fn = self._predict_fn = None
        self._hyper_vars: list = []
        self._stats_fn = None
        self.callbacks = None
        self._fit_adapter = None
        self._resume = None
        self.epoch, self.steps_done, self._epoch_finished = 0, 0, False
        self._hyper_treedef = None
        self._module_stale = False
        self.steps_per_execution = 1
        self._spe_request: int | str = 1  # as given to compile: an integer or "auto"
        self._spe_resolved = False
        self.distribution: _distribute.Distribution | None = None  # set by compile
        self._state_shardings = None  # a tree of shardings like the state's, when distributed
        #: Keep in-memory training data on the device when it fits (training/resident.py);
        #: False always copies each batch from the host.
        self.device_data = True
        self._resident = None          # the current fit's ResidentData, or None
        self._resident_args: tuple = ()
        self._resident_fns: dict = {}  # (batch size, K) -> (one-step, K-step) FlatSteps

    @property
    def state(self) -> TrainState | None:
        """The train state (rebuilt from its leaves if steps ran since it was last read)."""
        return self._live.get()

    @state.setter
    def state(self, value: TrainState | None) -> None:
        if value is not None and self._state_shardings is not None:
            # Every state that enters the trainer lands on the mesh (a no-op where it already is).
            value = self.distribution.place(value, self._state_shardings)
        self._live.set(value)

    # -- compile -------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                steps_per_execution: int | str = 1, run_eagerly: bool = False, jit_compile: Any = "auto",
                distribution=None, **kwargs) -> None:
        if kwargs:
            raise TypeError(f"compile() got unexpected arguments: {', '.join(sorted(kwargs))}.")
        if run_eagerly:
            raise ValueError("run_eagerly=True is not supported: highlevel always compiles its steps. "
                             "Debug a layer by calling it on arrays outside fit.")
        if steps_per_execution != "auto" and (not isinstance(steps_per_execution, (int, np.integer))
                                              or isinstance(steps_per_execution, bool) or steps_per_execution < 1):
            raise ValueError(f"steps_per_execution must be a positive integer or 'auto', got "
                             f"{steps_per_execution!r}.")
        self._configure(optimizer, loss, loss_weights, metrics, steps_per_execution, distribution)
        self.compiled = True

    def _configure(self, optimizer, loss, loss_weights, metrics, steps_per_execution, distribution=None) -> None:
        # Trained weights live in the state until pushed; a new compile starts a new state.
        self.push_to_module()
        # An explicit distribution wins; else the one of an enclosing ``with strategy:`` block.
        self.distribution = _distribute.get(distribution) if distribution is not None else _distribute.current()
        self._state_shardings = None
        self.optimizer = _optimizers.get(optimizer)
        self._loss_arg = loss
        self._loss_weights_arg = loss_weights
        self._metrics_arg = metrics
        # "auto" is resolved at the first fit (see highlevel/training/auto.py); 1 until then.
        self._spe_request = steps_per_execution
        self.steps_per_execution = 1 if steps_per_execution == "auto" else int(steps_per_execution)
        self._spe_resolved = False
        # Resolve names now so that a typo fails at compile, not at the first batch.
        per_output = loss.values() if isinstance(loss, dict) else loss if isinstance(loss, (list, tuple)) else [loss]
        for item in per_output:
            if item is not None:
                _losses.get(item)
        self.state = None
        self.builder = None
        self.optimizer._bind(self._get_learning_rate, self._set_learning_rate)
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "steps_per_execution": steps_per_execution}

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must call model.compile(optimizer=..., loss=...) before {what}().")

    # -- setting up the state -------------------------------------------------

    def _output_specs(self) -> list[OutputSpec]:
        return output_specs(self.model.output_names, self.model.output_shapes(), self._loss_arg,
                            self._loss_weights_arg, self._metrics_arg)

    def _init_state(self) -> None:
        """Splits the (built) module, creates the optimizer state and the compiled steps."""
        model = self.model
        trainable_ids = {id(v) for v in model.trainable_weights}
        paths = frozenset(tuple(path) for path, node in nnx.iter_graph(model)
                          if isinstance(node, nnx.Variable) and id(node) in trainable_ids)
        graphdef, _, _, _ = nnx.split(model, lambda p, v: tuple(p) in paths, Hyperparameter, ...)
        outputs = self._output_specs()
        if all(spec.loss is None for spec in outputs):
            self._loss_missing = True
        else:
            self._loss_missing = False
        to_optax_for = getattr(self.optimizer, "to_optax_for", None)
        tx = to_optax_for(model, paths) if to_optax_for is not None else self.optimizer.to_optax()
        self.builder = StepBuilder(graphdef, paths, tx, outputs, _metrics.Mean(name="loss"),
                                   list(model.output_names))
        params, hyper, rest = self.builder.split(model)
        params, rest = _copy(params), _copy(rest)
        self._collect_hyper_vars(hyper)
        seed = _random.seed_from_global()
        self.seed = seed
        # Created eagerly: one jitted init of all of this compiled once per model (~125 ms for the
        # tiny model) where the eager ops compile once per shape and process (~90 ms, then 0).
        # The metric accumulators are made once here and copied (explicitly) at each reset, so
        # that fit/evaluate make no implicit transfer (jax.transfer_guard("disallow") holds).
        with jax.transfer_guard("allow"):
            self._metrics_template = self.builder.init_metrics()
        state = TrainState.create(params=params, non_trainable=rest, opt_state=tx.init(params),
                                  rng=_random.host_key(seed), metrics=self._fresh_metrics())
        if self.distribution is not None:
            self._state_shardings = self.distribution.state_shardings(state)
        self.state = state
        # Both steps are always there: full groups of K batches go through the K-step
        # function (a plain lax.scan), single batches and a partial last group through the
        # one-step function. Each compiles at its first use, once.
        hyper_def = self._hyper_leaves_treedef
        self._train_fn = FlatStep(self._constrained(self.builder.multi_train_step), hyper_def)
        self._train_one_fn = FlatStep(self._constrained(self.builder.train_step), hyper_def)
        self._eval_fn = jax.jit(self.builder.multi_eval_step, donate_argnums=2)
        self._eval_one_fn = jax.jit(self.builder.eval_step, donate_argnums=2)
        self._predict_fn = jax.jit(self.builder.predict_step)
        self._stats_fn = None
        self._resident_fns = {}

    def _constrained(self, step):
        """``step`` whose new state keeps the state's shardings (so it is donated in place and
        the next call has the same signature); ``step`` itself when not distributed."""
        shardings = self._state_shardings
        if shardings is None:
            return step

        def constrained(state, hyper, batch):
            return jax.lax.with_sharding_constraint(step(state, hyper, batch), shardings)

        constrained.__name__ = step.__name__
        return constrained

    def _put_batch(self):
        """How batches reach the device: onto their shards when distributed, else None (the default)."""
        return None if self.distribution is None else self.distribution.put_batch

    def _check_batch_size(self, adapter) -> None:
        if self.distribution is not None:
            self.distribution.prepare_adapter(adapter)

    def _local(self, batch_size):
        """The rows this process feeds per step: over several processes, ``batch_size`` is global."""
        return batch_size if self.distribution is None else self.distribution.local_batch_size(batch_size)

    def _collect_hyper_vars(self, hyper_state) -> None:
        by_path = {tuple(path): node for path, node in nnx.iter_graph(self.model)
                   if isinstance(node, Hyperparameter)}
        flat = list(nnx.to_flat_state(hyper_state))
        self._hyper_vars = [by_path[tuple(path)] for path, _ in flat]
        self._hyper_state = hyper_state
        self._hyper_leaves_treedef = jax.tree_util.tree_structure(hyper_state)

    def _hyper_leaves(self) -> list:
        """``_hyper()``'s leaves, for the steps called with flat arguments (``FlatStep``)."""
        leaves = [v.get_value() for v in self._hyper_vars]
        return leaves if self.distribution is None else self.distribution.replicate(leaves)

    def _fresh_metrics(self):
        """New metric accumulators: a device copy of the initial ones (no host transfer)."""
        return _copy(self._metrics_template)

    def _hyper(self):
        """The hyperparameters as the module holds them now (by reference: no copy, no transfer)."""
        if not self._hyper_vars:
            return self._hyper_state
        return jax.tree_util.tree_unflatten(self._hyper_leaves_treedef, self._hyper_leaves())

    def _ensure_ready(self, x_sample) -> None:
        self.model._build_for_data(x_sample)
        if self.state is None:
            self._init_state()
        else:
            self.pull_from_module()

    # -- syncing with the module ------------------------------------------------

    def pull_from_module(self) -> None:
        """Copies the module's weights into the train state (the module is the source of truth)."""
        if self.state is None:
            return
        params, _, rest = self.builder.split(self.model)
        self.state = self.state.replace(params=_copy(params), non_trainable=_copy(rest))
        self._module_stale = False

    def push_to_module(self) -> None:
        """Writes the train state's weights into the module's variables."""
        if self.state is None or not self._module_stale:
            return
        nnx.update(self.model, self.state.params, self.state.non_trainable)
        self._module_stale = False

    # -- learning rate -------------------------------------------------------------

    def _get_learning_rate(self) -> float | None:
        if self.state is None:
            return None
        try:
            lr = _optimizers.get_hyperparam(self.state.opt_state)
        except ValueError:
            return None
        return float(jax.device_get(lr))

    def _set_learning_rate(self, value: float) -> bool:
        if self.state is None:
            return False
        self.state = self.state.replace(opt_state=_optimizers.set_hyperparam(self.state.opt_state, value))
        return True

    # -- reading metrics -----------------------------------------------------------

    def _read(self, metrics_state, prefix: str = "") -> dict[str, float]:
        """Metric results on the host: one device-to-host copy of the accumulators."""
        host = jax.device_get(metrics_state)
        tracker, outputs = host
        names = iter(self.builder.metric_names())
        logs = {}
        name, metric = next(names)
        logs[prefix + name] = float(metric.result(tracker))
        for loss_state, metric_states in outputs:
            if loss_state is not None:
                name, metric = next(names)
                logs[prefix + name] = float(metric.result(loss_state))
            for ms in metric_states:
                name, metric = next(names)
                logs[prefix + name] = float(metric.result(ms))
        return logs

    # -- fit --------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose="auto", callbacks=None,
            validation_split: float = 0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq: int = 1) -> History:
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        if validation_split and validation_data is None:
            from highlevel.training.data import is_array_data
            if not is_array_data(x):
                raise ValueError("validation_split works only with array data; for an iterable pass "
                                 "validation_data.")
            (x, y, sample_weight), (vx, vy, vsw) = split_validation(x, y, sample_weight, validation_split)
            validation_data = (vx, vy) if vsw is None else (vx, vy, vsw)
        adapter = make_adapter(x, y, sample_weight, batch_size=self._local(batch_size), shuffle=shuffle,
                               class_weight=class_weight, seed=0, steps=steps_per_epoch,
                               steps_per_execution=self.steps_per_execution)
        self._ensure_ready(_sample_x(adapter))
        if self._loss_missing:
            raise ValueError("The model was compiled without a loss, so it cannot be trained; pass "
                             "loss=... to compile().")
        self._check_batch_size(adapter)
        self._resolve_steps_per_execution(adapter)
        adapter.seed = self.seed  # the data order of epoch e depends only on (seed, e)
        self._resident = None
        if self.device_data and self.distribution is None and resident.fits_on_device(adapter):
            self._resident = resident.ResidentData(adapter)
        val_adapter = None
        if validation_data is not None:
            val_adapter = self._validation_adapter(validation_data, validation_batch_size or batch_size,
                                                   validation_steps)
            self._check_batch_size(val_adapter)
        adapter.check_against(self.model, self._loss_arg, validation=val_adapter, epochs=epochs, initial_epoch=initial_epoch)  # issue #20: data checks (training/checks.py)
        history = History()
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
            cbs.insert(0, ProgbarLogger(verbose=verbose))
        cbs.append(history)
        # Callbacks that save the training state (BackupAndRestore) run after all others,
        # so the state they save includes every other callback's update.
        cbs = [c for c in cbs if not getattr(c, "_runs_last", False)] + \
              [c for c in cbs if getattr(c, "_runs_last", False)]
        steps = adapter.num_executions if self.steps_per_execution > 1 else adapter.num_batches
        callback_list = CallbackList(cbs, model=self.model,
                                     params={"epochs": epochs, "steps": steps, "verbose": verbose,
                                             "batch_size": getattr(adapter, "batch_size", None)})
        self.callbacks = callback_list
        self._fit_adapter = adapter
        self._resume = None
        self.model.stop_training = False
        self.model.history = history
        try:
            self._fit_loop(adapter, val_adapter, callback_list, initial_epoch, epochs, validation_freq)
        except BaseException as exc:
            for cb in callback_list.callbacks:
                cb.on_train_exception(exc)
            raise
        finally:
            self.callbacks = None
        return history

    def _resolve_steps_per_execution(self, adapter) -> None:
        """Picks K for ``steps_per_execution="auto"`` at the first fit after compile, from XLA's
        FLOP count of the one-step function (lowered, not compiled: the trace is reused by
        its first call) and whether the model has convolutions (``training/auto.py``)."""
        if self._spe_request != "auto" or self._spe_resolved:
            return
        from highlevel.training import auto
        spec = adapter.batch_spec()
        flops = auto.flops_of(self._live.lower(self._train_one_fn, self._hyper_leaves(), tuple(spec)))
        if flops is None:
            flops = auto.estimate_flops(self.model.count_params(), adapter.batch_size)
        k = auto.choose_steps_per_execution(flops, auto.has_convolution(self.model), jax.default_backend(),
                                            adapter.num_batches, batch_bytes=auto.batch_bytes(spec))
        self.steps_per_execution = adapter.k = k
        self._spe_resolved = True

    def _run_train(self, item, hyper_leaves: list) -> None:
        """One execution: a ``Stacked`` group through the K-step function, a batch or a partial
        group (a list) through the one-step function."""
        if isinstance(item, Stacked):
            self._live.run(self._train_fn, hyper_leaves, tuple(item.batch))
        elif isinstance(item, list):
            for batch in item:
                self._live.run(self._train_one_fn, hyper_leaves, tuple(batch))
        else:
            self._live.run(self._train_one_fn, hyper_leaves, tuple(item))

    def _resident_items(self, epoch: int, start: int):
        """The epoch's executions from resident data (``ResidentData.executions``), with the
        compiled steps made once per (batch size, K)."""
        data, k = self._resident, self.steps_per_execution
        if (data.batch_size, k) not in self._resident_fns:
            one, multi = resident.resident_steps(self.builder.train_step, data.batch_size, k)
            hyper_def = self._hyper_leaves_treedef
            self._resident_fns[(data.batch_size, k)] = (FlatStep(one, hyper_def), FlatStep(multi, hyper_def))
        self._resident_args, items = data.executions(epoch, start, k, self.state.step,
                                                     *self._resident_fns[(data.batch_size, k)])
        return items

    def _run_resident(self, item, hyper_leaves: list) -> None:
        args = self._resident_args
        for fn in item:
            self._live.run(fn, hyper_leaves, *args)

    def _fit_loop(self, adapter, val_adapter, callback_list, initial_epoch, epochs, validation_freq):
        batch_begin = callback_list.needs("on_train_batch_begin")
        batch_end = callback_list.needs("on_train_batch_end")
        run_train = self._run_train if self._resident is None else self._run_resident
        logs: dict[str, float] = {}
        self.pull_from_module()
        self.epoch, self.steps_done, self._epoch_finished = initial_epoch, 0, False
        callback_list.on_train_begin()
        start_epoch, start_step = self._resume if self._resume is not None else (initial_epoch, 0)
        for epoch in range(start_epoch, epochs):
            resuming = epoch == start_epoch and start_step > 0
            self.epoch, self.steps_done, self._epoch_finished = epoch, (start_step if resuming else 0), False
            if not resuming:
                self.state = self.state.replace(metrics=self._fresh_metrics())
            callback_list.on_epoch_begin(epoch)
            self.pull_from_module()
            hyper = self._hyper_leaves()
            first = start_step if resuming else 0
            if self._resident is not None:
                batches = self._resident_items(epoch, first)
            else:
                batches = prefetch_to_device(adapter.batches(epoch, start=first), put=self._put_batch())
            for step, item in enumerate(batches, start=first):
                if batch_begin:
                    callback_list.on_train_batch_begin(step)
                    hyper = self._hyper_leaves()
                run_train(item, hyper)
                self._module_stale = True
                self.steps_done = step + 1
                if batch_end:
                    callback_list.on_train_batch_end(step, LazyLogs(lambda: self._read(self.state.metrics)))
                    hyper = self._hyper_leaves()
                if self.model.stop_training:
                    break
            logs = self._read(self.state.metrics)
            if val_adapter is not None and (epoch + 1) % validation_freq == 0:
                logs.update(self._evaluate_adapter(val_adapter, prefix="val_"))
            lr = self._get_learning_rate()
            if lr is not None:
                logs["learning_rate"] = lr
            self.push_to_module()
            self._epoch_finished = True
            callback_list.on_epoch_end(epoch, logs)
            self.pull_from_module()
            if self.model.stop_training:
                break
        self.push_to_module()
        callback_list.on_train_end(logs)
        self.pull_from_module()
        self.push_to_module()

    def _validation_adapter(self, validation_data, batch_size, steps):
        from highlevel.training.data import is_array_data
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            return make_adapter(vx, vy, vsw, batch_size=self._local(batch_size),
                                steps_per_execution=self.steps_per_execution)
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and not hasattr(validation_data[0], "__iter__"):
            raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, sample_weight) or an "
                             "iterable of batches.")
        return make_adapter(validation_data, steps=steps, steps_per_execution=self.steps_per_execution)

    def _evaluate_adapter(self, adapter, prefix: str = "", callback_list: CallbackList | None = None) -> dict[str, float]:
        variables = (self.state.params, self.state.non_trainable)
        hyper = self._hyper()
        metrics_state = self._fresh_metrics()
        batch_end = callback_list is not None and callback_list.needs("on_test_batch_end")
        for step, item in enumerate(prefetch_to_device(adapter.batches(0), put=self._put_batch())):
            if isinstance(item, Stacked):
                metrics_state = self._eval_fn(variables, hyper, metrics_state, tuple(item.batch))
            else:
                for batch in (item if isinstance(item, list) else [item]):
                    metrics_state = self._eval_one_fn(variables, hyper, metrics_state, tuple(batch))
            if batch_end:
                callback_list.on_test_batch_end(step, LazyLogs(lambda: self._read(metrics_state)))
        return self._read(metrics_state, prefix)

    # -- evaluate / predict ------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict: bool = False):
        self._require_compiled("evaluate")
        adapter = make_adapter(x, y, sample_weight, batch_size=self._local(batch_size), steps=steps,
                               steps_per_execution=self.steps_per_execution)
        self._ensure_ready(_sample_x(adapter))
        adapter.check_against(self.model, self._loss_arg)  # issue #20: data checks (training/checks.py)
        if self._loss_missing:
            raise ValueError("The model was compiled without a loss, so it cannot be evaluated; pass "
                             "loss=... to compile().")
        self._check_batch_size(adapter)
        callback_list = CallbackList(list(callbacks or []), model=self.model)
        callback_list.on_test_begin()
        logs = self._evaluate_adapter(adapter, callback_list=callback_list)
        callback_list.on_test_end(logs)
        if _verbosity(verbose) and verbose != 0:
            print(" - ".join(f"{k}: {v:.4g}" for k, v in logs.items()), flush=True)
        return _format_results(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        if not self.compiled and self.builder is None:
            # Keras allows predict before compile: set up the steps without marking the model compiled.
            self._configure("sgd", None, None, None, 1)
        adapter = make_adapter(x, None, None, batch_size=self._local(batch_size), steps=steps, targets=False)
        self._ensure_ready(_sample_x(adapter))
        self._check_batch_size(adapter)
        variables = (self.state.params, self.state.non_trainable)
        hyper = self._hyper()
        callback_list = CallbackList(list(callbacks or []), model=self.model)
        callback_list.on_predict_begin()
        counts: list[int] = []

        def inputs():
            for batch in adapter.batches(0):
                counts.append(int(batch.mask.sum()))
                yield batch.x

        outputs = []
        batch_end = callback_list.needs("on_predict_batch_end")
        for step, bx in enumerate(prefetch_to_device(inputs(), put=self._put_batch())):
            outputs.append(self._predict_fn(variables, hyper, bx))
            if batch_end:
                callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict got no data: x is empty.")
        host = jax.device_get(outputs) if self.distribution is None else self.distribution.local_rows(outputs)
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p)[:c] for p, c in zip(parts, counts)], axis=0), *host)

    # -- single batches ----------------------------------------------------------------------

    def _single_batch(self, x, y, sample_weight, class_weight):
        adapter = make_adapter(x, y, sample_weight, batch_size=None, class_weight=class_weight)
        if hasattr(adapter, "batch_size") and hasattr(adapter, "num_samples"):
            adapter.batch_size = adapter.num_samples
        self._check_batch_size(adapter)
        return adapter

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict: bool = False):
        self._require_compiled("train_on_batch")
        adapter = self._single_batch(x, y, sample_weight, class_weight)
        self._ensure_ready(_sample_x(adapter))
        if self._loss_missing:
            raise ValueError("The model was compiled without a loss; pass loss=... to compile().")
        batch = next(iter(adapter.batches(0)))
        self.state = self.state.replace(metrics=self._fresh_metrics())
        self._live.run(self._train_one_fn, self._hyper_leaves(), tuple((self._put_batch() or jax.device_put)(batch)))
        self._module_stale = True
        logs = self._read(self.state.metrics)
        self.push_to_module()
        return _format_results(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._require_compiled("test_on_batch")
        adapter = self._single_batch(x, y, sample_weight, None)
        self._ensure_ready(_sample_x(adapter))
        batch = next(iter(adapter.batches(0)))
        metrics_state = self._eval_one_fn((self.state.params, self.state.non_trainable), self._hyper(),
                                          self._fresh_metrics(), tuple((self._put_batch() or jax.device_put)(batch)))
        return _format_results(self._read(metrics_state), return_dict)

    def predict_on_batch(self, x):
        adapter = make_adapter(x, None, None, batch_size=None, targets=False)
        if hasattr(adapter, "num_samples"):
            adapter.batch_size = adapter.num_samples
        processes = 1 if self.distribution is None else self.distribution.data_processes
        return self.predict(x, batch_size=adapter.batch_size * processes, verbose=0)




def _sample_x(adapter):
    if hasattr(adapter, "x"):
        return adapter.x
    x, _, _ = adapter.peek()
    return x


def _format_results(logs: dict[str, float], return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
