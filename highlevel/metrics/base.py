"""The ``Metric`` base, ``Mean``, ``MeanMetricWrapper`` and the state helpers every metric shares.

The helpers keep a weighted mean on the device (``_mean_init``, ``_mean_update``),
check per-sample weights (``_weights``) and divide on the host without NaN
(``_divide_no_nan``, ``_mean_result``).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses

__all__ = ["Metric", "Mean", "MeanMetricWrapper"]

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

class Metric:
    """Abstract base of the metrics: a pure ``init``/``update`` state and a host ``result``.

    The protocol is ``init() -> state``, ``update(state, y_true, y_pred, sample_weight) -> state``
    and ``result(state) -> float``. ``init`` and ``update`` are pure ``jax.numpy``
    (``update`` is meant to run inside a jitted step); ``result`` takes the state as NumPy
    arrays (``jax.device_get(state)``) and computes on the host. ``direction`` is ``"up"``
    when larger is better, ``"down"`` when smaller is, ``None`` when unknown (for
    ``mode="auto"`` callbacks).

    Args:
        name: The name in logs and configs (default: the class's ``default_name``).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class Count(hl.metrics.Metric):
    ...     def init(self):
    ...         return {"n": jnp.zeros(())}
    ...     def update(self, state, y_true, y_pred, sample_weight=None):
    ...         return {"n": state["n"] + len(y_true)}
    ...     def result(self, state):
    ...         return float(state["n"])
    >>> m = Count("count")
    >>> m.result(m.update(m.init(), jnp.zeros(3), jnp.zeros(3)))
    3.0
    """

    default_name = "metric"
    direction: str | None = None
    #: Whether ``update`` accepts a ``sample_weight`` with a weight per timestep (the batch's
    #: weights times an output's Keras mask); others get the per-sample weights only, as in Keras.
    supports_masking: bool = False

    def __init__(self, name: str | None = None):
        self.name = name or self.default_name

    def init(self) -> dict[str, jax.Array]:
        raise NotImplementedError

    def update(self, state, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self, state) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
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

    >>> m = Mean("loss")
    >>> m.result(m.update(m.init(), jnp.array([1.0, 3.0, 5.0]), jnp.array([1.0, 1.0, 0.0])))
    2.0
    """

    default_name = "mean"

    def init(self):
        return _mean_init()

    def update(self, state, values, sample_weight=None):
        return _mean_update(state, values, sample_weight)

    def result(self, state) -> float:
        return _mean_result(state)


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
        **kwargs: Keyword arguments passed to ``fn`` on every call and kept in the config.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanMetricWrapper(hl.losses.mean_absolute_error)
    >>> m.result(m.update(m.init(), jnp.array([[0.], [1.]]), jnp.array([[1.], [3.]])))
    1.5
    """

    def __init__(self, fn: Callable, name: str | None = None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "metric"))
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
        else:
            fn = _losses.function_path(self.fn)
        return {"name": self.name, "fn": fn, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn")
        fn = _losses.get(fn) if isinstance(fn, dict) else _losses.import_function(fn)
        return cls(fn, **config)
