"""Noise layers: GaussianNoise, GaussianDropout and AlphaDropout, active in training only (as Keras's).

Their ``stddev`` and ``rate`` are arrays in the model state (``Hyperparameter``), as
``Dropout``'s rate: changing them between compiled steps never recompiles. The noise is
drawn from the step's random key (``next_rng_key``), so it follows
``hl.utils.set_random_seed`` and differs at every step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, next_rng_key, register_layer

__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout"]


def _as_float(value) -> float:
    return float(str(np.float32(np.asarray(value))))


def _check(layer: str, arg: str, value, upper: float | None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= 0.0 or (upper is not None and not number < upper):
        span = f"in [0, {upper:g})" if upper is not None else "a non-negative number"
        raise ValueError(f"{layer} `{arg}` must be {span}, got {value!r}.")
    return number


def _check_seed(layer: str, seed) -> int | None:
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"{layer} `seed` must be a non-negative integer or None, got {seed!r}.")
    return None if seed is None else int(seed)


def _key(seed):
    key = next_rng_key()
    return key if seed is None else jax.random.fold_in(key, seed)


@register_layer
class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training (identity otherwise).

    Args:
      stddev: the noise's standard deviation (``layer.stddev = ...`` changes it without
        recompiling).
      seed: folded into the step's random key, so that two layers draw different noise.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.GaussianNoise(0.5)(np.zeros((100, 100), "float32"), training=True)
    >>> round(float(np.std(y)), 1)
    0.5
    """

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed("GaussianNoise", seed)
        self.add_hyperparameter("_stddev", _check("GaussianNoise", "stddev", stddev, None))

    @property
    def stddev(self) -> float:
        """The current standard deviation, as a Python float."""
        return _as_float(self._stddev.get_value())

    @stddev.setter
    def stddev(self, value: float) -> None:
        self._set_hyperparameter("_stddev", _check("GaussianNoise", "stddev", value, None))

    def call(self, inputs, training: bool = False):
        if not training:
            return inputs
        noise = jax.random.normal(_key(self.seed), inputs.shape, inputs.dtype)
        return inputs + self._stddev.get_value().astype(inputs.dtype) * noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register_layer
class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))`` in training.

    Args:
      rate: the drop probability of the equivalent Dropout, in [0, 1) (``layer.rate = ...``
        changes it without recompiling).
      seed: folded into the step's random key, so that two layers draw different noise.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> y = hl.layers.GaussianDropout(0.5)(np.ones((100, 100), "float32"), training=True)
    >>> round(float(np.mean(y)), 1), round(float(np.std(y)), 1)
    (1.0, 1.0)
    """

    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed("GaussianDropout", seed)
        self.add_hyperparameter("_rate", _check("GaussianDropout", "rate", rate, 1.0))

    @property
    def rate(self) -> float:
        """The current rate, as a Python float."""
        return _as_float(self._rate.get_value())

    @rate.setter
    def rate(self, value: float) -> None:
        self._set_hyperparameter("_rate", _check("GaussianDropout", "rate", value, 1.0))

    def call(self, inputs, training: bool = False):
        if not training:
            return inputs
        rate = self._rate.get_value().astype(inputs.dtype)
        stddev = jnp.sqrt(rate / (1.0 - rate))
        noise = jax.random.normal(_key(self.seed), inputs.shape, inputs.dtype)
        return inputs * (1.0 + stddev * noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# SELU's constants (Klambauer et al. 2017), as Keras writes them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_noise_shape(layer: str, noise_shape) -> tuple | None:
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(f"{layer} `noise_shape` must be a tuple of positive integers or None, got {noise_shape!r}.")
    dims = tuple(noise_shape)
    if not all(d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0) for d in dims):
        raise ValueError(f"{layer} `noise_shape` must be a tuple of positive integers or None, got {noise_shape!r}.")
    return tuple(None if d is None else int(d) for d in dims)


@register_layer
class AlphaDropout(Layer):
    """Dropout for SELU networks: keeps the inputs' mean and variance by setting dropped units to SELU's floor.

    In training each unit is dropped with probability ``rate`` and set to
    ``alpha' = -1.7581`` (SELU's negative saturation), then all are mapped by
    ``a * x + b`` with ``a = ((1 - rate) * (1 + rate * alpha'**2)) ** -0.5`` and
    ``b = -a * alpha' * rate``, Keras 3's formula, so zero-mean unit-variance inputs
    stay so. The identity outside training.

    Args:
      rate: the drop probability, in [0, 1) (``layer.rate = ...`` changes it without
        recompiling).
      noise_shape: the shape of the keep/drop mask, broadcast to the input (None
        entries take the input's size).
      seed: folded into the step's random key, so that two layers draw different masks.

    Input and output shapes are the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> x = np.random.default_rng(0).standard_normal((200, 500)).astype("float32")
    >>> y = np.asarray(hl.layers.AlphaDropout(0.3)(x, training=True))
    >>> abs(float(y.mean())) < 0.05, round(float(y.std()), 1)
    (True, 1.0)
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.noise_shape = _check_noise_shape("AlphaDropout", noise_shape)
        self.seed = _check_seed("AlphaDropout", seed)
        self.add_hyperparameter("_rate", _check("AlphaDropout", "rate", rate, 1.0))

    @property
    def rate(self) -> float:
        """The current rate, as a Python float."""
        return _as_float(self._rate.get_value())

    @rate.setter
    def rate(self, value: float) -> None:
        self._set_hyperparameter("_rate", _check("AlphaDropout", "rate", value, 1.0))

    def _mask_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"AlphaDropout layer '{self.name}' has noise_shape {format_shape(self.noise_shape)}, "
                             f"which does not fit inputs of shape {format_shape(shape)}: give one entry per "
                             "input dimension (None for the input's size).")
        return tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))

    def call(self, inputs, training: bool = False):
        if not training:
            return inputs
        rate = self._rate.get_value().astype(inputs.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        # Rate 0 keeps every unit (uniform draws are >= 0) with a = 1 and b = 0: the identity.
        kept = jax.random.uniform(_key(self.seed), self._mask_shape(tuple(inputs.shape))) >= rate
        a = ((1.0 - rate) * (1.0 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        return a * jnp.where(kept, inputs, jnp.asarray(alpha_p, inputs.dtype)) + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}
