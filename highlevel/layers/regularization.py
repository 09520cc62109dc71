"""Regularization layers: Dropout and SpatialDropout1D/2D/3D, with a rate a callback may change without recompiling."""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, keep_mask, next_rng_key, register_layer
from highlevel.layers.convolutional import check_data_format

__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]


def _check_rate(layer_name: str, rate) -> float:
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Dropout layer '{layer_name}' needs a rate in [0, 1) (the fraction of inputs "
                         f"to drop), got {rate!r}.")
    return value


def _as_float(value) -> float:
    # The shortest decimal that is this float32 (0.3, not 0.30000001192092896).
    return float(str(np.float32(np.asarray(value))))


@register_layer
class Dropout(Layer):
    """Sets a random fraction ``rate`` of the inputs to 0 in training, scaling the rest by ``1/(1-rate)``.

    Unlike Keras, the rate is an array in the model state (a ``Hyperparameter``):
    ``layer.rate = 0.1`` between compiled steps changes the next step without
    recompiling it, which is what ``hl.callbacks.DropoutScheduler`` does.
    Outside training the layer is the identity.

    Args:
      rate: the fraction of inputs to drop, in [0, 1).
      noise_shape: the shape of the keep/drop mask, broadcast to the input (None
        entries take the input's size), e.g. ``(None, 1, features)`` to drop whole
        features for every timestep.
      seed: folded into the step's random key, so that two layers given different
        seeds draw different masks; the masks still follow ``hl.utils.set_random_seed``
        and the trainer's per-step key.

    Input and output shapes are the same.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.Dropout(0.5)
    >>> y = layer(np.ones((2, 1000), "float32"), training=True)
    >>> sorted(set(np.asarray(y).ravel().tolist()))
    [0.0, 2.0]
    >>> layer.rate = 0.25; layer.rate
    0.25
    """

    supports_masking = True  # passes the input's Keras mask on, as Keras's

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if noise_shape is not None:
            if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
                raise ValueError(f"Dropout noise_shape must be a tuple of integers or None, got {noise_shape!r}.")
            noise_shape = tuple(noise_shape)
            if not all(d is None or (isinstance(d, (int, np.integer)) and d > 0) for d in noise_shape):
                raise ValueError(f"Dropout noise_shape must hold positive integers or None, got {noise_shape!r}.")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"Dropout seed must be a non-negative integer or None, got {seed!r}.")
        self.noise_shape = noise_shape
        self.seed = None if seed is None else int(seed)
        self.add_hyperparameter("_rate", _check_rate(self.name, rate))

    @property
    def rate(self) -> float:
        """The current dropout rate, as a Python float."""
        return _as_float(self._rate.get_value())

    @rate.setter
    def rate(self, value: float) -> None:
        self._set_hyperparameter("_rate", _check_rate(self.name, value))

    def _mask_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"Dropout layer '{self.name}' has noise_shape {format_shape(self.noise_shape)}, "
                             f"which does not fit inputs of shape {format_shape(shape)}: give one entry per "
                             "input dimension (None for the input's size).")
        return tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))

    def call(self, inputs, training: bool = False):
        if not training:
            return inputs
        key = next_rng_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        rate = self._rate.get_value().astype(inputs.dtype)
        # Rate 0 keeps everything and divides by 1, the identity.
        keep = jnp.broadcast_to(keep_mask(key, rate, self._mask_shape(tuple(inputs.shape))), inputs.shape)
        keep_prob = 1.0 - rate
        scale = jnp.where(keep_prob > 0, 1.0 / jnp.where(keep_prob > 0, keep_prob, 1.0), 0.0)
        return jnp.where(keep, inputs * scale, jnp.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}


class _SpatialDropout(Dropout):
    """Abstract: Dropout of whole channels (one keep/drop draw per sample and channel)."""

    rank = 0

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None, **kwargs):
        data_format = check_data_format(data_format, type(self).__name__)
        # One draw per sample and channel, wherever the channels are.
        noise_shape = ((None, None) + (1,) * self.rank if data_format == "channels_first"
                       else (None,) + (1,) * self.rank + (None,))
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        self.data_format = data_format

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


_SPATIAL_DOC = """Drops whole channels: each sample's channel is zeroed at every {where} with probability ``rate``.

    Use it where neighbouring {where}s are strongly correlated (after convolutions), where
    ordinary dropout of single entries regularizes little. The rate is an array in the model
    state, as ``Dropout``'s: ``layer.rate = 0.1`` changes it without recompiling.

    Args:
      rate: the fraction of channels to drop, in [0, 1).
      seed: folded into the step's random key (see ``Dropout``).{data_format}

    Input shape ``{layout}``; output the same. No weights.

    >>> import highlevel as hl, numpy as np
    >>> y = np.asarray(hl.layers.{name}(0.5)(np.ones({shape}, "float32"), training=True))
    >>> sorted(set(y.reshape(-1, y.shape[-1]).std(axis=0).round(3).tolist()))
    [0.0]
    """

_DATA_FORMAT_ARG = """
      data_format: ``"channels_last"`` (None means it) or ``"channels_first"`` (channels on axis 1)."""


@register_layer
class SpatialDropout1D(_SpatialDropout):
    __doc__ = _SPATIAL_DOC.format(where="step", layout="(batch, steps, channels)", name="SpatialDropout1D",
                                  shape="(1, 50, 8)", data_format="")
    rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, seed, "channels_last", **kwargs)   # no data_format in Keras: always channels-last


@register_layer
class SpatialDropout2D(_SpatialDropout):
    __doc__ = _SPATIAL_DOC.format(where="position", layout="(batch, height, width, channels)",
                                  name="SpatialDropout2D", shape="(1, 6, 6, 8)", data_format=_DATA_FORMAT_ARG)
    rank = 2

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(rate, seed, data_format, **kwargs)


@register_layer
class SpatialDropout3D(_SpatialDropout):
    __doc__ = _SPATIAL_DOC.format(where="position", layout="(batch, depth, height, width, channels)",
                                  name="SpatialDropout3D", shape="(1, 3, 4, 4, 8)", data_format=_DATA_FORMAT_ARG)
    rank = 3

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(rate, seed, data_format, **kwargs)
