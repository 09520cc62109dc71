"""AugMix: chains of random augmentations, mixed together and with the original image.

Keras 3's arguments and config keys. Each image draws its own chains, mixing
weights and blend (Keras 3.15 draws one set per batch), inside the compiled step:
every candidate operation is computed and each image keeps the one it drew, as
``RandAugment`` does. ``transform_images(images, transformation)`` applies a
transformation dict of Keras's ``AugMix.get_random_transformation``, which is how
the tests compare the numbers with Keras's own layer.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from highlevel.layers.augmentation import RandomContrast, RandomRotation, RandomTranslation, _ImageAugmentation
from highlevel.layers.augmentation_color import RandomColorDegeneration, RandomSharpness, _check_range_factor
from highlevel.layers.augmentation_mix import RandomShear
from highlevel.layers.augmentation_randaugment import posterization_bits, set_operations_factor
from highlevel.layers.augmentation_tone import AutoContrast, Equalization, RandomPosterization, Solarization
from highlevel.layers.base import register_layer
from highlevel.layers.image_ops import _INTERPOLATIONS, _check_choice, _is_number
from highlevel.layers.image_preprocessing import RandomBrightness

__all__ = ["AugMix"]

# Keras's two lists, in Keras's order.
_OPS = ("random_shear", "random_translation", "random_rotation", "random_posterization", "solarization",
        "auto_contrast", "equalization")
_OPS_ALL = _OPS + ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")
_DETERMINISTIC = ("auto_contrast", "equalization")


@functools.partial(jax.jit, static_argnames=("shape",))
def _mixing_weights(key, alpha, *, shape: tuple[int, int]):
    """Each image's chain weights (Dirichlet, ``shape`` (batch, chains)) and blend weight (Beta).

    Both from one draw of log-gamma variables (a Dirichlet is normalized gammas, ``Beta(a, a)`` is
    ``g1 / (g1 + g2)``), so that the step holds one gamma sampler, which is slow to compile.
    """
    batch, chains = shape
    log_gammas = jax.random.loggamma(key, jnp.full((batch, chains + 2), alpha, jnp.float32))
    chain_weights = jax.nn.softmax(log_gammas[:, :chains], axis=-1)
    return chain_weights, jax.nn.sigmoid(log_gammas[:, chains] - log_gammas[:, chains + 1])


@functools.partial(jax.jit, static_argnums=0)
def _eager_augment(graphdef, state, images, key):
    return nnx.merge(graphdef, state)._augment_traced(images, key)


def _check_count(arg: str, value, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"AugMix {arg} must be an integer of at least {low}, got {value!r}.")
    return value


@register_layer
class AugMix(_ImageAugmentation):
    """Mixes ``num_chains`` chains of random augmentations with each image, in training.

    For each image, each chain applies ``chain_depth`` steps, each step one
    operation drawn uniformly from the candidates or, with the same chance as any
    one of them, none. The chains are mixed with weights drawn from a Dirichlet
    distribution of concentration ``alpha``, the mixture blended with the original
    image by a weight drawn from ``Beta(alpha, alpha)``, and the result clipped to
    ``value_range``. The candidates, as Keras's: shear, translation, rotation,
    posterization, solarization, auto contrast and equalization, and with
    ``all_ops`` also brightness, color degeneration, contrast and sharpness, each
    with strength ``factor`` (posterization keeps ``max(1, int(8 * upper))`` bits
    at most). Identity outside training.

    Args:
      value_range: ``(low, high)``, the range of the images' values (default ``(0, 255)``).
      num_chains: how many chains are mixed (default 3).
      chain_depth: how many steps each chain takes, each an operation or none (default 3).
      factor: a number ``f`` in [0, 1], meaning ``(0, f)``, or a pair in [0, 1]:
        the strength range of every operation (default 0.3). Settable between
        steps without recompiling.
      alpha: the concentration of the Dirichlet and Beta draws, a positive number (default 1.0).
      all_ops: whether brightness, color degeneration, contrast and sharpness are
        candidates too (default True).
      interpolation: ``"bilinear"`` (default) or ``"nearest"``, for the geometric operations.
      seed: folded into the step's random key.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input ``(batch, height, width, channels)`` RGB images or one image; output the same shape.

    >>> import highlevel as hl, numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    >>> y = np.asarray(hl.layers.AugMix(num_chains=2, chain_depth=2)(x, training=True))
    >>> y.shape, bool(y.min() >= 0 and y.max() <= 255), bool(np.abs(y - x).max() > 1)
    ((2, 8, 8, 3), True, True)
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), num_chains: int = 3, chain_depth: int = 3,
                 factor: float | Sequence[float] = 0.3, alpha: float = 1.0, all_ops: bool = True,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.num_chains = _check_count("num_chains", num_chains, 1)
        self.chain_depth = _check_count("chain_depth", chain_depth, 0)
        if not _is_number(alpha) or not alpha > 0:
            raise ValueError(f"AugMix alpha must be a positive number, got {alpha!r}.")
        self.alpha = float(alpha)
        if not isinstance(all_ops, bool):
            raise ValueError(f"AugMix all_ops must be True or False, got {all_ops!r}.")
        self.all_ops = all_ops
        self._ops = _OPS_ALL if all_ops else _OPS
        self.interpolation = _check_choice("AugMix", "interpolation", interpolation, _INTERPOLATIONS)
        lower, upper = self._check(factor)
        kw = {"dtype": kwargs.get("dtype")}
        self.random_brightness = RandomBrightness((lower, upper), value_range=value_range, **kw)
        self.value_range = self.random_brightness.value_range
        vr = {"value_range": self.value_range, **kw}
        self.random_shear = RandomShear((lower, upper), (lower, upper), interpolation=interpolation, **kw)
        self.random_translation = RandomTranslation((lower, upper), (lower, upper), interpolation=interpolation,
                                                    **kw)
        self.random_rotation = RandomRotation((lower, upper), interpolation=interpolation, **kw)
        self.random_posterization = RandomPosterization(posterization_bits(upper), **vr)
        self.solarization = Solarization((lower, upper), (lower, upper), **vr)
        self.auto_contrast = AutoContrast(**vr)
        self.equalization = Equalization(**vr)
        self.random_color_degeneration = RandomColorDegeneration((lower, upper), **vr)
        self.random_contrast = RandomContrast((lower, upper), **vr)
        self.random_sharpness = RandomSharpness((lower, upper), **vr)

    @staticmethod
    def _check(factor) -> tuple[float, float]:
        return _check_range_factor("AugMix", "factor", factor, 0.0, 1.0)

    @property
    def factor(self) -> tuple[float, float]:
        """The ``(lower, upper)`` strength of every operation."""
        return self.random_rotation.factor   # every operation holds the same bounds

    @factor.setter
    def factor(self, value) -> None:
        set_operations_factor(self, self._check(value))

    def _mix(self, images, chains, chain_weights, weight):
        batch = images.shape[0]
        mixed = jnp.zeros_like(images)
        for index, chain in enumerate(chains):
            mixed = mixed + jnp.reshape(chain_weights[..., index], (-1, 1, 1, 1)).astype(images.dtype) * chain
        weight = jnp.reshape(jnp.broadcast_to(jnp.asarray(weight, images.dtype), (batch,)), (batch, 1, 1, 1))
        return jnp.clip(weight * images + (1 - weight) * mixed, *self.value_range)

    def _augment(self, images, key):
        if isinstance(images, jax.core.Tracer):
            return self._augment_traced(images, key)
        # Called eagerly (outside a compiled step): one compiled program, reused by this layer's later
        # calls on the same shapes, rather than every operation dispatched (and compiled) on its own.
        graphdef, state = nnx.split(self)
        return _eager_augment(graphdef, state, images, key)

    def _augment_traced(self, images, key):
        batch = images.shape[0]
        key_weights, key_chains = jax.random.split(key)
        chain_weights, weight = _mixing_weights(key_weights, self.alpha, shape=(batch, self.num_chains))
        # The chains of all images as one batch, chain by chain: each (chain, image) draws its own
        # operations, and one scan over the steps traces every candidate once, not once per step.
        chains = jnp.concatenate([images] * self.num_chains, axis=0)
        if self.chain_depth:
            chains, _ = jax.lax.scan(self._step, chains, jax.random.split(key_chains, self.chain_depth))
        chains = jnp.reshape(chains, (self.num_chains,) + images.shape)
        return self._mix(images, [chains[i] for i in range(self.num_chains)], chain_weights, weight)

    def _step(self, chains, key):
        count = chains.shape[0]
        key_choice, *op_keys = jax.random.split(key, len(self._ops) + 1)
        # len(self._ops) is Keras's None: the step does nothing.
        choice = jnp.reshape(jax.random.randint(key_choice, (count,), 0, len(self._ops) + 1), (count, 1, 1, 1))
        out = chains
        for index, (name, op_key) in enumerate(zip(self._ops, op_keys)):
            out = jnp.where(choice == index, getattr(self, name)._augment(chains, op_key), out)
        return out, None

    def transform_images(self, images, transformation: dict, training: bool = True):
        """Applies Keras's transformation (``chain_mixing_weights``, ``weight_sample`` and
        ``chain_transforms``, a list per chain of ``{"layer_name", "transformation"}``) to a
        channels_last batch: the same parameters give the same images as Keras's layer."""
        images = jnp.asarray(images).astype(self.compute_dtype)
        if not training or transformation is None:
            return images
        chains = []
        for steps in transformation["chain_transforms"]:
            chain = images
            for step in steps:
                layer = getattr(self, step["layer_name"])
                if step["layer_name"] in _DETERMINISTIC:
                    chain = layer._apply(chain, None)
                else:
                    chain = layer.transform_images(chain, step["transformation"])
            chains.append(chain)
        weights = jnp.asarray(transformation["chain_mixing_weights"], jnp.float32)
        return self._mix(images, chains, weights, transformation["weight_sample"])

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range), "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": list(self.factor), "alpha": self.alpha,
                "all_ops": self.all_ops, "interpolation": self.interpolation}
