"""Regression metrics: mean squared, absolute, percentage and logarithmic errors, log-cosh, cosine
similarity, root mean squared error and R2."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from highlevel import losses as _losses
from highlevel.metrics.base import Metric, _MeanOf, _mean_result, _squeeze_or_expand, _weights

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "R2Score"]


class MeanSquaredError(_MeanOf):
    """Mean of squared errors (per sample over the last axis, then over samples).

    Args:
        name: The name in logs and configs (default ``"mean_squared_error"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanSquaredError()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.], [1., 1.]]), jnp.array([[1., 1.], [1., 0.]])))
    0.5
    """

    default_name, direction = "mean_squared_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(_MeanOf):
    """Mean of absolute errors (per sample over the last axis, then over samples).

    Args:
        name: The name in logs and configs (default ``"mean_absolute_error"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanAbsoluteError()
    >>> m.result(m.update(m.init(), jnp.array([[0., 1.], [1., 3.]]), jnp.array([[1., 1.], [1., 0.]])))
    1.0
    """

    default_name, direction = "mean_absolute_error", "down"

    def values(self, y_true, y_pred):
        return _losses.mean_absolute_error(y_true, y_pred)


class RootMeanSquaredError(_MeanOf):
    """The square root of the weighted mean of squared errors over everything seen.

    Args:
        name: The name in logs and configs (default ``"root_mean_squared_error"``).
        dtype: Accepted for Keras compatibility (the running mean is float32).

    ``update(state, y_true, y_pred, sample_weight=None)`` takes ``[B, ...]`` targets and
    predictions and ``[B]`` weights; ``result(state)`` is a Python float.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.RootMeanSquaredError()
    >>> m.result(m.update(m.init(), jnp.array([[0.], [0.]]), jnp.array([[3.], [4.]])))
    3.535...
    """

    default_name, direction = "root_mean_squared_error", "down"

    def values(self, y_true, y_pred):
        y_pred = jnp.asarray(y_pred)
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
        return jnp.square(y_pred - y_true)

    def result(self, state) -> float:
        return float(np.sqrt(_mean_result(state)))


class MeanAbsolutePercentageError(_MeanOf):
    """Mean of absolute percentage errors, ``100 * |y_true - y_pred| / max(|y_true|, eps)``.

    Args:
        name: The name in logs and configs (default ``"mean_absolute_percentage_error"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.MeanAbsolutePercentageError()
    >>> m.update_state(jnp.array([[2.0], [4.0]]), jnp.array([[1.0], [5.0]]))
    >>> m.result()
    37.5
    """

    default_name, direction = "mean_absolute_percentage_error", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.mean_absolute_percentage_error(y_true, y_pred)


class MeanSquaredLogarithmicError(_MeanOf):
    """Mean of squared logarithmic errors, ``square(log1p(y_pred) - log1p(y_true))``.

    Args:
        name: The name in logs and configs (default ``"mean_squared_logarithmic_error"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp, math
    >>> m = hl.metrics.MeanSquaredLogarithmicError()
    >>> m.update_state(jnp.array([[0.0]]), jnp.array([[math.e - 1]]))
    >>> round(m.result(), 6)
    1.0
    """

    default_name, direction = "mean_squared_logarithmic_error", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.mean_squared_logarithmic_error(y_true, y_pred)


class LogCoshError(_MeanOf):
    """Mean of ``log(cosh(y_pred - y_true))`` (Keras's name ``logcosh``).

    Args:
        name: The name in logs and configs (default ``"logcosh"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.LogCoshError()
    >>> m.update_state(jnp.array([[0.0]]), jnp.array([[1.0]]))
    >>> round(m.result(), 4)
    0.4338
    """

    default_name, direction = "logcosh", "down"

    def __init__(self, name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)

    def values(self, y_true, y_pred):
        return _losses.log_cosh(y_true, y_pred)


class CosineSimilarity(_MeanOf):
    """Mean cosine similarity between labels and predictions along ``axis`` (1 when aligned).

    Args:
        name: The name in logs and configs (default ``"cosine_similarity"``).
        dtype: Accepted for Keras compatibility (float32).
        axis: The axis along which the vectors lie.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.CosineSimilarity()
    >>> m.update_state(jnp.array([[0.0, 1.0], [1.0, 1.0]]), jnp.array([[1.0, 0.0], [1.0, 1.0]]))
    >>> round(m.result(), 4)
    0.5
    """

    default_name, direction = "cosine_similarity", "up"

    def __init__(self, name: str | None = None, dtype: str | None = None, axis: int = -1):
        super().__init__(name, dtype)
        self.axis = int(axis)

    def values(self, y_true, y_pred):
        return -_losses.cosine_similarity(y_true, y_pred, axis=self.axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class R2Score(Metric):
    """The coefficient of determination R2 over everything seen (per output column, then aggregated).

    As Keras's ``R2Score``: ``1 - SS_res / SS_tot`` per column of ``[B, D]`` targets, an
    infinite column score counted as 0; ``class_aggregation`` ``"uniform_average"`` (the
    mean over columns), ``"variance_weighted_average"`` or ``None`` (the per-column array;
    in ``fit`` logs one entry per column, ``r2_score_0``...). ``num_regressors > 0`` gives
    the adjusted R2, with the number of samples counted over rows of nonzero weight (Keras
    counts every row given; the two differ only when weights of zero are passed, and so
    padding rows never count here).

    Args:
        class_aggregation: How to combine the columns' scores.
        num_regressors: The number of independent regressors, for the adjusted R2.
        name: The name in logs and configs (default ``"r2_score"``).
        dtype: Accepted for Keras compatibility (float32).

    >>> import highlevel as hl, jax.numpy as jnp
    >>> m = hl.metrics.R2Score()
    >>> m.update_state(jnp.array([[1.0], [2.0], [3.0]]), jnp.array([[1.0], [2.0], [2.0]]))
    >>> round(float(m.result()), 4)
    0.5
    """

    default_name, direction = "r2_score", "up"

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(name, dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"R2Score: class_aggregation must be None, 'uniform_average' or "
                             f"'variance_weighted_average', got {class_aggregation!r}.")
        if int(num_regressors) < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.num_outputs: int | None = None

    def build(self, output_shape) -> None:
        if self.num_outputs is None:
            shape = tuple(output_shape)
            if len(shape) != 2 or shape[-1] is None:
                raise ValueError(f"R2Score expects outputs of shape (batch_size, output_dim), got {shape}.")
            self.num_outputs = int(shape[-1])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = jnp.asarray(y_pred)
        self.build(y_pred.shape if y_pred.ndim == 2 else tuple(y_pred.shape) + (1,))
        super().update_state(y_true, y_pred, sample_weight)

    def init(self):
        if self.num_outputs is None:
            raise ValueError("R2Score does not know the number of outputs yet: compile a model with it, or "
                             "call update_state on a batch first.")
        zeros = jnp.zeros((self.num_outputs,), jnp.float32)
        return {"sum": zeros, "squared_sum": zeros, "residual": zeros, "count": zeros,
                "num_samples": jnp.zeros((), jnp.float32)}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred = jnp.asarray(y_pred, jnp.float32)
        y_true, y_pred = _squeeze_or_expand(jnp.asarray(y_true, jnp.float32), y_pred)
        if y_pred.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        w = _weights(sample_weight, y_pred.shape[0])
        w2 = jnp.broadcast_to(w[:, None], y_pred.shape)
        yt = jnp.where(w2 != 0, y_true, 0.0)   # padded rows may hold anything
        err = jnp.where(w2 != 0, jnp.square(y_true - y_pred), 0.0)
        return {"sum": state["sum"] + jnp.sum(yt * w2, axis=0),
                "squared_sum": state["squared_sum"] + jnp.sum(yt * yt * w2, axis=0),
                "residual": state["residual"] + jnp.sum(err * w2, axis=0),
                "count": state["count"] + jnp.sum(w2, axis=0),
                "num_samples": state["num_samples"] + jnp.sum(jnp.where(w2 != 0, 1.0, 0.0))}

    def result(self, state):
        s = {k: np.asarray(v, np.float64) for k, v in state.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s["sum"] / s["count"]
            total = s["squared_sum"] - s["sum"] * mean
            raw = 1.0 - s["residual"] / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(s["num_samples"]), float(self.num_regressors)
        if p and p < n - 1:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return float(score) if np.ndim(score) == 0 else np.asarray(score, np.float32)

    def get_config(self):
        return {"name": self.name, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
