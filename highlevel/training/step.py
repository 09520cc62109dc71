"""The pure step functions: ``train_step(state, hyper, batch) -> state`` and friends.

Built once per ``compile`` from the model's graph definition; the trainer jits
them. The model is rebuilt inside the trace with ``nnx.merge(..., copy=True)``
(trace time only), run under a call context that carries the training flag, the
step's random key and the padding mask, and split again to read back updated
batch statistics.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from highlevel.layers.base import Hyperparameter, call_context
from highlevel.metrics import Mean, update_in_step
from highlevel.training import custom_steps, masked, results, weights
from highlevel.training.constraints import apply_constraints
from highlevel.training.state import TrainState

__all__ = ["OutputSpec", "StepBuilder", "flatten_outputs"]


@dataclasses.dataclass
class OutputSpec:
    """One model output: its name, loss, loss weight and metrics (``(log_name, metric)``).

    ``own_names`` are the metrics' own names (the string given to ``compile``, or the metric
    object's name), without the output prefix or ``_1`` suffixes of their log names: Keras
    orders its results by them (``training/results.py``); the log names when not given.
    """

    name: str
    loss: Any
    weight: float
    metrics: list
    own_names: list = dataclasses.field(default_factory=list)


def flatten_outputs(tree, names: list[str], what: str) -> list:
    """Model outputs or targets as a list in the order of ``names``."""
    if tree is None:   # no targets (a model trained by add_loss alone)
        return [None] * len(names)
    if isinstance(tree, dict):
        missing = [n for n in names if n not in tree]
        if missing:
            raise ValueError(f"{what} is a dict without the keys {missing}; expected keys {names}.")
        return [tree[n] for n in names]
    if isinstance(tree, (list, tuple)):
        if len(tree) != len(names):
            raise ValueError(f"{what} has {len(tree)} entries but the model has {len(names)} outputs "
                             f"({', '.join(names)}).")
        return list(tree)
    if len(names) != 1:
        raise ValueError(f"{what} is a single array but the model has {len(names)} outputs "
                         f"({', '.join(names)}); pass a list or a dict.")
    return [tree]


def _full_precision(tree):
    """float16/bfloat16 predictions as float32: losses and metrics are computed in float32 (Keras)."""
    return jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float32) if jnp.issubdtype(a.dtype, jnp.floating) and jnp.finfo(a.dtype).bits < 32
        else a, tree)


def _check_entry_weights(metric, weight, name: str, output: str) -> None:
    """Refuses weights per timestep for a weighted metric that takes one weight per sample."""
    if (getattr(metric, "sample_weighted", False) and jnp.ndim(weight) > 1 and not type(metric).stateful
            and not getattr(metric, "supports_masking", False)):
        raise ValueError(f"The weighted metric '{name}' of output '{output}' takes one weight per sample, but "
                         f"sample_weight gives it weights of shape {tuple(jnp.shape(weight))} (per timestep): move "
                         "it to metrics=, or weight the samples, not their timesteps.")


class StepBuilder:
    """Makes the pure train, eval and predict steps for one compiled model."""

    def __init__(self, graphdef, trainable_paths: frozenset, tx: optax.GradientTransformation,
                 outputs: list[OutputSpec], loss_tracker, output_names: list[str], loss_scale=None):
        #: ``loss_scale(opt_state)``: the factor the loss is multiplied by before differentiating
        #: (the optimizer's; it unscales the gradients), or None.
        self.loss_scale = loss_scale
        self.graphdef = graphdef
        self.trainable_paths = trainable_paths
        self.tx = tx
        self.outputs = outputs
        self.loss_tracker = loss_tracker
        self.output_names = output_names
        #: {variable path: constraint} applied to the weights after each optimizer update.
        self.constraints: dict = {}
        #: {output name: its loss tracker ``Mean("<output>_loss")``}, when more than one output has a loss.
        self.output_loss_trackers = {spec.name: Mean(name=f"{spec.name}_loss") for spec in outputs
                                     if self._per_output_losses() and spec.loss is not None}

    # -- state partition ---------------------------------------------------

    def is_trainable(self, path, _value) -> bool:
        return tuple(path) in self.trainable_paths

    def split(self, module):
        """``(params, hyper, non_trainable)`` of a module, in the trainer's partition."""
        _, params, hyper, rest = nnx.split(module, self.is_trainable, Hyperparameter, ...)
        return params, hyper, rest

    def merge(self, params, hyper, rest):
        return nnx.merge(self.graphdef, params, hyper, rest, copy=True)

    # -- pieces --------------------------------------------------------------

    def forward(self, params, hyper, rest, x, *, training: bool, rng, mask, keys_drawn: list | None = None):
        """``(module, y_pred, regularization, output_mask, added)`` of one forward pass (inside a trace).

        ``regularization`` includes the ``add_loss`` values of the call (``added``, as
        ``(layer, value)`` pairs); ``output_mask`` is the Keras mask of the outputs, or None.
        ``keys_drawn``, when given, gets the number of random keys the layers drew (known at
        trace time), so the caller can skip splitting a key nothing uses."""
        module = self.merge(params, hyper, rest)
        with call_context(training=training, rng=rng, mask=mask) as ctx:
            y_pred, output_mask = masked.call_module(module, x, training)
            reg = module.regularization_loss() + ctx.activity_loss()
        if keys_drawn is not None:
            keys_drawn.append(ctx.counter)
        return module, y_pred, reg, output_mask, list(ctx.losses)

    def compute_losses(self, y, y_pred, sample_weight, mask, output_mask=None):
        """``(total, per_output, y_list, p_list)``: the weighted loss of a batch and its parts.

        ``sample_weight`` is one array for every output or a list/dict with one per output,
        each ``(batch,)`` or per timestep (``training/weights.py``). An output with a Keras
        mask (``output_mask``) counts only its unmasked timesteps, as Keras's losses do
        (``masked.masked_loss``)."""
        y_list = flatten_outputs(y, self.output_names, "y")
        p_list = _full_precision(flatten_outputs(y_pred, self.output_names, "The model's output"))
        m_list = masked.mask_list(output_mask, self.output_names)
        w_list = weights.output_weights(sample_weight, mask, self.output_names)
        count = jnp.maximum(jnp.sum(mask), 1.0)
        per_output = []
        total = jnp.zeros((), jnp.float32)
        for spec, yt, yp, om, w in zip(self.outputs, y_list, p_list, m_list, w_list):
            if spec.loss is None:
                per_output.append(jnp.zeros((), jnp.float32))
                continue
            if yt is None:
                raise ValueError(f"y is missing: the loss of output '{spec.name}' needs targets; pass them as y, "
                                 "or pass an iterable of (x, y) batches.")
            if om is not None:
                value = masked.masked_loss(spec.loss.call(yt, yp), om, w, mask, spec.name)
            else:
                values, counted = spec.loss.call_on_rows(yt, yp, mask)
                if counted is None:
                    value = weights.weighted_mean(values, w, count, spec.name)
                else:   # a Keras mask on the losses (Circle's): only those entries count
                    counted = counted.astype(jnp.float32)
                    value = weights.weighted_mean(values * counted, w, jnp.maximum(jnp.sum(counted), 1.0),
                                                  spec.name)
            per_output.append(value)
            total = total + spec.weight * value
        return total, per_output, y_list, p_list

    def update_metrics(self, metrics_state, total, per_output, y_list, p_list, sample_weight, mask,
                       output_mask=None):
        metrics_state = self.update_loss_trackers(metrics_state, total, per_output, mask)
        return self.update_compiled_metrics(metrics_state, y_list, p_list, sample_weight, output_mask, mask)

    def update_loss_trackers(self, metrics_state, total, per_output, mask):
        """The accumulators with the batch's loss (and each output's) added, weighted by its real rows."""
        tracker_state, output_states = metrics_state
        n = jnp.sum(mask)
        tracker_state = self.loss_tracker.update(tracker_state, jnp.reshape(total, (1,)), jnp.reshape(n, (1,)))
        new_outputs = []
        for states, value in zip(output_states, per_output):
            loss_state, metric_states = states
            if loss_state is not None:
                loss_state = self.loss_tracker.update(loss_state, jnp.reshape(value, (1,)), jnp.reshape(n, (1,)))
            new_outputs.append((loss_state, metric_states))
        return tracker_state, tuple(new_outputs)

    def update_compiled_metrics(self, metrics_state, y_list, p_list, sample_weight, output_mask=None, mask=None):
        """The accumulators with the compiled metrics updated for the batch (masked timesteps
        excluded from the metrics that support masks, as Keras's mean metrics; ``mask`` marks
        the real rows, ``sample_weight > 0`` when not given)."""
        tracker_state, output_states = metrics_state
        if mask is None:
            first = jnp.asarray(jax.tree_util.tree_leaves(sample_weight)[0])   # a row is real if it weighs anything
            mask = jnp.any(first.reshape(first.shape[0], -1) > 0, axis=1).astype(jnp.float32)
        m_list = masked.mask_list(output_mask, self.output_names)
        w_list = weights.output_weights(sample_weight, mask, self.output_names)
        new_outputs = []
        for spec, states, yt, yp, om, w in zip(self.outputs, output_states, y_list, p_list, m_list, w_list):
            loss_state, metric_states = states
            for name, metric in spec.metrics:
                _check_entry_weights(metric, w, name, spec.name)
            metric_states = tuple(update_in_step(metric, ms, yt, yp, masked.metric_weight(metric, w, om),
                                                 masked.metric_weight(metric, mask, om))
                                  for (_, metric), ms in zip(spec.metrics, metric_states))
            new_outputs.append((loss_state, metric_states))
        return tracker_state, tuple(new_outputs)

    def _per_output_losses(self) -> bool:
        # Keras tracks each output's loss only when more than one output has a loss.
        return sum(spec.loss is not None for spec in self.outputs) > 1

    def init_metrics(self):
        """Fresh accumulators: the loss tracker, then per output (loss tracker, metric states)."""
        per_loss = self._per_output_losses()
        return (self.loss_tracker.init(),
                tuple((self.loss_tracker.init() if per_loss and spec.loss is not None else None,
                       tuple(metric.init() for _, metric in spec.metrics)) for spec in self.outputs))

    def metric_slots(self) -> list[tuple[str, Any]]:
        """(log name, metric) pairs in the order of ``init_metrics``' leaves."""
        names = [("loss", self.loss_tracker)]
        per_loss = self._per_output_losses()
        for spec in self.outputs:
            if per_loss and spec.loss is not None:
                names.append((f"{spec.name}_loss", self.output_loss_trackers[spec.name]))
            prefix = f"{spec.name}_" if len(self.outputs) > 1 else ""
            names.extend((prefix + log_name, metric) for log_name, metric in spec.metrics)
        return names

    def metric_names(self) -> list[tuple[str, Any]]:
        """(log name, metric) pairs in the order ``evaluate`` lists the results (Keras 3's,
        ``training/results.py``): the loss, each output's loss, then the metrics."""
        slots = self.metric_slots()
        by_name = dict(slots)
        return [(name, by_name[name]) for name in results.ordered_keys([n for n, _ in slots],
                                                                       results.keras_names(self.outputs))]

    # -- steps -----------------------------------------------------------------

    def train_step(self, state: TrainState, hyper, batch) -> TrainState:
        x, y, sample_weight, mask = batch
        rng, step_rng = jax.random.split(state.rng)
        keys_drawn: list[int] = []  # filled while tracing loss_fn: local to this trace
        scale = None if self.loss_scale is None else self.loss_scale(state.opt_state)

        def loss_fn(params):
            module, y_pred, reg, out_mask, added = self.forward(params, hyper, state.non_trainable, x,
                                                                training=True, rng=step_rng, mask=mask,
                                                                keys_drawn=keys_drawn)
            loss, per_output, y_list, p_list = self.compute_losses(y, y_pred, sample_weight, mask, out_mask)
            total = custom_steps.total_loss(self, module, loss + reg, batch, y_pred, out_mask, added, True)
            metrics = custom_steps.metrics_after(self, module, state.metrics, total, per_output, y_list,
                                                 p_list, batch, y_pred, out_mask)
            _, _, new_rest = self.split(module)
            return total if scale is None else total * scale, (total, new_rest, metrics)

        (_, (total, new_rest, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        params = apply_constraints(self, params, hyper, new_rest)
        if not any(keys_drawn):
            # Nothing random in the model: keep the key, and XLA drops the split (threefry
            # hashing is a fair share of a tiny model's step on a CPU).
            rng = state.rng
        return state.replace(step=state.step + 1, params=params, non_trainable=new_rest,
                             opt_state=opt_state, rng=rng, metrics=metrics)

    def multi_train_step(self, state: TrainState, hyper, batches) -> TrainState:
        """K train steps fused in one call: a plain ``lax.scan`` over batches stacked on axis 0.

        Only full groups of K batches come here; the trainer runs a partial group at the
        end of an epoch through ``train_step``, so no step is masked out by a ``lax.cond``.
        """

        def body(carry, batch):
            return self.train_step(carry, hyper, batch), None

        state, _ = jax.lax.scan(body, state, batches)
        return state

    def eval_step(self, variables, hyper, metrics_state, batch):
        params, rest = variables
        x, y, sample_weight, mask = batch
        module, y_pred, reg, out_mask, added = self.forward(params, hyper, rest, x, training=False, rng=None,
                                                            mask=mask)
        loss, per_output, y_list, p_list = self.compute_losses(y, y_pred, sample_weight, mask, out_mask)
        total = custom_steps.total_loss(self, module, loss + reg, batch, y_pred, out_mask, added, False)
        return custom_steps.metrics_after(self, module, metrics_state, total, per_output, y_list, p_list,
                                          batch, y_pred, out_mask)

    def multi_eval_step(self, variables, hyper, metrics_state, batches):
        """K eval steps fused in one call (full groups only, as ``multi_train_step``)."""

        def body(carry, batch):
            return self.eval_step(variables, hyper, carry, batch), None

        metrics_state, _ = jax.lax.scan(body, metrics_state, batches)
        return metrics_state

    def statistics_step(self, params, hyper, rest, batch, rng):
        """A forward pass in training mode that returns only the updated non-trainable state."""
        x, _, _, mask = batch
        module = self.forward(params, hyper, rest, x, training=True, rng=rng, mask=mask)[0]
        _, _, new_rest = self.split(module)
        return new_rest

    def predict_step(self, variables, hyper, x):
        params, rest = variables
        return self.forward(params, hyper, rest, x, training=False, rng=None, mask=None)[1]
