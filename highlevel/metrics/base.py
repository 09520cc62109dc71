"""The ``Metric`` base, ``Mean``, ``MeanMetricWrapper`` and the state helpers every metric shares.

The helpers keep a weighted mean on the device (``_mean_init``, ``_mean_update``),
check per-sample weights (``_weights``) and divide on the host without NaN
(``_divide_no_nan``, ``_mean_result``).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses
from highlevel.metrics.variable import MetricVariable, bind

__all__ = ["Metric", "MetricVariable", "Mean", "Sum", "MeanMetricWrapper", "update_in_step", "result_logs"]

_squeeze_or_expand = _losses.squeeze_or_expand_to_same_rank


# State helpers -------------------------------------------------------------------------

def _weights(sample_weight, batch: int):
    if sample_weight is None:
        return jnp.ones((batch,), jnp.float32)
    w = jnp.asarray(sample_weight, jnp.float32)
    if w.ndim == 0:
        return jnp.broadcast_to(w, (batch,))
    if w.ndim == 2 and w.shape[-1] == 1:
        w = jnp.squeeze(w, -1)
    if w.ndim != 1 or w.shape[0] != batch:
        raise ValueError(f"sample_weight must have one weight per sample, shape ({batch},); got "
                         f"shape {w.shape}.")
    return w


def _mean_init():
    return {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}


def _mean_update(state, values, sample_weight):
    values = jnp.asarray(values, jnp.float32)
    if values.ndim == 0:
        values = values[None]
    if sample_weight is not None and jnp.ndim(sample_weight) > 1 and values.ndim >= jnp.ndim(sample_weight):
        # A weight per entry (a per-sample weight times a Keras mask over timesteps): as Keras's
        # MeanMetricWrapper with a mask, sum(values * w) / sum(w) over the weighted entries.
        w = jnp.asarray(sample_weight, jnp.float32)
        if values.ndim > w.ndim:
            values = jnp.mean(values.reshape(w.shape + (-1,)), axis=-1)
        weighted = jnp.where(w != 0, values * w, 0.0)
        return {"total": state["total"] + jnp.sum(weighted), "count": state["count"] + jnp.sum(w)}
    if values.ndim > 1:  # Keras averages a sample's values before weighting the sample
        values = jnp.mean(values, axis=tuple(range(1, values.ndim)))
    w = _weights(sample_weight, values.shape[0])
    # `where`, not a product: a padded row may hold inf or NaN and must still count as zero.
    weighted = jnp.where(w != 0, values * w, 0.0)
    return {"total": state["total"] + jnp.sum(weighted), "count": state["count"] + jnp.sum(w)}


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _mean_result(state) -> float:
    return float(_divide_no_nan(state["total"], state["count"]))


def _broadcast_weight(w, shape):
    """A ``[B]`` weight broadcast over an array of ``shape`` ``[B, ...]``."""
    return jnp.broadcast_to(jnp.reshape(w, w.shape + (1,) * (len(shape) - 1)), shape)


# Metric objects ------------------------------------------------------------------------

def _definer(cls: type, attr: str) -> type | None:
    for klass in cls.__mro__:
        if attr in vars(klass):
            return klass
    return None


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _wrap_result(result):
    """``result`` made to serve both protocols: ``result()`` (Keras, eager) and ``result(state)`` (the trainer)."""

    @functools.wraps(result)
    def wrapper(self, *args, **kwargs):
        if type(self).stateful:
            if not args and "state" not in kwargs:
                return result(self)
            state = args[0] if args else kwargs["state"]
            with bind(self.variables, jax.tree_util.tree_leaves(state)):
                return result(self)
        if not args and "state" not in kwargs:
            return result(self, self._eager_state())
        return result(self, *args, **kwargs)

    wrapper.wraps_result = True
    return wrapper


class Metric:
    """Base of the metrics: Keras 3's stateful API, run on the device as pure functions of a state.

    Two ways to write a metric, both accumulating inside the compiled step:

    * **Keras 3's**: create variables in ``__init__`` with ``self.add_variable(shape,
      initializer, dtype=None, aggregation="sum", name=None)``, change them in
      ``update_state(y_true, y_pred, sample_weight=None)`` with ``assign``/``assign_add``,
      and compute ``result()`` from them (``reset_state()`` zeroes them by default). In a
      compiled step highlevel binds the variables to arrays of the train state, calls
      ``update_state`` and reads the new values back; ``result`` runs on the host at epoch
      end (or when a log is shown). A last partial batch is padded: its padding rows never
      reach ``update_state`` (that batch is fed row by row, real rows only).
    * **highlevel's pure protocol**: ``init() -> state``, ``update(state, y_true, y_pred,
      sample_weight) -> state`` (pure ``jax.numpy``) and ``result(state) -> float`` (NumPy
      state, on the host).

    Either way the object also works eagerly as in Keras: ``update_state``, ``result()``,
    ``reset_state()``, ``variables`` and ``metric(y_true, y_pred)``. ``direction`` is
    ``"up"`` when larger is better, ``"down"`` when smaller is, ``None`` when unknown (for
    ``mode="auto"`` callbacks).

    Args:
        name: The name in logs and configs (default: the class's ``default_name``, or its
            name in snake case for a subclass that sets none).
        dtype: The dtype of the variables ``add_variable`` makes by default (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class PositiveCount(hl.metrics.Metric):
    ...     def __init__(self, name="positive_count", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         positive = (y_pred > 0).astype("float32")
    ...         if sample_weight is not None:
    ...             positive = positive * jnp.reshape(sample_weight, positive.shape)
    ...         self.count.assign_add(jnp.sum(positive))
    ...     def result(self):
    ...         return self.count.value
    >>> m = PositiveCount()
    >>> m.update_state(jnp.zeros(3), jnp.array([1.0, -1.0, 2.0]))
    >>> float(m.result())
    2.0
    >>> m.reset_state(); float(m.result())
    0.0
    """

    default_name = "metric"
    direction: str | None = None
    #: Whether ``update`` accepts a ``sample_weight`` with a weight per timestep (the batch's
    #: weights times an output's Keras mask); others get the per-sample weights only, as in Keras.
    supports_masking: bool = False
    #: True for a subclass written the Keras way (it overrides ``update_state``, not ``update``).
    stateful = False
    #: Set by ``compile``: True for a metric of ``weighted_metrics`` (its updates get the sample weights).
    sample_weighted = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        state_owner, update_owner = _definer(cls, "update_state"), _definer(cls, "update")
        cls.stateful = state_owner is not Metric and (
            update_owner is Metric or cls.__mro__.index(state_owner) < cls.__mro__.index(update_owner))
        if "result" in vars(cls) and not getattr(vars(cls)["result"], "wraps_result", False):
            cls.result = _wrap_result(vars(cls)["result"])

    def __init__(self, name: str | None = None, dtype: str | None = None):
        if name is None:
            name = self.default_name if _definer(type(self), "default_name") is not Metric \
                else _snake_case(type(self).__name__)
        self.name = name
        self._dtype = str(jnp.dtype(dtype or "float32"))
        self._variables: list[MetricVariable] = []
        self._eager = None

    # -- Keras's variables --------------------------------------------------------------

    @property
    def dtype(self) -> str:
        """The default dtype of the metric's variables."""
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation: str = "sum",
                     name: str | None = None) -> MetricVariable:
        """Creates a state variable (Keras 3's signature); keep it as an attribute.

        Args:
            shape: The variable's shape (``()`` for a scalar).
            initializer: A Keras initializer name or object (``"zeros"``).
            dtype: Its dtype (default: the metric's).
            aggregation: Keras's replica aggregation, kept for reference.
            name: Its name.
        """
        if not hasattr(self, "_variables"):
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__(name=name, **kwargs) "
                               "before add_variable().")
        from highlevel import initializers
        from highlevel.utils import random as _random
        init = initializers.get(initializer if initializer is not None else "zeros")
        shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        value = init(_random.next_key(), shape, jnp.dtype(dtype or self._dtype))
        var = MetricVariable(jax.device_put(np.asarray(value)), name=name, aggregation=aggregation)
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer=None, dtype=None, name: str | None = None) -> MetricVariable:
        """Keras's older name of :meth:`add_variable`.

        Args:
            shape: The variable's shape.
            initializer: An initializer (zeros by default).
            dtype: Its dtype.
            name: Its name.
        """
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[MetricVariable]:
        """The state variables: its own, then those of metrics it holds as attributes (Keras's order).

        For a metric written with the pure protocol, views of its eager state's arrays."""
        if not type(self).stateful:
            state = self._eager_state()
            leaves = jax.tree_util.tree_leaves_with_path(state)
            return [MetricVariable(v, name=jax.tree_util.keystr(p).strip("[]'\"")) for p, v in leaves]
        out = list(getattr(self, "_variables", []))
        for value in vars(self).values():
            inner = value if isinstance(value, (list, tuple)) else [value]
            for item in inner:
                if isinstance(item, Metric) and item is not self:
                    out.extend(item.variables)
        return out

    # -- Keras's stateful API ----------------------------------------------------------------

    def _eager_state(self):
        if self._eager is None:
            self._eager = self.init()
        return self._eager

    def update_state(self, *args, **kwargs) -> None:
        """Accumulates a batch into the metric's state (eagerly; ``fit`` does it inside the step).

        Args:
            *args: ``y_true, y_pred`` (or the values, for ``Mean``/``Sum``).
            **kwargs: ``sample_weight`` and any argument of ``update``.
        """
        if type(self).stateful:
            raise NotImplementedError(f"{type(self).__name__} must define update_state().")
        new = self.update(self._eager_state(), *args, **kwargs)
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(new)):
            raise ValueError(f"{type(self).__name__} '{self.name}': update_state() was called inside a compiled "
                             "step (e.g. in compute_loss), which cannot keep its state: the loss is logged as "
                             "'loss' already, and compile(metrics=[...]) updates metrics inside the step (read "
                             "them in model.metrics).")
        self._eager = new

    def reset_state(self) -> None:
        """Resets the state: every variable to zeros (Keras's default), or a fresh ``init()``."""
        if type(self).stateful:
            for var in self.variables:
                var.assign(jnp.zeros(var.shape, var.dtype))
        else:
            self._eager = None

    def load_state(self, state) -> None:
        """Makes ``state`` (a state as ``init``/``update`` return it) the metric's eager state, so that
        ``result()`` answers from it: ``fit``/``evaluate`` load what they last read of their
        accumulators, as Keras's metric objects hold the values of the last batch.

        Args:
            state: the state's arrays (host NumPy arrays are kept as they are).

        >>> m = Mean()
        >>> m.load_state({"total": np.float32(6.0), "count": np.float32(4.0)})
        >>> m.result()
        1.5
        """
        if type(self).stateful:
            for var, value in zip(self.variables, jax.tree_util.tree_leaves(state)):
                var.assign(value)
        else:
            self._eager = state

    def __call__(self, *args, **kwargs):
        """``update_state(*args, **kwargs)``, then the ``result()`` so far (as Keras's ``Metric.__call__``)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def stateless_update_state(self, metric_variables, *args, **kwargs) -> list:
        """Keras's functional form: the variables' values after ``update_state``, given their values before."""
        return list(self.update(tuple(metric_variables), *args, **kwargs))

    def stateless_result(self, metric_variables):
        """Keras's functional form of ``result()`` for the given variable values."""
        return self.result(tuple(metric_variables))

    # -- the pure protocol (what the compiled step runs) ---------------------------------------

    def init(self):
        """A fresh state: for a Keras-style metric, its variables' values after ``reset_state()``."""
        if not type(self).stateful:
            raise NotImplementedError(f"{type(self).__name__} must define init() (or update_state(), Keras's way).")
        variables = self.variables
        with bind(variables, [v.value for v in variables]) as new:
            self.reset_state()
        return tuple(new)

    def update(self, state, y_true, y_pred, sample_weight=None):
        """The state after one batch: for a Keras-style metric, ``update_state`` run on bound variables."""
        if not type(self).stateful:
            raise NotImplementedError(f"{type(self).__name__} must define update() (or update_state(), Keras's way).")
        with bind(self.variables, jax.tree_util.tree_leaves(state)) as new:
            self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return tuple(new)

    def result(self, state=None) -> float:
        raise NotImplementedError

    def build(self, output_shape) -> None:
        """Called by ``compile`` with the model output's shape (batch None) before ``init()``.

        Metrics whose state depends on the number of classes (``F1Score``, ``R2Score``) size it
        here, as Keras's do on their first batch; the default does nothing.
        """

    def get_config(self) -> dict[str, Any]:
        """The metric's constructor arguments (Keras's ``name`` and ``dtype`` by default)."""
        if type(self).stateful:
            return {"name": self.name, "dtype": self._dtype}
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The weighted mean of values: ``update(state, values, sample_weight=None)``.

    Unlike other metrics (and as in Keras), ``update`` takes the values themselves:
    ``[B]`` per-sample values with ``[B]`` weights, or one scalar with a scalar weight.
    For Keras's logged ``loss``, feed the batch's scalar loss weighted by the number of
    real samples in the batch: ``update(state, loss, n_real)``.

    Args:
        name: The name in logs and configs (default ``"mean"``).
        dtype: Accepted for Keras compatibility (the mean is float32).

    >>> m = Mean("loss")
    >>> m.result(m.update(m.init(), jnp.array([1.0, 3.0, 5.0]), jnp.array([1.0, 1.0, 0.0])))
    2.0
    >>> m.update_state(jnp.array([1.0, 3.0]))   # Keras's eager form
    >>> m.result()
    2.0
    """

    default_name = "mean"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def init(self):
        return _mean_init()

    def update(self, state, values, sample_weight=None):
        return _mean_update(state, values, sample_weight)

    def result(self, state) -> float:
        return _mean_result(state)


class Sum(Metric):
    """The (weighted) sum of values: ``update(state, values, sample_weight=None)``.

    As Keras's ``Sum``: ``[B, ...]`` values are summed over their trailing axes, weighted
    by ``[B]`` weights, and added up.

    Args:
        name: The name in logs and configs (default ``"sum"``).
        dtype: Accepted for Keras compatibility (the sum is float32).

    >>> import highlevel as hl
    >>> m = hl.metrics.Sum()
    >>> m.update_state(jnp.array([1.0, 3.0, 5.0, 7.0]), sample_weight=jnp.array([1.0, 1.0, 0.0, 0.0]))
    >>> m.result()
    4.0
    """

    default_name = "sum"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def init(self):
        return {"total": jnp.zeros((), jnp.float32)}

    def update(self, state, values, sample_weight=None):
        values = jnp.asarray(values, jnp.float32)
        if values.ndim == 0:
            values = values[None]
        if values.ndim > 1:
            values = jnp.sum(values, axis=tuple(range(1, values.ndim)))
        w = _weights(sample_weight, values.shape[0])
        return {"total": state["total"] + jnp.sum(jnp.where(w != 0, values * w, 0.0))}

    def result(self, state) -> float:
        return float(np.asarray(state["total"]))


def result_logs(name: str, value) -> dict[str, float]:
    """A metric's result as log entries, one float per entry.

    A scalar result gives ``{name: float}``; a vector result (an F1 score per class) gives one
    entry per component (``f1_score_0``, ``f1_score_1``...), so that every logged value is a float.

    Args:
        name: The metric's name in the logs.
        value: Its result: a Python number or an array of any shape.

    >>> import numpy as np
    >>> from highlevel.metrics import result_logs
    >>> result_logs("accuracy", np.float32(0.5))
    {'accuracy': 0.5}
    >>> result_logs("f1_score", np.array([0.25, 1.0]))
    {'f1_score_0': 0.25, 'f1_score_1': 1.0}
    """
    arr = np.asarray(value, np.float64)
    if arr.ndim == 0:
        return {name: float(arr)}
    return {f"{name}_{i}": float(v) for i, v in enumerate(arr.reshape(-1))}


def update_in_step(metric: Metric, state, y_true, y_pred, sample_weight, mask):
    """One batch into a metric's state inside the compiled step, as Keras feeds its metrics.

    ``mask`` marks the real rows (padding of a last partial batch is 0) and
    ``sample_weight`` is the sample times class weight, already zero on padding. A metric
    of ``compile(metrics=...)`` is not weighted (Keras's rule): it sees the mask as its
    weights; one of ``compile(weighted_metrics=...)`` (``metric.sample_weighted``) sees the
    weights. A Keras-style metric (``stateful``) gets exactly Keras's call: a full batch
    calls ``update_state(y_true, y_pred, sample_weight=None)`` (or the weights, for a
    weighted metric given weights), and a padded batch is fed row by row, real rows only,
    so that a metric ignoring ``sample_weight`` still never counts padding.

    Args:
        metric: The metric (a ``hl.metrics.Metric`` or a Keras-style stateful metric).
        state: Its state before the batch.
        y_true: The batch's targets.
        y_pred: The model's predictions for the batch.
        sample_weight: ``[B]`` (or ``[B, T]``: per timestep) sample times class weights, zero on padding rows.
        mask: ``[B]`` 1 for real rows, 0 for padding.

    Returns the metric's state after the batch.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanAbsoluteError()
    >>> state = hl.metrics.update_in_step(m, m.init(), jnp.array([[0.], [1.], [9.]]),
    ...                                   jnp.array([[1.], [3.], [0.]]), jnp.ones(3), jnp.array([1., 1., 0.]))
    >>> m.result(state)  # the padding row (error 9) does not count
    1.5
    """
    weighted = getattr(metric, "sample_weighted", False)
    if not type(metric).stateful:
        return metric.update(state, y_true, y_pred, sample_weight if weighted else mask)
    state = tuple(state)
    mask = jnp.asarray(mask)

    def plain(st):
        return metric.update(st, y_true, y_pred, None)

    def with_weights(st):
        return metric.update(st, y_true, y_pred, sample_weight)

    def rowwise(st):
        def body(carry, row):
            yt, yp, w, m = row
            new = metric.update(carry, yt[None], yp[None], w[None] if weighted else None)
            return tuple(jnp.where(m > 0, n, c) for n, c in zip(new, carry)), None

        out, _ = jax.lax.scan(body, st, (y_true, y_pred, sample_weight, mask))
        return out

    full = jnp.all(mask > 0)
    if not weighted:
        return jax.lax.cond(full, plain, rowwise, state)
    sample_weight = jnp.asarray(sample_weight)
    row_mask = mask.reshape(mask.shape + (1,) * (sample_weight.ndim - mask.ndim))   # weights per timestep
    index = jnp.where(full, jnp.where(jnp.all(sample_weight == row_mask), 0, 1), 2)
    return jax.lax.switch(index, (plain, with_weights, rowwise), state)


class _MeanOf(Metric):
    """Abstract: the weighted mean of ``values(y_true, y_pred)`` (Keras's ``MeanMetricWrapper``)."""

    # Keras's mean metrics ignore masked timesteps: ``update`` takes a weight per entry.
    supports_masking = True

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def init(self):
        return _mean_init()

    def update(self, state, y_true, y_pred, sample_weight=None):
        return _mean_update(state, self.values(y_true, y_pred), sample_weight)

    def result(self, state) -> float:
        return _mean_result(state)


class MeanMetricWrapper(_MeanOf):
    """The weighted mean of any ``fn(y_true, y_pred, **kwargs) -> per-sample values``.

    Args:
        fn: The per-sample function (or a ``hl.losses.Loss``, whose ``call`` is used).
        name: The name in logs and configs (default: ``fn.__name__``).
        dtype: Accepted for Keras compatibility (the mean is float32).
        **kwargs: Keyword arguments passed to ``fn`` on every call and kept in the config.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanMetricWrapper(hl.losses.mean_absolute_error)
    >>> m.result(m.update(m.init(), jnp.array([[0.], [1.]]), jnp.array([[1.], [3.]])))
    1.5
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: str | None = None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)
        self.fn = fn
        self.fn_kwargs = kwargs
        if isinstance(fn, _losses.Loss) or _losses.is_loss_function(fn):
            self.direction = "down"

    def values(self, y_true, y_pred):
        if isinstance(self.fn, _losses.Loss):
            return self.fn.call(y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        if isinstance(self.fn, _losses.Loss):
            fn = _losses.serialize(self.fn)
        elif _losses.is_loss_function(self.fn):
            fn = self.fn.__name__   # Keras's name, which any process reads back
        else:
            fn = _losses.function_path(self.fn)
        return {"name": self.name, "fn": fn, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn")
        if isinstance(fn, dict):
            fn = _losses.get(fn)
        else:
            fn = _losses.loss_functions().get(fn) or _losses.import_function(fn)
        return cls(fn, **config)
