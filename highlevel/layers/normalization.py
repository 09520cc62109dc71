"""Normalization layers: BatchNormalization and LayerNormalization, as Keras computes them."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel import constraints as _constraints
from highlevel import initializers as _initializers
from highlevel import regularizers as _regularizers
from highlevel.layers.base import Layer, format_shape, register_layer, sample_mask

__all__ = ["BatchNormalization", "LayerNormalization"]


def _ser_init(init):
    return init if isinstance(init, str) else _initializers.serialize(_initializers.get(init))


def _as_float(value) -> float:
    # The shortest decimal that is this float32 (0.99, not 0.9900000095367432).
    return float(str(np.float32(np.asarray(value))))


def _normalize_axes(layer: Layer, axes: Sequence[int], input_shape) -> list[int]:
    ndim = len(input_shape)
    out = []
    for axis in axes:
        if not -ndim <= axis < ndim:
            raise ValueError(f"{type(layer).__name__} layer '{layer.name}' has axis={axis}, out of range "
                             f"for inputs of shape {format_shape(input_shape)}.")
        out.append(axis % ndim)
    for axis in out:
        if input_shape[axis] is None:
            raise ValueError(f"{type(layer).__name__} layer '{layer.name}' normalizes axis {axis} of inputs "
                             f"of shape {format_shape(input_shape)}, whose size must be known.")
    return sorted(set(out))


def _check_axes(layer: Layer, axes: list[int], inputs) -> None:
    """Other sizes are fine except on the normalized axes, whose sizes fix the weights."""
    expected = layer.build_input_shape
    got = tuple(inputs.shape)
    if len(got) != len(expected) or any(got[a] != expected[a] for a in axes):
        raise ValueError(
            f"Input of shape {format_shape(got)} does not match layer '{layer.name}' "
            f"({type(layer).__name__}), which was built for inputs of shape "
            f"{format_shape((None,) + tuple(expected[1:]))} (axis {axes} of size "
            f"{[expected[a] for a in axes]}). Pass data of the built shape, or build a new model.")


def _broadcast_shape(ndim: int, axes: list[int], sizes: Sequence[int]) -> tuple:
    shape = [1] * ndim
    for axis, size in zip(axes, sizes):
        shape[axis] = size
    return tuple(shape)


def _compute_dtype(x):
    # Statistics in at least float32, as Keras does for half-precision inputs.
    return jnp.promote_types(x.dtype, jnp.float32)


@register_layer
class BatchNormalization(Layer):
    """Normalizes each feature with the batch's statistics in training and moving averages otherwise.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``. In training (and when the
    layer is trainable), ``mean``/``var`` are the batch's, over every axis but ``axis``,
    and the moving statistics are updated as
    ``moving = moving * momentum + batch * (1 - momentum)``. In inference, or when
    ``layer.trainable`` is False (Keras's rule), the moving statistics are used and kept.

    Padding rows of a partial last batch (the trainer's ``sample_mask()``) are left
    out of the batch statistics.

    Two values are arrays in the model state, so changing them between compiled steps
    never recompiles: ``layer.momentum`` (a float) and ``layer.frozen`` (a bool; when
    True the layer normalizes with the moving statistics and keeps them, even in
    training — what ``hl.callbacks.FreezeBatchNorm`` sets).

    Args:
      axis: the features axis (-1 for channels last).
      momentum: the moving averages' momentum.
      epsilon: added to the variance.
      center, scale: whether to learn ``beta`` and ``gamma``.
      beta_initializer: ``beta``'s initializer (a Keras name or an ``hl.initializers`` object).
      gamma_initializer: ``gamma``'s initializer.
      moving_mean_initializer: the moving mean's initializer.
      moving_variance_initializer: the moving variance's initializer.
      beta_regularizer, gamma_regularizer: penalties added to the loss.
      beta_constraint, gamma_constraint: constraints (``hl.constraints``) applied after each update.
      synchronized: accepted for Keras configs; either way the statistics are the global
        batch's (under ``hl.distribute`` the compiled step sees the whole batch).
      renorm, renorm_clipping, renorm_momentum: Keras's batch renormalization, accepted only off
        (``renorm=False``), so that Keras configs load.

    Input and output shapes are the same. Weights (Keras order): ``gamma``, ``beta``
    (trainable, when ``scale``/``center``), ``moving_mean``, ``moving_variance``.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.BatchNormalization()
    >>> layer(np.ones((4, 3), "float32")).shape
    (4, 3)
    >>> [w.shape for w in layer.get_weights()]
    [(3,), (3,), (3,), (3,)]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 synchronized: bool = False, renorm: bool = False, renorm_clipping: dict | None = None,
                 renorm_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise ValueError("BatchNormalization(renorm=True) is not supported: batch renormalization is not "
                             "implemented; use renorm=False (the default), or GroupNormalization or "
                             "LayerNormalization for small batches.")
        self.synchronized = bool(synchronized)
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"BatchNormalization axis must be an integer, got {axis!r}.")
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)
        self._axes: list[int] = []
        self.add_hyperparameter("_momentum", self._check_momentum(momentum))
        self.add_hyperparameter("_frozen", 0.0)

    def _check_momentum(self, momentum) -> float:
        value = float(momentum)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"BatchNormalization layer '{self.name}' needs a momentum in [0, 1], got {momentum!r}.")
        return value

    @property
    def momentum(self) -> float:
        """The current momentum of the moving statistics, as a Python float."""
        return _as_float(self._momentum.get_value())

    @momentum.setter
    def momentum(self, value: float) -> None:
        self._set_hyperparameter("_momentum", self._check_momentum(value))

    @property
    def frozen(self) -> bool:
        """Whether the layer normalizes with, and keeps, its moving statistics even in training."""
        return bool(np.asarray(self._frozen.get_value()) > 0.5)

    @frozen.setter
    def frozen(self, value: bool) -> None:
        self._set_hyperparameter("_frozen", 1.0 if value else 0.0)

    def build(self, input_shape):
        self._axes = _normalize_axes(self, [self.axis], input_shape)
        shape = (input_shape[self._axes[0]],)
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer, regularizer=self.gamma_regularizer,
                            autocast=False, constraint=self.gamma_constraint)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer, regularizer=self.beta_regularizer,
                            autocast=False, constraint=self.beta_constraint)
        self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", shape, self.moving_variance_initializer, trainable=False)

    def _check_input_shape(self, inputs) -> None:
        _check_axes(self, self._axes, inputs)

    def _batch_moments(self, x, reduce: tuple):
        mask = sample_mask()
        if mask is None:
            return jnp.mean(x, axis=reduce), jnp.var(x, axis=reduce), None
        if tuple(jnp.shape(mask)) != (x.shape[0],):
            raise ValueError(f"BatchNormalization layer '{self.name}' got a sample mask of shape "
                             f"{format_shape(jnp.shape(mask))} for inputs of shape {format_shape(x.shape)}; "
                             "expected one value per batch row.")
        weights = jnp.reshape(jnp.asarray(mask, x.dtype), (x.shape[0],) + (1,) * (x.ndim - 1))
        per_row = int(np.prod([x.shape[a] for a in reduce if a != 0], dtype=np.int64))
        rows = jnp.sum(weights)
        count = jnp.maximum(rows * per_row, 1.0)
        keep = _broadcast_shape(x.ndim, self._axes, [x.shape[self._axes[0]]])
        mean = jnp.sum(x * weights, axis=reduce) / count
        centered = x - jnp.reshape(mean, keep)
        var = jnp.sum(jnp.square(centered) * weights, axis=reduce) / count
        return mean, var, rows > 0

    def call(self, inputs, training: bool = False):
        out_dtype = inputs.dtype
        x = inputs.astype(_compute_dtype(inputs))
        axis = self._axes[0]
        keep = _broadcast_shape(x.ndim, self._axes, [x.shape[axis]])
        reduce = tuple(a for a in range(x.ndim) if a != axis)
        moving_mean = self.moving_mean.get_value().astype(x.dtype)
        moving_var = self.moving_variance.get_value().astype(x.dtype)
        if training and self.trainable:
            mean, var, any_real = self._batch_moments(x, reduce)
            momentum = self._momentum.get_value().astype(x.dtype)
            frozen = self._frozen.get_value() > 0.5
            new_mean = moving_mean * momentum + mean * (1.0 - momentum)
            new_var = moving_var * momentum + var * (1.0 - momentum)
            keep_moving = frozen if any_real is None else jnp.logical_or(frozen, jnp.logical_not(any_real))
            # Array selects, not Python branches: flipping `frozen` must not recompile.
            stat_dtype = self.moving_mean.get_value().dtype
            self.moving_mean.set_value(jnp.where(keep_moving, moving_mean, new_mean).astype(stat_dtype))
            self.moving_variance.set_value(jnp.where(keep_moving, moving_var, new_var).astype(stat_dtype))
            mean = jnp.where(frozen, moving_mean, mean)
            var = jnp.where(frozen, moving_var, var)
        else:
            mean, var = moving_mean, moving_var
        # Keras's formula (ops.batch_normalization), so results agree to float rounding.
        inv = jax.lax.rsqrt(jnp.reshape(var, keep) + self.epsilon)
        if self.scale:
            inv = inv * jnp.reshape(self.gamma.get_value().astype(x.dtype), keep)
        res = -jnp.reshape(mean, keep) * inv
        if self.center:
            res = res + jnp.reshape(self.beta.get_value().astype(x.dtype), keep)
        return (x * inv + res).astype(out_dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": _ser_init(self.beta_initializer),
                "gamma_initializer": _ser_init(self.gamma_initializer),
                "moving_mean_initializer": _ser_init(self.moving_mean_initializer),
                "moving_variance_initializer": _ser_init(self.moving_variance_initializer),
                "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": _constraints.serialize(self.beta_constraint),
                "gamma_constraint": _constraints.serialize(self.gamma_constraint),
                "synchronized": self.synchronized, "renorm": False, "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}


@register_layer
class LayerNormalization(Layer):
    """Normalizes each sample over ``axis``: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    The statistics are the sample's own (no moving averages), so training and
    inference agree.

    Args:
      axis: the axis or list of axes to normalize over (the last by default).
      epsilon: added to the variance.
      center, scale: whether to learn ``beta`` and ``gamma``.
      beta_initializer, gamma_initializer: initializers (Keras names).
      beta_regularizer, gamma_regularizer: penalties added to the loss.
      beta_constraint, gamma_constraint: constraints (``hl.constraints``) applied after each update.
      rms_scaling: Keras 3's deprecated form, ``gamma * x / sqrt(var + epsilon)`` (no mean
        subtracted, no ``beta``; ``gamma`` even with ``scale=False``), kept so that Keras configs
        load; for RMS normalization proper, use ``RMSNormalization``.

    Input and output shapes are the same. Weights (Keras order): ``gamma``, ``beta``,
    each of the normalized axes' shape.

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.LayerNormalization()(np.array([[1.0, 2.0, 3.0]], "float32"))
    >>> [round(float(v), 3) for v in y[0]]
    [-1.224, 0.0, 1.224]
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, rms_scaling: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.rms_scaling = bool(rms_scaling)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, (int, np.integer)) for a in axis):
                raise TypeError(f"LayerNormalization axis must be an integer or a list of integers, got {axis!r}.")
            self.axis: int | list[int] = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"LayerNormalization axis must be an integer or a list of integers, got {axis!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)
        self._axes: list[int] = []

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        self._axes = _normalize_axes(self, axes, input_shape)
        shape = tuple(input_shape[a] for a in self._axes)
        if self.scale or self.rms_scaling:
            self.add_weight("gamma", shape, self.gamma_initializer, regularizer=self.gamma_regularizer,
                            autocast=False, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.add_weight("beta", shape, self.beta_initializer, regularizer=self.beta_regularizer,
                            autocast=False, constraint=self.beta_constraint)

    def _check_input_shape(self, inputs) -> None:
        _check_axes(self, self._axes, inputs)

    def call(self, inputs):
        out_dtype = inputs.dtype
        x = inputs.astype(_compute_dtype(inputs))
        keep = _broadcast_shape(x.ndim, self._axes, [x.shape[a] for a in self._axes])
        axes = tuple(self._axes)
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.var(x, axis=axes, keepdims=True)
        inv = jax.lax.rsqrt(var + self.epsilon)
        if self.scale or self.rms_scaling:
            inv = inv * jnp.reshape(self.gamma.get_value().astype(x.dtype), keep)
        if self.rms_scaling:   # Keras's formula: scaled by the variance, the mean left in
            return (x * inv).astype(out_dtype)
        res = -mean * inv
        if self.center:
            res = res + jnp.reshape(self.beta.get_value().astype(x.dtype), keep)
        return (x * inv + res).astype(out_dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": _ser_init(self.beta_initializer),
                "gamma_initializer": _ser_init(self.gamma_initializer),
                "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": _constraints.serialize(self.beta_constraint),
                "gamma_constraint": _constraints.serialize(self.gamma_constraint)}
