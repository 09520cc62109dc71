"""The Trainer: the one host loop behind ``compile``/``fit``/``evaluate``/``predict``, and the
public seam through which callbacks, saving and ensembles reach training.

Who owns what:

* the ``Trainer`` (one per model, ``model.trainer``) owns the loop, the callbacks of the
  running ``fit`` and its data, and answers the ``TrainerAPI`` (``training/seam.py``);
* its ``Program`` (``training/program.py``; set by ``compile``) owns the compiled steps and the
  live train state (``LiveState``, ``training/live.py``), the one object that keeps the
  module and the state in step, with one flag and one ``sync``;
* the loop (``training/_loop.py``) calls the program's steps between the callbacks' hooks
  and syncs at the points ``training/live.py`` lists. ``Ensemble`` runs through this same
  loop with an ``EnsembleProgram`` (``training/ensemble.py``): one vmapped step for all
  members. Exact resumption (``snapshot``/``restore``) is in ``training/_resume.py``.

It works on any ``flax.nnx`` module that follows the highlevel Layer protocol
(``module(x, training=...)``, ``regularization_loss()``, ``trainable_weights``,
``output_names``, ``build_from_data``) and knows nothing of Sequential or graphs.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, Mapping

import jax
import numpy as np

from highlevel import distribute as _distribute
from highlevel import losses as _losses
from highlevel import optimizers as _optimizers
from highlevel.training import _loop, _resume, numerics, resident
from highlevel.training.callback import Callback, CallbackList, History
from highlevel.training.data import is_array_data, make_adapter, prefetch_to_device, split_validation
from highlevel.training.outputs import combine_metrics
from highlevel.training.program import ModelProgram, Program, sample_of
from highlevel.training.progress import ProgbarLogger
from highlevel.training.seam import Snapshot
from highlevel.training.throughput import Throughput

__all__ = ["Trainer"]


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}.")
    return int(verbose)


class Trainer:
    """Compiles and runs the steps of one model (or of an ``Ensemble``'s members together).

    ``model.trainer`` is this object; its public methods and properties are the
    ``TrainerAPI`` (``hl.training.TrainerAPI``): what callbacks, saving and ensembles use.

    Args:
      model: the model it trains (a highlevel ``Model``, or an ``Ensemble``).

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0)
    >>> model.trainer.step, model.trainer.epoch
    (2, 1)
    >>> sorted(model.trainer.optimizer_state.hyperparams)
    ['learning_rate']
    """

    def __init__(self, model):
        self.model = model
        self.compiled = False
        #: The compiled steps and the live state (``Program``); None before ``compile``.
        self.program: Program | None = None
        self.optimizer = None
        #: The ``loss`` given to ``compile``, as given (Keras's ``model.loss``); a later ``compile``
        #: without a loss keeps it, as Keras's.
        self.loss = None
        self.distribution: _distribute.Distribution | None = None
        self.steps_per_execution = 1
        #: Keep in-memory training data on the device when it fits (``training/resident.py``);
        #: False always copies each batch from the host.
        self.device_data = True
        #: Device-to-host reads of the metric accumulators so far (the loop's only reads).
        self.metric_reads = 0
        #: While a step's accumulators have not been read: the function that reads them (what
        #: ``metrics`` calls first, so a callback sees the running values, as Keras's); else None.
        self.unread_metrics: Callable[[], Any] | None = None
        #: What fit measured of its last epoch (``training/throughput.py``); with
        #: ``log_throughput``, also in the epoch logs.
        self.throughput = Throughput(self)
        self.log_throughput = False
        self.epoch, self.steps_done = 0, 0
        self._epoch_finished = False
        self._spe_request: int | str = 1
        self._spe_resolved = False
        self._compile_config: dict[str, Any] = {}
        self._callbacks: CallbackList | None = None
        self._fit_adapter = None
        self._resident = None
        self._resident_args: tuple = ()
        self._resume: tuple[int, int] | None = None

    # -- compile ------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                steps_per_execution: int | str = 1, run_eagerly: bool = False, jit_compile: Any = "auto",
                distribution=None, weighted_metrics=None, auto_scale_loss: bool = True, **kwargs) -> None:
        if kwargs:
            raise TypeError(f"compile() got unexpected arguments: {', '.join(sorted(kwargs))}.")
        if run_eagerly:
            raise ValueError("run_eagerly=True is not supported: highlevel always compiles its steps. "
                             "Debug a layer by calling it on arrays outside fit.")
        if self.compiled:
            # As Keras 3's compile: a loss (with its weights) or metrics not given again are kept.
            if loss is None and self._compile_config.get("loss") is not None:
                loss, loss_weights = self._compile_config["loss"], self._compile_config.get("loss_weights")
            if metrics is None and weighted_metrics is None:
                metrics = self._compile_config.get("metrics")
                weighted_metrics = self._compile_config.get("weighted_metrics")
        self._configure(optimizer, loss, loss_weights, combine_metrics(metrics, weighted_metrics),
                        steps_per_execution, distribution, auto_scale_loss)
        self._compile_config.update(metrics=metrics, weighted_metrics=weighted_metrics)
        if loss is not None:
            self.loss = loss
        self.compiled = True

    def _configure(self, optimizer, loss, loss_weights, metrics, steps_per_execution, distribution=None,
                   auto_scale_loss: bool = True) -> None:
        _check_steps_per_execution(steps_per_execution)
        # Resolve names now so that a typo fails at compile, not at the first batch.
        per_output = loss.values() if isinstance(loss, dict) else loss if isinstance(loss, (list, tuple)) else [loss]
        for item in per_output:
            if item is not None:
                _losses.get(item)
        # An explicit distribution wins; else the one of an enclosing ``with strategy:`` block.
        distribution = _distribute.get(distribution) if distribution is not None else _distribute.current()
        optimizer = numerics.auto_loss_scale(self.model, _optimizers.get(optimizer), auto_scale_loss)
        self.use_program(ModelProgram(self.model, optimizer, loss, loss_weights, metrics, distribution),
                         steps_per_execution, optimizer=optimizer)
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "steps_per_execution": steps_per_execution}

    def use_program(self, program: Program, steps_per_execution: int | str = 1, optimizer=None) -> None:
        """Trains with ``program`` from now on (``compile`` calls this; so does ``Ensemble.compile``).

        The current weights are synced into the module first; the new program starts a new
        train state from the module.
        """
        _check_steps_per_execution(steps_per_execution)
        self.sync()
        self.program = program
        self.distribution = program.distribution
        self.optimizer = optimizer
        # "auto" is resolved at the first fit (see highlevel/training/auto.py); 1 until then.
        self._spe_request = steps_per_execution
        self.steps_per_execution = 1 if steps_per_execution == "auto" else int(steps_per_execution)
        self._spe_resolved = False
        if optimizer is not None and hasattr(optimizer, "bind"):
            optimizer.bind(program.learning_rate, program.set_learning_rate, numerics.state_getter(program))

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must call model.compile(optimizer=..., loss=...) before {what}().")

    def _prepare(self, adapter, what: str | None = None) -> Program:
        program = self.program
        program.prepare(sample_of(adapter))
        if self.distribution is not None:
            self.distribution.prepare_adapter(adapter)
        return program

    def _local(self, batch_size):
        """The rows this process feeds per step: over several processes, ``batch_size`` is global."""
        return batch_size if self.distribution is None else self.distribution.local_batch_size(batch_size)

    def _put_batch(self):
        """How batches reach the device: onto their shards when distributed, else None (the default)."""
        return None if self.distribution is None else self.distribution.put_batch

    # -- the seam (TrainerAPI): state -----------------------------------------------------------

    @property
    def state(self):
        """The train state (``TrainState``: step, params, non_trainable, opt_state, rng, metrics),
        or None before the first fit, evaluate or predict."""
        return None if self.program is None else self.program.live.get()

    @state.setter
    def state(self, value) -> None:
        self._require_program("set the train state")
        self.program.load_state(value)

    def _require_program(self, what: str) -> None:
        if self.program is None:
            raise RuntimeError(f"Cannot {what}: the model is not compiled. Call model.compile(...) first.")

    def sync(self) -> None:
        """Makes the module's variables hold the latest trained weights (the one sync function)."""
        if self.program is not None:
            self.program.live.sync()

    def initialize(self, x_sample=None) -> None:
        """Creates the train state now (weights from the module, fresh optimizer state), as the first
        ``fit`` would. ``x_sample`` builds a model that has no input shape yet."""
        self._require_program("initialize training")
        if x_sample is None and not getattr(self.model, "built", True):
            raise ValueError("The model is not built yet: pass x_sample (a batch of inputs), or build it "
                             "with an hl.Input or model.build(input_shape).")
        self.program.prepare(x_sample)

    @property
    def step(self) -> int:
        """The number of optimizer steps taken (0 before training)."""
        state = self.state
        return 0 if state is None else int(np.max(np.asarray(jax.device_get(state.step))))

    @property
    def optimizer_state(self):
        """The optax state of the optimizer (a pytree; None before the state exists). Setting it
        (same structure and shapes) continues from that state, e.g. after a hand-written loop."""
        state = self.state
        return None if state is None else state.opt_state

    @optimizer_state.setter
    def optimizer_state(self, value) -> None:
        self._require_program("set the optimizer state")
        if not self.program.ready:
            self.initialize()
        current, treedef = jax.tree_util.tree_flatten(self.state.opt_state)
        given = jax.tree_util.tree_leaves(value)
        if len(given) != len(current) or any(np.shape(a) != np.shape(b) for a, b in zip(given, current)):
            raise ValueError(f"The optimizer state given has {len(given)} arrays that do not fit this optimizer's "
                             f"{len(current)} ({type(self.optimizer).__name__}): pass a state of the same "
                             "structure and shapes, e.g. one read from trainer.optimizer_state.")
        leaves = [jax.device_put(np.asarray(g, dtype=c.dtype)) for g, c in zip(given, current)]
        tree = jax.tree_util.tree_unflatten(treedef, leaves)
        self.program.live.replace(opt_state=self.program.place_field("opt_state", tree))

    def set_step(self, step: int) -> None:
        """Sets the optimizer step count (schedules read it), e.g. when restoring a saved model."""
        self._require_program("set the step")
        value = jax.device_put(np.asarray(step, np.int32))
        self.program.live.replace(step=self.program.place_field("step", value))

    @property
    def compile_config(self) -> dict[str, Any]:
        """``compile``'s arguments, as given (optimizer resolved), for saving."""
        return dict(self._compile_config)

    @property
    def metrics(self) -> list:
        """Keras 3's ``model.metrics``: the loss tracker, ``compile_metrics`` (when compiled with
        metrics), each output's loss tracker; [] before ``compile``. Their results are the
        accumulators' values: read now when a step ran since the last read (a callback during
        ``fit``/``evaluate``), else those of the last read."""
        if not self.compiled or self.program is None:
            return []
        if self.unread_metrics is not None:   # mid-run: read the running values once
            self.unread_metrics()
        return self.program.metric_objects()

    @property
    def callbacks(self) -> list[Callback]:
        """The running ``fit``'s callbacks, in the order their hooks run ([] outside ``fit``)."""
        return [] if self._callbacks is None else list(self._callbacks.callbacks)

    @property
    def data_on_device(self) -> bool:
        """Whether the running (or last) ``fit`` keeps its training data on the device."""
        return self._resident is not None

    def metric_direction(self, name: str) -> str | None:
        """``"up"``/``"down"`` for a compiled metric logged as ``name`` (no ``val_``), None when unknown."""
        return None if self.program is None else self.program.metric_direction(name)

    # -- the seam: hyperparameters -------------------------------------------------------------

    def hyperparameters(self) -> dict[str, np.ndarray]:
        """The layers' hyperparameters (dropout rates, momentum, frozen flags) by variable path."""
        self._require_program("read the hyperparameters")
        return dict(zip(self.program.hyper_names(), self._hyper_values()))

    def set_hyperparameters(self, values: Mapping[str, Any]) -> None:
        """Sets hyperparameters by path (as ``hyperparameters()`` names them), keeping dtypes and shapes."""
        self._require_program("set the hyperparameters")
        by_name = dict(zip(self.program.hyper_names(), self.program.hyper_variables()))
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise ValueError(f"Unknown hyperparameters {unknown}; this model has {sorted(by_name)}.")
        for name, value in values.items():
            var = by_name[name]
            old = var.get_value()
            var.set_value(jax.device_put(np.asarray(value, dtype=old.dtype).reshape(old.shape)))

    def _hyper_values(self) -> list[np.ndarray]:
        return [np.asarray(a) for a in _distribute.to_host([v.get_value() for v in self.program.hyper_variables()])]

    # -- the seam: exact resumption ------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Everything needed to continue this ``fit`` exactly: the whole train state as host
        arrays (random keys as raw data), the hyperparameters, where the next step starts
        (epoch, step in epoch) and the data-order seed. One device-to-host copy."""
        self._require_program("take a snapshot")
        return _resume.snapshot(self)

    def snapshot_signature(self) -> dict[str, list]:
        """``{"state": [[shape, dtype], ...], "hyper": [...]}`` of what ``snapshot()`` would hold."""
        return _resume.snapshot_signature(self)

    def restore(self, snapshot: Snapshot) -> None:
        """Restores a ``snapshot()`` (at the start of ``fit``: the loop then continues where it was)."""
        self._require_program("restore a snapshot")
        _resume.restore(self, snapshot)

    # -- the seam: statistics passes -----------------------------------------------------------

    def training_batches(self, num_batches: int, epoch: int | None = None) -> Iterator:
        """Up to ``num_batches`` single batches of the running ``fit``'s training data (on the host)."""
        if self._fit_adapter is None:
            raise RuntimeError("training_batches() is available only during fit().")
        epoch = self.epoch if epoch is None else epoch
        return itertools.islice(self._fit_adapter.batches(epoch, k=1), num_batches)

    def statistics_pass(self, batches, before_batch: Callable[[int], None] | None = None) -> int:
        """Forward passes in training mode with the weights fixed: only the non-trainable state
        (batch-norm moving statistics) changes. ``before_batch(i)`` may change hyperparameters
        (e.g. a momentum) before batch ``i``. Returns the number of batches run."""
        self._require_program("run a statistics pass")
        return _loop.statistics_pass(self, batches, before_batch)

    # -- the seam: inspection ------------------------------------------------------------------

    def lower_train_step(self, batch_spec=None):
        """The one-step train function lowered for the current state (``jax.stages.Lowered``):
        its StableHLO (``.as_text()``), cost analysis and compile, for inspection. Nothing runs.

        ``batch_spec`` defaults to the last ``fit``'s batch (``jax.ShapeDtypeStruct``\\ s)."""
        self._require_program("lower the train step")
        if batch_spec is None:
            if self._fit_adapter is None:
                raise RuntimeError("lower_train_step() needs a batch_spec before the first fit().")
            batch_spec = self._fit_adapter.batch_spec()
        one, _ = self.program.train_fns()
        return self.program.live.lower(one, self.program.hyper_leaves(), tuple(batch_spec))

    def _read_train(self) -> dict[str, float]:
        self.unread_metrics = None
        self.metric_reads += 1
        return self.program.read(jax.device_get(self.program.live.get().metrics))

    def _read_eval(self, metrics, prefix: str = "") -> dict[str, float]:
        self.unread_metrics = None
        self.metric_reads += 1
        return self.program.read_eval(jax.device_get(metrics), prefix)

    # -- fit ---------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose="auto", callbacks=None,
            validation_split: float = 0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq: int | list[int] = 1) -> History:
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        _loop.check_validation_freq(validation_freq)
        if validation_split and validation_data is None:
            if not is_array_data(x):
                raise ValueError("validation_split works only with array data; for an iterable pass "
                                 "validation_data.")
            (x, y, sample_weight), (vx, vy, vsw) = split_validation(x, y, sample_weight, validation_split)
            validation_data = (vx, vy) if vsw is None else (vx, vy, vsw)
        adapter = make_adapter(x, y, sample_weight, batch_size=self._local(batch_size), shuffle=shuffle,
                               class_weight=class_weight, seed=0, steps=steps_per_epoch,
                               steps_per_execution=self.steps_per_execution)
        program = self._prepare(adapter, "trained")
        _loop.resolve_steps_per_execution(self, adapter)
        adapter.seed = program.seed  # the data order of epoch e depends only on (seed, e)
        self._resident = None
        # With steps_per_epoch an epoch reads a part of a pass (ArrayAdapter.span): the host path.
        if (self.device_data and steps_per_epoch is None and program.supports_resident_data
                and resident.fits_on_device(adapter)):
            self._resident = resident.ResidentData(adapter)
        val_adapter = None
        if validation_data is not None:
            val_adapter = _loop.validation_adapter(self, validation_data, validation_batch_size or batch_size,
                                                   validation_steps)
            if self.distribution is not None:
                self.distribution.prepare_adapter(val_adapter)
        # The data checks that need the built model (training/checks.py): labels, shapes, names, epochs.
        program.check_data(adapter, validation=val_adapter, epochs=epochs, initial_epoch=initial_epoch)
        history = History()
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
            cbs.insert(0, ProgbarLogger(verbose=verbose))
        cbs.append(history)
        # Callbacks that save the training state (BackupAndRestore) run after all others,
        # so the state they save includes every other callback's update.
        cbs = [c for c in cbs if not getattr(c, "runs_last", False)] + \
              [c for c in cbs if getattr(c, "runs_last", False)]
        steps = adapter.num_executions if self.steps_per_execution > 1 else adapter.num_batches
        callback_list = CallbackList(cbs, model=self.model,
                                     params={"epochs": epochs, "steps": steps, "verbose": verbose,
                                             "batch_size": getattr(adapter, "batch_size", None)})
        self._callbacks = callback_list
        self._fit_adapter = adapter
        self._resume = None
        self.model.stop_training = False
        self.model.history = history
        try:
            _loop.fit_loop(self, adapter, val_adapter, callback_list, initial_epoch, epochs, validation_freq)
        except BaseException as exc:
            for cb in callback_list.callbacks:
                cb.on_train_exception(exc)
            raise
        finally:
            self._callbacks = None
            if hasattr(adapter, "close"):
                adapter.close()  # a Grain iterator's reader threads or worker processes
            self.sync()
        return history

    # -- evaluate / predict ------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict: bool = False):
        self._require_compiled("evaluate")
        adapter = make_adapter(x, y, sample_weight, batch_size=self._local(batch_size), steps=steps,
                               steps_per_execution=self.steps_per_execution)
        self._prepare(adapter, "evaluated").check_data(adapter)
        callback_list = CallbackList(list(callbacks or []), model=self.model)
        callback_list.on_test_begin()
        logs = _loop.evaluate_adapter(self, adapter, callback_list=callback_list)
        callback_list.on_test_end(logs)
        if _verbosity(verbose) and verbose != 0:
            print(" - ".join(f"{k}: {v:.4g}" for k, v in logs.items()), flush=True)
        return self._results(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        if self.program is None:
            # Keras allows predict before compile: set up the steps without marking the model compiled.
            self._configure("sgd", None, None, None, 1)
        adapter = make_adapter(x, None, None, batch_size=self._local(batch_size), steps=steps, targets=False)
        program = self._prepare(adapter)
        callback_list = CallbackList(list(callbacks or []), model=self.model)
        callback_list.on_predict_begin()
        variables, hyper = program.variables(), program.hyper()  # after the hook: it may swap weights in
        counts: list[int] = []

        def inputs():
            for batch in adapter.batches(0, k=1):
                counts.append(int(batch.mask.sum()))
                yield batch.x

        outputs = []
        batch_begin = callback_list.needs("on_predict_batch_begin")
        batch_end = callback_list.needs("on_predict_batch_end")
        for step, bx in enumerate(prefetch_to_device(inputs(), put=self._put_batch())):
            if batch_begin:
                callback_list.on_predict_batch_begin(step)
            outputs.append(program.predict(variables, hyper, bx))
            if batch_end:
                callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict got no data: x is empty.")
        host = jax.device_get(outputs) if self.distribution is None else self.distribution.local_rows(outputs)
        return program.join_predictions(host, counts)

    # -- single batches ----------------------------------------------------------------------

    def _single_batch(self, x, y, sample_weight, class_weight):
        adapter = make_adapter(x, y, sample_weight, batch_size=None, class_weight=class_weight)
        if hasattr(adapter, "batch_size") and hasattr(adapter, "num_samples"):
            adapter.batch_size = adapter.num_samples
        return adapter

    def _first_batch(self, adapter):
        batch = next(iter(adapter.batches(0, k=1)))
        return tuple((self._put_batch() or jax.device_put)(batch))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict: bool = False):
        self._require_compiled("train_on_batch")
        adapter = self._single_batch(x, y, sample_weight, class_weight)
        program = self._prepare(adapter, "trained")
        program.live.replace(metrics=program.fresh_metrics())
        one, _ = program.train_fns()
        program.live.run(one, program.hyper_leaves(), self._first_batch(adapter))
        logs = self._read_train()
        self.sync()
        return self._results(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._require_compiled("test_on_batch")
        adapter = self._single_batch(x, y, sample_weight, None)
        program = self._prepare(adapter, "evaluated")
        metrics = program.eval(program.variables(), program.hyper(), program.fresh_eval_metrics(),
                               self._first_batch(adapter))
        return self._results(self._read_eval(metrics), return_dict)

    def _results(self, logs: dict[str, float], return_dict: bool):
        """The logs as ``evaluate``/``*_on_batch`` return them: the dict, or Keras's list (or scalar)."""
        return logs if return_dict else self.program.result_values(logs)

    def predict_on_batch(self, x):
        adapter = make_adapter(x, None, None, batch_size=None, targets=False)
        if hasattr(adapter, "num_samples"):
            adapter.batch_size = adapter.num_samples
        processes = 1 if self.distribution is None else self.distribution.data_processes
        return self.predict(x, batch_size=adapter.batch_size * processes, verbose=0)


def _check_steps_per_execution(value) -> None:
    if value != "auto" and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
        raise ValueError(f"steps_per_execution must be a positive integer or 'auto', got {value!r}.")
