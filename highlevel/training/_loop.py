"""The host loops behind the ``Trainer``: each epoch of ``fit`` (its compiled steps between the
callbacks' hooks, from device-resident data or prefetched host batches, then validation),
the evaluation pass that ``evaluate`` shares, and the statistics pass; and
``steps_per_execution="auto"``, resolved at the first fit.

Each function takes the ``Trainer`` (``training/trainer.py``) it runs for and keeps that
trainer's bookkeeping: the epoch, the steps done, where a restored fit resumes.
"""

from __future__ import annotations

from typing import Callable

import jax

from highlevel import backend as _backend
from highlevel.training import auto, numerics, results
from highlevel.training.callback import CallbackList, LazyLogs
from highlevel.training.data import Stacked, is_array_data, make_adapter, prefetch_to_device
from highlevel.training.program import copy_tree


def resolve_steps_per_execution(trainer, adapter) -> None:
    """Picks K for ``steps_per_execution="auto"`` at the first fit after compile, from XLA's
    FLOP count of the one-step function (lowered, not compiled: the trace is reused by
    its first call) and whether the model has convolutions (``training/auto.py``)."""
    if trainer._spe_request != "auto" or trainer._spe_resolved:
        return
    spec = adapter.batch_spec()
    one, _ = trainer.program.train_fns()
    flops = auto.flops_of(trainer.program.live.lower(one, trainer.program.hyper_leaves(), tuple(spec)))
    module = trainer.program.analysed_module
    if flops is None:
        flops = auto.estimate_flops(module.count_params(), adapter.batch_size)
    k = auto.choose_steps_per_execution(flops, auto.has_convolution(module), _backend.name(),
                                        adapter.num_batches, batch_bytes=auto.batch_bytes(spec))
    trainer.steps_per_execution = adapter.k = k
    trainer._spe_resolved = True


def train_items(trainer, adapter, epoch: int, first: int):
    """The epoch's executions and how to run one: from resident data or from host batches."""
    program, live = trainer.program, trainer.program.live
    if trainer._resident is not None:
        data, k = trainer._resident, trainer.steps_per_execution
        fns = program.resident_fns(data.batch_size, k)
        args, items = data.executions(epoch, first, k, live.peek("step"), *fns)

        def run_resident(item, hyper_leaves):
            for fn in item:
                live.run(fn, hyper_leaves, *args)

        return items, run_resident
    one, multi = program.train_fns()

    def run_host(item, hyper_leaves):
        # A Stacked group through the K-step function; a batch or a partial group (a list)
        # through the one-step function.
        if isinstance(item, Stacked):
            live.run(multi, hyper_leaves, tuple(item.batch))
        elif isinstance(item, list):
            for batch in item:
                live.run(one, hyper_leaves, tuple(batch))
        else:
            live.run(one, hyper_leaves, tuple(item))

    batches = program.host_batches(adapter, epoch, first, trainer.steps_per_execution)
    return prefetch_to_device(batches, put=trainer._put_batch()), run_host


def fit_loop(trainer, adapter, val_adapter, callback_list, initial_epoch, epochs, validation_freq):
    program, live = trainer.program, trainer.program.live
    batch_begin = callback_list.needs("on_train_batch_begin")
    batch_end = callback_list.needs("on_train_batch_end")
    logs: dict[str, float] = {}
    trainer.epoch, trainer.steps_done, trainer._epoch_finished = initial_epoch, 0, False
    callback_list.on_train_begin()
    start_epoch, start_step = trainer._resume if trainer._resume is not None else (initial_epoch, 0)
    for epoch in range(start_epoch, epochs):
        resuming = epoch == start_epoch and start_step > 0
        first = start_step if resuming else 0
        trainer.epoch, trainer.steps_done, trainer._epoch_finished = epoch, first, False
        if not resuming:
            live.replace(metrics=program.fresh_metrics())
        callback_list.on_epoch_begin(epoch)
        hyper = program.hyper_leaves()
        trainer.throughput.begin_epoch(adapter, trainer.steps_per_execution, first)
        items, run_train = train_items(trainer, adapter, epoch, first)
        for step, item in enumerate(items, start=first):
            if batch_begin:
                callback_list.on_train_batch_begin(step)
                hyper = program.hyper_leaves()
            run_train(item, hyper)
            trainer.steps_done = step + 1
            trainer.unread_metrics = trainer._read_train   # model.metrics reads them if asked
            if batch_end:
                callback_list.on_train_batch_end(step, LazyLogs(trainer._read_train))
                hyper = program.hyper_leaves()
            if trainer.model.stop_training:
                break
        # Drops the epoch's ordered copy of resident data before the next epoch gathers its
        # own, so the data is on the device at most twice (it and one epoch's order).
        items = run_train = None
        if trainer._resident is not None and epoch + 1 < epochs:
            trainer._resident.prefetch(epoch + 1)   # host work done while the device runs the steps
        logs = trainer._read_train()
        measured = trainer.throughput.end_epoch(trainer.steps_done)  # the read above waited for the steps
        if val_adapter is not None and should_validate(epoch, validation_freq):
            # As Keras's fit: validation runs the on_test_* hooks (its logs without "val_").
            callback_list.on_test_begin()
            val_logs = evaluate_adapter(trainer, val_adapter, callback_list=callback_list)
            callback_list.on_test_end(dict(val_logs))
            logs.update({"val_" + k: v for k, v in val_logs.items()})
            logs = results.sorted_logs(logs)   # Keras's epoch logs: training and validation entries sorted together
        logs.update(measured if trainer.log_throughput else {})
        lr = program.learning_rate()
        if lr is not None:
            logs["learning_rate"] = lr
        live.sync()
        trainer._epoch_finished = True
        callback_list.on_epoch_end(epoch, logs)
        if trainer.model.stop_training:
            break
    live.sync()
    numerics.finalize_ema(trainer)  # the EMA weights replace the trained ones (use_ema=True), as Keras
    callback_list.on_train_end(logs)


def check_validation_freq(validation_freq) -> None:
    """Keras's ``validation_freq``: a positive int (every that many epochs) or a collection of
    1-based epoch numbers (a list; a tuple or set here too)."""
    if isinstance(validation_freq, (list, tuple, set)):
        bad = [v for v in validation_freq if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    elif isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        bad = [] if validation_freq >= 1 else [validation_freq]
    else:
        raise TypeError(f"validation_freq must be an int or a list of epoch numbers, got {validation_freq!r} "
                        f"of type {type(validation_freq).__name__}.")
    if bad:
        raise ValueError(f"validation_freq must be a positive int or a list of positive (1-based) epoch numbers, "
                         f"got {validation_freq!r}.")


def should_validate(epoch: int, validation_freq) -> bool:
    """Whether to validate after ``epoch`` (0-based), as Keras's ``_should_eval``."""
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def validation_adapter(trainer, validation_data, batch_size, steps):
    if (isinstance(validation_data, list) and len(validation_data) in (2, 3)
            and not isinstance(validation_data[0], tuple)):
        # Keras's unpack_x_y_sample_weight: a list is (x, y[, sample_weight]) as a tuple is
        # (a list whose items are (x, y) tuples stays a list of batches).
        validation_data = tuple(validation_data)
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
        vx, vy = validation_data[0], validation_data[1]
        vsw = validation_data[2] if len(validation_data) == 3 else None
        return make_adapter(vx, vy, vsw, batch_size=trainer._local(batch_size), steps=steps,
                            steps_per_execution=trainer.steps_per_execution)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and not hasattr(validation_data[0], "__iter__"):
        raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, sample_weight) or an "
                         "iterable of batches.")
    return make_adapter(validation_data, steps=steps, steps_per_execution=trainer.steps_per_execution,
                        steps_argument="validation_steps")


def evaluate_adapter(trainer, adapter, prefix: str = "", callback_list: CallbackList | None = None) -> dict[str, float]:
    program = trainer.program
    variables, hyper = program.variables(), program.hyper()
    metrics = program.fresh_eval_metrics()
    batch_begin = callback_list is not None and callback_list.needs("on_test_batch_begin")
    batch_end = callback_list is not None and callback_list.needs("on_test_batch_end")
    for step, item in enumerate(prefetch_to_device(adapter.batches(0), put=trainer._put_batch())):
        if batch_begin:
            callback_list.on_test_batch_begin(step)
        metrics = program.eval(variables, hyper, metrics, item)
        trainer.unread_metrics = lambda m=metrics: trainer._read_eval(m)
        if batch_end:
            callback_list.on_test_batch_end(step, LazyLogs(lambda m=metrics: trainer._read_eval(m)))
    return trainer._read_eval(metrics, prefix)


def statistics_pass(trainer, batches, before_batch: Callable[[int], None] | None = None) -> int:
    """The body of ``Trainer.statistics_pass``: forward passes in training mode over ``batches``
    that change only the non-trainable state."""
    program = trainer.program
    fn = program.statistics_step()
    trainer.sync()
    state = trainer.state
    rest = copy_tree(state.non_trainable)  # donated by each call; the module keeps its own
    key = jax.random.fold_in(state.rng, 0x5EED)  # the training key stream is untouched
    count = 0
    for i, batch in enumerate(prefetch_to_device(batches, put=trainer._put_batch())):
        if before_batch is not None:
            before_batch(i)
        rest = fn(state.params, program.hyper(), rest, tuple(batch), jax.random.fold_in(key, i))
        count += 1
    program.load_state(trainer.state.replace(non_trainable=rest))
    return count
