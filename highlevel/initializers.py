"""Weight initializers by Keras name: ``init(key, shape, dtype) -> array``.

Fans are computed as Keras computes them (the receptive field times the input or
output channels for convolution kernels), so the distributions match Keras's.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
           "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "get", "serialize"]


def _sample(draw, key, shape, dtype, scale: float = 1.0):
    """``scale * draw(key, shape, dtype)``, with one compiled sampler per power-of-two size.

    Drawn eagerly, every new weight shape would compile its own random kernel (81 for
    EfficientNetB0, most of its 39 s first build). JAX's threefry generator computes each
    element from its flat index alone, so drawing the size rounded up to a power of two
    and keeping the first elements gives the same values, bit for bit (a test checks
    it); the cut and the scaling happen on the host. Under a trace it draws directly.
    """
    n = int(np.prod(shape))
    if isinstance(key, jax.core.Tracer) or n == 0:
        out = draw(key, tuple(shape), dtype)
        return out if scale == 1.0 else scale * out
    size = 1 << max(n - 1, 0).bit_length()
    flat = np.asarray(draw(key, (size,), dtype))[:n].reshape(shape)
    if scale != 1.0:
        flat = flat * np.asarray(scale, flat.dtype)
    return jax.device_put(flat)  # jnp.asarray would compile a staging copy per shape


class Initializer:
    """Abstract: ``initializer(key, shape, dtype) -> array``."""

    def __call__(self, key, shape, dtype=jnp.float32):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = jax.random.key(self.seed) if self.seed is not None else key
        out = _sample(jax.random.normal, key, shape, dtype, self.stddev)
        return out if self.mean == 0 else self.mean + out

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = jax.random.key(self.seed) if self.seed is not None else key
        lo, hi = self.minval, self.maxval
        return _sample(lambda k, s, d: jax.random.uniform(k, s, d, lo, hi), key, shape, dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = jax.random.key(self.seed) if self.seed is not None else key
        out = _sample(lambda k, s, d: jax.random.truncated_normal(k, -2.0, 2.0, s, d), key, shape, dtype,
                      self.stddev)
        return out if self.mean == 0 else self.mean + out

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _fans(shape) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = 1
    for dim in shape[:-2]:
        receptive *= dim
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: scale / fan, normal (truncated) or uniform."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling mode must be fan_in, fan_out or fan_avg, got {mode!r}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling distribution must be truncated_normal, "
                             f"untruncated_normal or uniform, got {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = jax.random.key(self.seed) if self.seed is not None else key
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            stddev = (variance ** 0.5) / 0.87962566103423978
            return _sample(lambda k, s, d: jax.random.truncated_normal(k, -2.0, 2.0, s, d), key, shape, dtype,
                           stddev)
        if self.distribution == "untruncated_normal":
            return _sample(jax.random.normal, key, shape, dtype, variance ** 0.5)
        limit = (3.0 * variance) ** 0.5
        return _sample(lambda k, s, d: jax.random.uniform(k, s, d, -limit, limit), key, shape, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _Preset(VarianceScaling):
    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        key = jax.random.key(self.seed) if self.seed is not None else key
        return jax.nn.initializers.orthogonal(scale=self.gain)(key, shape, dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)}
_NAMES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal,
}


def get(identifier) -> Initializer:
    """An initializer from a Keras name, a class name, a config dict, an instance or a callable."""
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, (str, type))):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer {identifier!r}. Known initializers: "
                             f"{', '.join(sorted(_NAMES))}.")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"]) or _NAMES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown initializer {identifier['class_name']!r}. Known "
                             f"initializers: {', '.join(sorted(_CLASSES))}.")
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(f"An initializer must be a name, a dict or an Initializer, got {identifier!r}.")


def serialize(init) -> Any:
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    raise ValueError(f"Cannot serialize the initializer {init!r}; use an hl.initializers class.")
