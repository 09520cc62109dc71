"""``model.metrics`` as Keras 3 lists it: the loss tracker, the ``compile_metrics`` container,
each output's loss tracker.

The metrics accumulate on the device inside the compiled step (``training/step.py``); these
are the same metric objects the step was built from, and ``fit``/``evaluate``/``*_on_batch``
load into them what they read of the accumulators (``Metric.load_state``; ``Trainer.metrics``
reads once more when a step ran since), so ``result()`` answers as Keras's objects do: the
running values during a run, the last ones after (after ``fit`` with validation data, the
last validation's, as Keras). Reading them never touches the compiled steps.
"""

from __future__ import annotations

from highlevel.metrics import Metric, result_logs
from highlevel.training.step import flatten_outputs

__all__ = ["CompileMetrics", "model_metrics"]


class CompileMetrics(Metric):
    """The metrics given to ``compile`` as one metric named ``compile_metrics`` (Keras 3's).

    ``metrics`` lists them in Keras's order (each output's metrics, then each output's weighted
    metrics) once the model's outputs are known (after the first ``fit``/``evaluate``), and
    ``[]`` before; ``result()`` is a dict by log name.

    Args:
      program: the ``ModelProgram`` whose step builder holds the metrics.

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1, kernel_initializer="ones")])
    >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    >>> _ = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
    >>> model.metrics[1].name, model.metrics[1].result()
    ('compile_metrics', {'mae': 2.0})
    """

    def __init__(self, program):
        super().__init__(name="compile_metrics")
        self._program = program

    def _entries(self) -> list[tuple[str, str, Metric, bool]]:
        """``(output name, log name, metric, weighted)`` in Keras's order; [] before the build."""
        builder = self._program.builder
        if builder is None:
            return []
        several = len(builder.outputs) > 1
        entries = []
        for weighted in (False, True):
            for spec in builder.outputs:
                prefix = f"{spec.name}_" if several else ""
                entries.extend((spec.name, prefix + log_name, metric, weighted) for log_name, metric in spec.metrics
                               if bool(getattr(metric, "sample_weighted", False)) == weighted)
        return entries

    @property
    def built(self) -> bool:
        return self._program.builder is not None

    @property
    def metrics(self) -> list[Metric]:
        """The compiled metrics, in Keras's order (``[]`` before the outputs are known)."""
        return [metric for _, _, metric, _ in self._entries()]

    @property
    def variables(self) -> list:
        return [v for metric in self.metrics for v in metric.variables]

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Updates every compiled metric eagerly with its output's targets and predictions (the
        weighted ones with ``sample_weight``), as Keras's ``CompileMetrics.update_state``."""
        if not self.built:
            raise ValueError("compile_metrics is built by the first fit() or evaluate(), which resolves the "
                             "model's outputs; run one before update_state().")
        names = self._program.builder.output_names
        y_list, p_list = flatten_outputs(y_true, names, "y_true"), flatten_outputs(y_pred, names, "y_pred")
        weights = dict(zip(names, sample_weight if isinstance(sample_weight, (list, tuple)) else
                           flatten_outputs(sample_weight, names, "sample_weight")
                           if isinstance(sample_weight, dict) else [sample_weight] * len(names)))
        by_output = dict(zip(names, zip(y_list, p_list)))
        for output, _, metric, weighted in self._entries():
            yt, yp = by_output[output]
            metric.update_state(yt, yp, sample_weight=weights[output] if weighted else None)

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def result(self) -> dict[str, float]:
        if not self.built:
            raise ValueError("Cannot get result() of compile_metrics before the first fit() or evaluate() "
                             "builds it.")
        logs: dict[str, float] = {}
        for _, log_name, metric, _ in self._entries():
            logs.update(result_logs(log_name, metric.result()))
        return logs


def model_metrics(program) -> list[Metric]:
    """Keras 3's ``model.metrics`` for a compiled ``ModelProgram``: the loss tracker, the
    ``compile_metrics`` container when metrics were compiled, then each output's loss tracker
    (when more than one output has a loss, once the outputs are known)."""
    metrics: list[Metric] = [program.loss_tracker]
    if program.compile_metrics is not None:
        metrics.append(program.compile_metrics)
    if program.builder is not None:
        metrics.extend(program.builder.output_loss_trackers.values())
    return metrics
