"""Losses by Keras name: per-sample functions and ``Loss`` objects that reduce them.

Every function here takes ``(y_true, y_pred)`` and reduces only the last axis, as
Keras's loss functions do (``[B, C]`` predictions give ``[B]`` losses, ``[B, T, C]``
give ``[B, T]``). A ``Loss`` object's ``call`` returns those per-sample values and
``__call__`` reduces them to a scalar with Keras's default ``"sum_over_batch_size"``
reduction. All of it is pure ``jax.numpy``: usable under ``jax.jit`` and ``jax.grad``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from highlevel.utils.serialization import register_serializable, resolve_serializable, serializable_name
import jax
import jax.numpy as jnp

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber", "LogCosh",
    "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "huber", "log_cosh", "cosine_similarity", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "get", "serialize", "deserialize",
]

EPSILON = 1e-7  # keras.backend.epsilon()
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rank alignment: drop (or add) a trailing axis of size 1 when ranks differ by one."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _float(y_pred):
    # At least float32, as Keras computes losses in floatx even for bfloat16 outputs.
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        return y_pred.astype(jnp.float32)
    return y_pred.astype(jnp.promote_types(y_pred.dtype, jnp.float32))


def _pair(y_true, y_pred, align: bool = True):
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    if align:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def _same_shape(fn_name: str, y_true, y_pred) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn_name}: y_true and y_pred must have the same shape, got "
                         f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}.")


# Per-sample loss functions -------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``.

    >>> mean_squared_error(jnp.array([[0., 1.]]), jnp.array([[1., 1.]]))
    Array([0.5], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(1 + y_pred) - log(1 + y_true)), axis=-1)`` with inputs floored at epsilon."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
    second = jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    """Quadratic for ``|error| <= delta``, linear beyond; averaged over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    return jnp.mean(jnp.where(abs_error <= delta, 0.5 * jnp.square(error),
                              delta * abs_error - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype), axis=-1)


def _l2_normalize(x, axis=-1):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / EPSILON)


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """The negative cosine similarity along ``axis`` (so that minimizing it aligns the vectors)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0):
    """Binary crossentropy averaged over the last axis.

    Probabilities are clipped to ``[1e-7, 1 - 1e-7]``; with ``from_logits=True`` the
    stable ``-t * log_sigmoid(x) - (1 - t) * log_sigmoid(-x)`` is used.

    >>> binary_crossentropy(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]))
    Array([0.91629...], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    _same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=-1)


def _log_probs(y_pred, from_logits: bool):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=-1)
    p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0):
    """Crossentropy between one-hot (or soft) labels and predictions over the last axis.

    Probabilities are renormalized to sum to one and clipped to ``[1e-7, 1 - 1e-7]``.

    >>> categorical_crossentropy(jnp.array([[0., 1., 0.]]), jnp.array([[0.05, 0.95, 0.]]))
    Array([0.05129331], dtype=float32)
    """
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    _same_shape("categorical_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    """Crossentropy between integer labels (``[B]`` or ``[B, 1]``, int or float) and predictions.

    >>> sparse_categorical_crossentropy(jnp.array([1]), jnp.array([[0.05, 0.95, 0.]]))
    Array([0.05129331], dtype=float32)
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: y_true must have the shape of y_pred without its "
            f"last (class) axis, got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}. "
            "Labels are integers of shape [B] or [B, 1]; for one-hot labels use "
            "categorical_crossentropy.")
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    return -jnp.sum(one_hot * _log_probs(y_pred, from_logits), axis=-1)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[1e-7, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    y_true = jnp.clip(y_true, EPSILON, 1.0)
    y_pred = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


def _hinge_labels(y_true):
    # Keras maps {0, 1} labels to {-1, 1}; labels already in {-1, 1} are kept.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` with labels in {-1, 1} (or {0, 1})."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(max(1 - y_true * y_pred, 0)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, align=False)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# Reduction ---------------------------------------------------------------------------

def _align_weight(weight, values):
    """Broadcasts a ``[B]``/``[B, 1]``/scalar weight or mask over per-sample values ``[B, ...]``."""
    weight = jnp.asarray(weight)
    if weight.ndim == values.ndim + 1 and weight.shape[-1] == 1:
        weight = jnp.squeeze(weight, -1)
    if weight.ndim < values.ndim and weight.ndim > 0:
        weight = jnp.reshape(weight, weight.shape + (1,) * (values.ndim - weight.ndim))
    try:
        return jnp.broadcast_to(weight, values.shape)
    except ValueError:
        raise ValueError(f"A sample weight or mask of shape {weight.shape} does not fit per-sample "
                         f"losses of shape {values.shape}; pass one weight per sample, shape "
                         f"[{values.shape[0] if values.ndim else ''}].") from None


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction: str | None = "sum_over_batch_size"):
    """Weights per-sample values and reduces them as Keras's ``Loss.__call__`` does."""
    weight = None
    if mask is not None:
        mask = _align_weight(mask, values).astype(bool)
        if reduction in ("mean", "sum_over_batch_size"):
            # Keras's rule: masked entries count neither in the sum nor in the denominator.
            valid = jnp.sum(mask.astype(values.dtype))
            scale = jnp.where(valid > 0, values.size / jnp.maximum(valid, 1.0), 0.0)
            weight = jnp.where(mask, scale, 0.0).astype(values.dtype)
        else:
            weight = mask.astype(values.dtype)
        values = jnp.where(mask, values, 0.0)  # no NaN from a masked-out entry
    if sample_weight is not None:
        sw = _align_weight(sample_weight, values).astype(values.dtype)
        weight = sw if weight is None else weight * sw
    if weight is not None:
        values = values * weight
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = jnp.sum(weight)
    else:
        divisor = jnp.asarray(values.size, values.dtype)
    return jnp.where(divisor != 0, total / jnp.where(divisor != 0, divisor, 1.0), 0.0)


# Loss objects ------------------------------------------------------------------------

class Loss:
    """Abstract: ``call(y_true, y_pred)`` gives per-sample losses, ``__call__`` a scalar.

    Args:
        name: shown in configs; Keras's default name for each class.
        reduction: ``"sum_over_batch_size"`` (default: the sum of weighted losses divided
            by their number), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (divided
            by the sum of weights) or ``None``/``"none"`` (no reduction).
    """

    default_name = "loss"

    def __init__(self, name: str | None = None,
                 reduction: str | None = "sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Unknown reduction {reduction!r} for loss {type(self).__name__}. "
                             f"Expected one of {', '.join(map(repr, _REDUCTIONS))}.")
        self.name = name or self.default_name
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss.

        Args:
            y_true, y_pred: targets and predictions.
            sample_weight: optional weights broadcastable from the leading axes
                (``[B]`` for ``[B]`` or ``[B, T]`` per-sample losses).
            mask: optional booleans of the same kind (Keras's ``_keras_mask``):
                masked-out entries count neither in the sum nor in the
                ``"sum_over_batch_size"`` denominator, so a padded batch with a
                ``[B]`` mask of its real rows gives the loss of the real rows alone.
        """
        values = self.call(y_true, y_pred)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _FunctionLoss(Loss):
    """Abstract: a loss defined by a per-sample function ``_fn`` and its keyword arguments."""

    _fn: Callable

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None):
        super().__init__(name=name, reduction=reduction)

    def _fn_kwargs(self) -> dict[str, Any]:
        return {}

    def call(self, y_true, y_pred):
        return self._fn(y_true, y_pred, **self._fn_kwargs())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs()}


class MeanSquaredError(_FunctionLoss):
    """Mean of squared errors over the last axis."""

    _fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"


class MeanAbsoluteError(_FunctionLoss):
    """Mean of absolute errors over the last axis."""

    _fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_FunctionLoss):
    """``100 * mean(|(y_true - y_pred) / y_true|)`` over the last axis."""

    _fn = staticmethod(mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_FunctionLoss):
    """Mean of squared ``log(1 + x)`` differences over the last axis."""

    _fn = staticmethod(mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


class LogCosh(_FunctionLoss):
    """Mean of ``log(cosh(y_pred - y_true))`` over the last axis."""

    _fn = staticmethod(log_cosh)
    default_name = "log_cosh"


class KLDivergence(_FunctionLoss):
    """Kullback-Leibler divergence over the last axis."""

    _fn = staticmethod(kl_divergence)
    default_name = "kl_divergence"


class Poisson(_FunctionLoss):
    """Mean of ``y_pred - y_true * log(y_pred)`` over the last axis."""

    _fn = staticmethod(poisson)
    default_name = "poisson"


class Hinge(_FunctionLoss):
    """Mean hinge loss for labels in {-1, 1} or {0, 1}."""

    _fn = staticmethod(hinge)
    default_name = "hinge"


class SquaredHinge(_FunctionLoss):
    """Mean squared hinge loss for labels in {-1, 1} or {0, 1}."""

    _fn = staticmethod(squared_hinge)
    default_name = "squared_hinge"


class CategoricalHinge(_FunctionLoss):
    """Categorical hinge loss over the last axis."""

    _fn = staticmethod(categorical_hinge)
    default_name = "categorical_hinge"


class Huber(_FunctionLoss):
    """Huber loss: quadratic for ``|error| <= delta``, linear beyond.

    >>> round(float(Huber()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]]))), 4)
    0.18
    """

    _fn = staticmethod(huber)
    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.delta = float(delta)

    def _fn_kwargs(self):
        return {"delta": self.delta}


class CosineSimilarity(_FunctionLoss):
    """Negative cosine similarity along ``axis``."""

    _fn = staticmethod(cosine_similarity)
    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.axis = int(axis)

    def _fn_kwargs(self):
        return {"axis": self.axis}


class BinaryCrossentropy(_FunctionLoss):
    """Binary crossentropy for labels in {0, 1} (or soft labels).

    Args:
        from_logits: whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: squeezes labels towards 0.5 by this amount.

    >>> float(BinaryCrossentropy()(jnp.array([[0., 1.]]), jnp.array([[0.6, 0.4]])))
    0.916...
    """

    _fn = staticmethod(binary_crossentropy)
    default_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_FunctionLoss):
    """Crossentropy for one-hot labels ``[B, C]``.

    Args:
        from_logits: whether ``y_pred`` are logits (otherwise probabilities).
        label_smoothing: mixes labels with the uniform distribution by this amount.
    """

    _fn = staticmethod(categorical_crossentropy)
    default_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(_FunctionLoss):
    """Crossentropy for integer labels ``[B]`` or ``[B, 1]`` against ``[B, C]`` predictions.

    Args:
        from_logits: whether ``y_pred`` are logits (otherwise probabilities).

    >>> float(SparseCategoricalCrossentropy(from_logits=True)(jnp.array([0]), jnp.array([[0., 0.]])))
    0.693...
    """

    _fn = staticmethod(sparse_categorical_crossentropy)
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction="sum_over_batch_size", name=None):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits}


def _function_path(fn: Callable) -> str:
    """The name a config holds for a user function: its registered name (registering it if needed)."""
    return serializable_name(fn) or _default_registration(fn)


def _default_registration(fn: Callable) -> str:
    # A function passed to compile() is registered under module:qualname so that this
    # process can load what it saved; another process must register it itself.
    register_serializable(fn)
    return serializable_name(fn)


def _import_function(path: str) -> Callable:
    """The function a config names: only registered functions are found; nothing is imported."""
    return resolve_serializable(path, "function")


class LossFunctionWrapper(Loss):
    """Wraps any ``fn(y_true, y_pred, **kwargs) -> per-sample losses`` into a ``Loss``."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": _function_path(self.fn), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn")
        return cls(_import_function(fn) if isinstance(fn, str) else fn, **config)


# Registry ----------------------------------------------------------------------------

_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
    SquaredHinge, CategoricalHinge, LossFunctionWrapper)}
_FUNCTIONS: dict[Callable, type] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber,
    log_cosh: LogCosh, cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
}
_NAMES: dict[str, type] = {fn.__name__: cls for fn, cls in _FUNCTIONS.items()}
_NAMES.update({alias: cls for cls, aliases in (
    (MeanSquaredError, ("mse", "MSE")), (MeanAbsoluteError, ("mae", "MAE")),
    (MeanAbsolutePercentageError, ("mape", "MAPE")),
    (MeanSquaredLogarithmicError, ("msle", "MSLE")), (BinaryCrossentropy, ("bce", "BCE")),
    (KLDivergence, ("kld", "KLD", "kullback_leibler_divergence"))) for alias in aliases})


def _is_registered_function(fn) -> bool:
    try:
        return fn in _FUNCTIONS
    except TypeError:  # an unhashable callable
        return False


def _known() -> str:
    return ", ".join(sorted(set(_NAMES) | (set(_CLASSES) - {"LossFunctionWrapper"})))


def get(identifier) -> Loss:
    """A ``Loss`` from a Keras name, a class name, a ``{"class_name", "config"}`` dict, a
    ``Loss`` (returned as is), a ``Loss`` class, or a callable ``fn(y_true, y_pred)`` that
    returns per-sample losses.

    A function name such as ``"mse"`` gives the class instance named after the string, as
    ``compile(loss="mse")`` does in Keras.

    >>> get("mse")
    MeanSquaredError(name='mse')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier](name=identifier)
        if identifier in _CLASSES and identifier != "LossFunctionWrapper":
            return _CLASSES[identifier]()
        raise ValueError(f"Unknown loss {identifier!r}. Known losses: {_known()}; or pass a "
                         "hl.losses.Loss or a function fn(y_true, y_pred) -> per-sample losses.")
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        if _is_registered_function(identifier):
            return _FUNCTIONS[identifier]()
        return LossFunctionWrapper(identifier)
    raise TypeError(f"A loss must be a name, a config dict, a hl.losses.Loss or a callable, "
                    f"got {identifier!r}.")


def serialize(loss: Loss) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a ``Loss`` (``get`` reads it back)."""
    if not isinstance(loss, Loss):
        loss = get(loss)
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any]) -> Loss:
    """The ``Loss`` described by ``{"class_name": ..., "config": ...}``."""
    if "class_name" not in config:
        raise ValueError(f"A loss config needs a 'class_name' key, got {config!r}.")
    name = config["class_name"]
    cls = _CLASSES.get(name) or _NAMES.get(name)
    if cls is None:
        raise ValueError(f"Unknown loss class {name!r} in config. Known losses: {_known()}.")
    return cls.from_config(config.get("config", {}))
