"""Throughput of ``fit``: samples per second, step time, compilation time and model FLOP utilisation.

Measured on the host between epoch ends, so that nothing is added per step: the loop notes
the time and jax's compilation seconds when an epoch's training starts, and again right
after it has read the epoch's metrics from the device (that read waits for the last step, so
the interval covers the device's work). Compilation time comes from jax's own compile events
(tracing, lowering to MLIR, XLA's compilation), counted per thread by a listener installed
once when this module is imported. The FLOPs of a step are its model FLOPs: those of the
matrix products and convolutions in the traced train step (``model_flops``, loops counted
as many times as they run), counted once per compiled program and batch shape, and only
where the device's peak is known (``hl.backend.peak_flops``). XLA's own cost analysis
would not do on a GPU: it analyses only compiled programs there, and in those the matrix
products are library calls it does not count (measured on an H200: 2.2e8 of a step's
3.3e10 FLOPs). On a CPU the two agree within the elementwise work (``tests/test_throughput.py``).

Rates leave compilation out: ``samples_per_second`` and ``step_time`` are those of the
compiled steps, ``train_time`` is the wall time of the epoch's training (compilation
included, validation not).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jax
import numpy as np

from highlevel import backend as _backend

__all__ = ["Throughput", "compile_seconds", "model_flops", "THROUGHPUT_KEYS"]

#: The names ``Throughput.last`` (and, with ``trainer.log_throughput``, the epoch logs) use.
THROUGHPUT_KEYS = ("samples_per_second", "step_time", "train_time", "compile_time", "mfu")

# jax's compile events (jax/_src/dispatch.py): tracing to a jaxpr, lowering it to MLIR, and
# XLA's compilation; the first call of a jitted function runs all three in the calling thread.
_COMPILE_EVENTS = frozenset({"/jax/core/compile/jaxpr_trace_duration",
                             "/jax/core/compile/jaxpr_to_mlir_module_duration",
                             "/jax/core/compile/backend_compile_duration"})
_seconds = threading.local()


def _on_event(event: str, duration: float, **kwargs) -> None:
    if event in _COMPILE_EVENTS:
        _seconds.total = getattr(_seconds, "total", 0.0) + float(duration)


jax.monitoring.register_event_duration_secs_listener(_on_event)


def compile_seconds() -> float:
    """The seconds this thread has spent tracing, lowering and compiling with jax so far.

    >>> import jax, jax.numpy as jnp
    >>> before = compile_seconds()
    >>> _ = jax.jit(lambda x: x * 3 + 1)(jnp.ones(3))
    >>> compile_seconds() > before
    True
    """
    return float(getattr(_seconds, "total", 0.0))


def _rows_per_batch(adapter) -> int | None:
    size = getattr(adapter, "batch_size", None)
    if size:
        return int(size)
    try:
        leaves = jax.tree_util.tree_leaves(adapter.batch_spec().x)
    except Exception:  # noqa: BLE001 - an iterable whose first batch cannot be peeked
        return None
    return int(leaves[0].shape[0]) if leaves and leaves[0].shape else None


class Throughput:
    """What ``fit`` measured of its last epoch, on the host: ``model.trainer.throughput``.

    ``last`` holds, after each epoch, ``samples_per_second`` and ``step_time`` (seconds per
    batch) of the compiled steps, ``train_time`` (seconds of the epoch's training, its
    compilation included), ``compile_time`` (seconds spent tracing and compiling during the
    epoch) and, where the device's peak is known (``hl.backend.peak_flops``), ``mfu``: the
    model FLOP utilisation, the step's matrix-product and convolution FLOPs
    (``model_flops``) per second over the peak of the devices that ran it. Set ``model.trainer.log_throughput =
    True`` to have them in the epoch logs too (the history, the progress bar, CSV,
    TensorBoard and MLflow); they are off there by default, as a time differs from run to
    run and the history stays reproducible.

    Args:
      trainer: the trainer it measures (``model.trainer``).

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((64, 2)), np.ones((64, 1)), batch_size=16, verbose=0)
    >>> sorted(model.trainer.throughput.last)
    ['compile_time', 'samples_per_second', 'step_time', 'train_time']
    >>> model.trainer.throughput.samples
    64
    """

    def __init__(self, trainer):
        self.trainer = trainer
        #: The last epoch's measurements (see above); empty before the first epoch ends.
        self.last: dict[str, float] = {}
        #: Samples and batches the last epoch trained on (padding rows not counted for arrays).
        self.samples, self.batches = 0, 0
        #: The model FLOPs of one train step (one batch), once MFU was asked for.
        self.flops_per_step: float | None = None
        self._flops_key: Any = None
        self._start: tuple | None = None

    def begin_epoch(self, adapter, steps_per_execution: int, first: int) -> None:
        """Notes the clock and the compilation seconds as an epoch's training starts.

        Args:
          adapter: the fit's data adapter.
          steps_per_execution: batches per compiled call (K).
          first: the execution the epoch starts at (not 0 when resuming mid-epoch).
        """
        self._start = (time.perf_counter(), compile_seconds(), adapter, int(steps_per_execution), int(first))

    def end_epoch(self, executions: int) -> dict[str, float]:
        """Measures the epoch that ``begin_epoch`` started, after its metrics were read.

        Args:
          executions: the index of the execution after the last one run (``trainer.steps_done``).

        Returns:
          The measurements (also kept in ``last``).
        """
        if self._start is None:
            return {}
        now, compiled_now = time.perf_counter(), compile_seconds()
        start, compiled, adapter, k, first = self._start
        self._start = None
        wall, compiling = now - start, max(compiled_now - compiled, 0.0)
        batches = self._batches(adapter, k, first, int(executions) - first)
        rows = _rows_per_batch(adapter)
        samples = batches * rows if rows else 0
        total = getattr(adapter, "num_samples", None)
        if total is not None and rows:
            samples = max(min(samples, int(total) - first * k * rows), 0)
        processes = getattr(self.trainer.distribution, "data_processes", 1) or 1
        self.samples, self.batches = int(samples) * int(processes), int(batches)
        last = {"train_time": wall, "compile_time": compiling}
        running = wall - compiling
        if running > 0 and batches > 0:
            last["samples_per_second"] = self.samples / running
            last["step_time"] = running / batches
            mfu = self._mfu(adapter, batches, running)
            if mfu is not None:
                last["mfu"] = mfu
        self.last = {key: float(last[key]) for key in THROUGHPUT_KEYS if key in last}
        return dict(self.last)

    @staticmethod
    def _batches(adapter, k: int, first: int, executions: int) -> int:
        if executions <= 0:
            return 0
        if k <= 1:
            return executions
        # Full groups of K and, last, a partial group: at most the batches left in the epoch.
        total = getattr(adapter, "num_batches", None)
        done = executions * k
        return done if total is None else max(min(done, int(total) - first * k), 0)

    def _mfu(self, adapter, batches: int, seconds: float) -> float | None:
        trainer = self.trainer
        state = trainer.state
        if state is None:
            return None
        peak = _backend.peak_flops(_compute_dtype(state.params))
        if peak is None:
            return None
        flops = self._step_flops(adapter)
        if flops is None:
            return None
        devices = 1 if trainer.distribution is None else jax.device_count()
        return flops * batches / seconds / (peak * devices)

    def _step_flops(self, adapter) -> float | None:
        """The model FLOPs of one train step, once per compiled program and batch shape."""
        program = self.trainer.program
        spec = adapter.batch_spec()
        key = (id(program), str(jax.tree_util.tree_map(lambda s: (s.shape, s.dtype), spec)))
        if key != self._flops_key:
            one, _ = program.train_fns()
            traced = program.live.trace(one, program.hyper_leaves(), tuple(spec))
            self._flops_key, self.flops_per_step = key, model_flops(traced.jaxpr) or None
        return self.flops_per_step


def _compute_dtype(params) -> np.dtype:
    """The dtype of most of the trainable weights (what the matrix products run in)."""
    sizes: dict[str, int] = {}
    for leaf in jax.tree_util.tree_leaves(params):
        dtype = str(getattr(leaf, "dtype", "float32"))
        sizes[dtype] = sizes.get(dtype, 0) + int(np.prod(np.shape(leaf)))
    return np.dtype(max(sizes, key=sizes.get)) if sizes else np.dtype("float32")


def model_flops(jaxpr) -> float:
    """The FLOPs of the matrix products and convolutions of a jaxpr: 2 per multiply-add.

    Nested jaxprs count too (jit calls, custom derivatives, checkpoints); a ``scan`` counts
    ``length`` times, a ``cond`` its costliest branch, a ``while`` loop its body once (its
    trip count is not known before it runs). Elementwise work is left out, as MFU counts it.

    Args:
      jaxpr: a ``jax.core.Jaxpr`` or ``ClosedJaxpr`` (``jax.make_jaxpr(f)(*args)``).

    Returns:
      The FLOPs.

    >>> import jax, jax.numpy as jnp
    >>> f = lambda a, b: jnp.tanh(a @ b)
    >>> model_flops(jax.make_jaxpr(f)(jnp.ones((8, 16)), jnp.ones((16, 4))))
    1024.0
    >>> step = lambda w, x: jax.grad(lambda w: jnp.sum(x @ w))(w)   # forward and the weight gradient
    >>> model_flops(jax.make_jaxpr(step)(jnp.ones((16, 4)), jnp.ones((8, 16))))
    2048.0
    """
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    total = 0.0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            (contracting, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2.0 * float(np.prod(eqn.outvars[0].aval.shape)) * float(np.prod([lhs[d] for d in contracting]))
        elif name == "conv_general_dilated":
            rhs = eqn.invars[1].aval.shape
            out_features = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
            total += 2.0 * float(np.prod(eqn.outvars[0].aval.shape)) * float(np.prod(rhs)) / out_features
        else:
            inner = []
            for value in eqn.params.values():
                if hasattr(value, "eqns") or hasattr(getattr(value, "jaxpr", None), "eqns"):
                    inner.append(model_flops(value))
                elif isinstance(value, (tuple, list)) and value and all(
                        hasattr(v, "eqns") or hasattr(getattr(v, "jaxpr", None), "eqns") for v in value):
                    inner.append(max(model_flops(v) for v in value))   # cond's branches: one runs
            if name == "while":
                inner = [model_flops(eqn.params["body_jaxpr"])]
            total += sum(inner) * (float(eqn.params.get("length", 1)) if name == "scan" else 1.0)
    return total
