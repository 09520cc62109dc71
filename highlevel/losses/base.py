"""The ``Loss`` base, Keras's rank alignment and weighted reduction, and ``LossFunctionWrapper``.

What every loss family shares: the input helpers (``squeeze_or_expand_to_same_rank``,
float promotion), ``reduce_weighted_values`` (Keras's ``Loss.__call__`` reduction),
the abstract ``Loss`` and ``_FunctionLoss`` classes, and the wrapper of user functions
with the config names it gives them.
"""

from __future__ import annotations

from typing import Any, Callable

from highlevel.utils.serialization import register_serializable, resolve_serializable, serializable_name
import jax.numpy as jnp

__all__ = ["Loss", "LossFunctionWrapper", "EPSILON", "reduce_weighted_values",
           "squeeze_or_expand_to_same_rank"]

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

    Subclasses implement ``call(y_true, y_pred) -> [B, ...]`` per-sample losses.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> class AbsoluteError(hl.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return jnp.abs(y_true - y_pred)
    >>> float(AbsoluteError()(jnp.array([1., 2.]), jnp.array([2., 2.])))
    0.5
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

    def call_on_rows(self, y_true, y_pred, rows):
        """Per-sample losses of a batch of which only some rows are real, and the entries that count.

        ``fit`` and ``evaluate`` call this, not ``call``: a last partial batch is padded, and a
        loss whose values mix rows (Dice over the whole batch, Circle's pairs) must leave the
        padding out. The default ignores ``rows`` (the step's weights drop padded rows).

        Args:
            y_true: Targets, ``[B, ...]``.
            y_pred: Predictions, ``[B, ...]``.
            rows: ``[B]`` floats, 1 for a real row and 0 for padding.

        Returns:
            ``(values, counted)``: ``call``'s values, and ``None`` (every entry of a real row
            counts) or booleans of the values' shape (only those count, in the sum and in the
            ``"sum_over_batch_size"`` denominator, as a Keras mask on the losses does).
        """
        return self.call(y_true, y_pred), None

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


def function_path(fn: Callable) -> str:
    """The name a config holds for a user function: its registered name (registering it if needed)."""
    return serializable_name(fn) or _default_registration(fn)


def _default_registration(fn: Callable) -> str:
    # A function passed to compile() is registered under module:qualname so that this
    # process can load what it saved; another process must register it itself.
    register_serializable(fn)
    return serializable_name(fn)


def import_function(path: str) -> Callable:
    """The function a config names: only registered functions are found; nothing is imported."""
    return resolve_serializable(path, "function")


class LossFunctionWrapper(Loss):
    """Wraps any ``fn(y_true, y_pred, **kwargs) -> per-sample losses`` into a ``Loss``.

    Args:
        fn: The function; it gets ``y_true`` and ``y_pred`` with their ranks aligned and
            returns per-sample losses of shape ``[B, ...]``.
        reduction: How ``__call__`` reduces the per-sample losses (see :class:`Loss`).
        name: The name in configs and logs (default: ``fn.__name__``).
        **kwargs: Keyword arguments passed to ``fn`` on every call and kept in the config.

    >>> import highlevel as hl, jax.numpy as jnp
    >>> def scaled_error(y_true, y_pred, scale=1.0):
    ...     return scale * jnp.abs(y_true - y_pred)
    >>> loss = hl.losses.LossFunctionWrapper(scaled_error, scale=2.0)
    >>> float(loss(jnp.array([1., 2.]), jnp.array([2., 2.])))
    1.0
    """

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": function_path(self.fn), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn")
        return cls(import_function(fn) if isinstance(fn, str) else fn, **config)
