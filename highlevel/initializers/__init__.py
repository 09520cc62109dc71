"""Weight initializers by Keras name: ``init(key, shape, dtype) -> array``.

Fans are computed as Keras computes them (the receptive field times the input or
output channels for convolution kernels), so the distributions match Keras's.
Given a concrete key, the values are drawn on the host with NumPy from a generator
seeded by the key's data and copied to the device once, so building a model compiles
nothing; under a trace they are drawn with ``jax.random``.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.initializers.base import Initializer, host_rng
from highlevel.initializers.structured import STFT, Identity, Orthogonal
from highlevel.utils import random as _random
from highlevel.utils.serialization import (CustomObjectScope, class_config, lookup_serializable, resolve_class,
                                          serializable_name)

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
           "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "Identity", "STFT", "OrthogonalInitializer",
           "IdentityInitializer", "STFTInitializer", "zeros", "ones", "constant", "random_normal", "random_uniform",
           "truncated_normal", "variance_scaling", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
           "lecun_normal", "lecun_uniform", "orthogonal", "identity", "stft", "get", "serialize", "deserialize"]


def _draw_traced(kind: str, key, shape, dtype, low: float, high: float):
    if kind == "uniform":
        return jax.random.uniform(key, shape, dtype, low, high)
    if kind == "normal":
        return jax.random.normal(key, shape, dtype)
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)


def _draw_host(kind: str, rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    if kind == "uniform":
        return rng.uniform(low, high, n)
    out = rng.standard_normal(n)
    if kind == "truncated_normal":  # redraw what falls outside [-2, 2] (about 4.6%)
        bad = np.flatnonzero(np.abs(out) > 2.0)
        while bad.size:
            out[bad] = rng.standard_normal(bad.size)
            bad = bad[np.abs(out[bad]) > 2.0]
    return out


def _sample(kind: str, key, shape, dtype, scale: float = 1.0, offset: float = 0.0,
            low: float = 0.0, high: float = 1.0):
    """``offset + scale * draw``, ``draw`` one of ``"uniform"`` (on ``[low, high)``),
    ``"normal"`` or ``"truncated_normal"`` (the standard normal cut at +-2).

    A concrete key draws on the host with NumPy, from a generator seeded by the key's data,
    and copies the result over once: nothing compiles (drawn with ``jax.random``, every size
    compiled its own sampler, about 0.13 s each on a CPU: a third of a small model's time to
    its first step, and most of EfficientNetB0's first build). Under a trace (a traced key)
    it draws with ``jax.random``. Either way the same key gives the same values; the two
    ways give different values.
    """
    shape = tuple(int(d) for d in shape)
    if isinstance(key, jax.core.Tracer):
        out = _draw_traced(kind, key, shape, dtype, low, high)
        out = out if scale == 1.0 else scale * out
        return out if offset == 0.0 else offset + out
    values = _draw_host(kind, host_rng(key), int(np.prod(shape)), low, high)
    values = (offset + scale * values).reshape(shape).astype(jnp.dtype(dtype))
    return jax.device_put(values)  # jnp.asarray would compile a staging copy per shape


def _key(seed, key):
    """The key an initializer draws from: its own seed's when it has one."""
    return key if seed is None else _random.host_key(seed)


class Zeros(Initializer):
    """Fills weights with zeros (Keras's ``"zeros"``, the default bias initializer).

        Takes no arguments; called as ``init(key, shape, dtype=float32)``.

        >>> import highlevel as hl, jax
        >>> print(hl.initializers.Zeros()(jax.random.key(0), (2, 2)))
        [[0. 0.]
         [0. 0.]]
    """
    def __call__(self, key, shape, dtype=jnp.float32):
        # Made on the host and copied: jnp.zeros would compile a program per shape.
        return jax.device_put(np.zeros(shape, dtype))


class Ones(Initializer):
    """Fills weights with ones (Keras's ``"ones"``, e.g. a batch-norm ``gamma``).

        Takes no arguments; called as ``init(key, shape, dtype=float32)``.

        >>> import highlevel as hl, jax
        >>> print(hl.initializers.Ones()(jax.random.key(0), (3,)))
        [1. 1. 1.]
    """
    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.device_put(np.ones(shape, dtype))


class Constant(Initializer):
    """Fills weights with one constant value.

        Args:
            value: The value every element takes.

        >>> import highlevel as hl, jax
        >>> print(hl.initializers.Constant(0.5)(jax.random.key(0), (3,)))
        [0.5 0.5 0.5]
    """
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.device_put(np.full(shape, self.value, dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Draws weights from a normal distribution ``N(mean, stddev**2)``.

        Args:
            mean: The mean of the distribution.
            stddev: Its standard deviation (Keras's default, 0.05).
            seed: An integer seed; when given, every call draws the same values.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.RandomNormal(stddev=0.1, seed=0)(jax.random.key(0), (100, 10))
        >>> w.shape, round(float(w.std()), 1)
        ((100, 10), 0.1)
    """
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return _sample("normal", _key(self.seed, key), shape, dtype, self.stddev, self.mean)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Draws weights uniformly from ``[minval, maxval)``.

        Args:
            minval: The lower bound.
            maxval: The upper bound (exclusive).
            seed: An integer seed; when given, every call draws the same values.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.RandomUniform(-1.0, 1.0, seed=0)(jax.random.key(0), (4, 5))
        >>> w.shape, bool((w >= -1).all() and (w < 1).all())
        ((4, 5), True)
    """
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return _sample("uniform", _key(self.seed, key), shape, dtype, low=self.minval, high=self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Draws weights from a normal distribution cut at two standard deviations.

        Args:
            mean: The mean of the distribution.
            stddev: The standard deviation before truncation (Keras's default, 0.05).
            seed: An integer seed; when given, every call draws the same values.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.TruncatedNormal(stddev=1.0, seed=0)(jax.random.key(0), (50, 4))
        >>> w.shape, bool(abs(w).max() <= 2.0)
        ((50, 4), True)
    """
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return _sample("truncated_normal", _key(self.seed, key), shape, dtype, self.stddev, self.mean)

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
    """Keras's VarianceScaling: variance ``scale / n``, ``n`` a fan, from a normal or uniform.

    Args:
        scale: The scaling factor of the variance (positive).
        mode: Which fan ``n`` is: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"`` (their mean).
        distribution: ``"truncated_normal"`` (``"normal"`` is an alias), ``"untruncated_normal"``
            or ``"uniform"``.
        seed: An integer seed; when given, every call draws the same values.
        input_axes, output_axes: Keras 3's: the axes whose sizes multiply into ``fan_in`` and
            ``fan_out`` (both given, or neither for Keras's default fans).

    Called as ``init(key, shape, dtype=float32)``; fans as Keras computes them.

    >>> import highlevel as hl, jax
    >>> init = hl.initializers.VarianceScaling(2.0, "fan_in", "uniform", seed=0)
    >>> w = init(jax.random.key(0), (3, 4))
    >>> w.shape, bool(abs(w).max() <= 2.0 ** 0.5)
    ((3, 4), True)
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes: Sequence[int] | None = None, output_axes: Sequence[int] | None = None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling mode must be fan_in, fan_out or fan_avg, got {mode!r}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling distribution must be truncated_normal, "
                             f"untruncated_normal or uniform, got {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]

    def __call__(self, key, shape, dtype=jnp.float32):
        key = _key(self.seed, key)
        if self.input_axes is not None and self.output_axes is not None:   # Keras's compute_fans
            fan_in = float(np.prod([shape[a] for a in self.input_axes]))
            fan_out = float(np.prod([shape[a] for a in self.output_axes]))
        else:
            fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            stddev = (variance ** 0.5) / 0.87962566103423978
            return _sample("truncated_normal", key, shape, dtype, stddev)
        if self.distribution == "untruncated_normal":
            return _sample("normal", key, shape, dtype, variance ** 0.5)
        limit = (3.0 * variance) ** 0.5
        return _sample("uniform", key, shape, dtype, low=-limit, high=limit)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.GlorotUniform(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= (6 / 7) ** 0.5)
        ((3, 4), True)
    """
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.GlorotNormal(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= 2 * (2 / 7) ** 0.5 / 0.8796)
        ((3, 4), True)
    """
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Preset):
    """He normal: truncated normal with ``stddev = sqrt(2 / fan_in)``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.HeNormal(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= 2 * (2 / 3) ** 0.5 / 0.8796)
        ((3, 4), True)
    """
    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: ``U(-limit, limit)`` with ``limit = sqrt(6 / fan_in)``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.HeUniform(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= (6 / 3) ** 0.5)
        ((3, 4), True)
    """
    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with ``stddev = sqrt(1 / fan_in)``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.LecunNormal(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= 2 * (1 / 3) ** 0.5 / 0.8796)
        ((3, 4), True)
    """
    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: ``U(-limit, limit)`` with ``limit = sqrt(3 / fan_in)``.

        Args:
            seed: An integer seed; when given, every call draws the same values (ignoring
                the key it is passed), as Keras's seeded initializers do.
            input_axes, output_axes: Keras 3's: the axes whose sizes multiply into the fans
                (both given, or neither for the default fans).

        Called as ``init(key, shape, dtype=float32)``; returns an array of ``shape``. Fans
        are Keras's: for a kernel of shape ``(*receptive, in, out)``, ``fan_in = in * prod(receptive)``.

        >>> import highlevel as hl, jax
        >>> w = hl.initializers.LecunUniform(seed=0)(jax.random.key(0), (3, 4))
        >>> w.shape, bool(abs(w).max() <= (3 / 3) ** 0.5)
        ((3, 4), True)
    """
    _preset = (1.0, "fan_in", "uniform")



_CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, Identity, STFT)}
# Keras's lower-case aliases of the classes (``keras.initializers.glorot_uniform is GlorotUniform``).
zeros, ones, constant, random_normal, random_uniform, truncated_normal = (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal)
variance_scaling, glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, lecun_uniform = (
    VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform)
orthogonal, identity, stft = Orthogonal, Identity, STFT
OrthogonalInitializer, IdentityInitializer, STFTInitializer = Orthogonal, Identity, STFT
_NAMES = {name: globals()[name] for name in __all__ if name[0].islower() and name not in ("get", "serialize",
                                                                                          "deserialize")}
#: Keras's short aliases (``add_weight(initializer="uniform")`` in Keras code).
_ALIASES = {"uniform": RandomUniform, "normal": RandomNormal, "one": Ones, "zero": Zeros,
            "OrthogonalInitializer": Orthogonal, "IdentityInitializer": Identity, "STFTInitializer": STFT}


def get(identifier) -> Initializer:
    """An initializer from a Keras name, a class name, a config dict, an instance or a callable.

    Args:
        identifier: A Keras name (``"glorot_uniform"``), a class name (``"GlorotUniform"``),
            a config dict as :func:`serialize` writes, an :class:`Initializer` or any
            ``fn(key, shape, dtype)`` (both returned as they are).

    Returns:
        The initializer.

    >>> import highlevel as hl
    >>> type(hl.initializers.get("he_normal")).__name__
    'HeNormal'
    >>> hl.initializers.get({"class_name": "Constant", "config": {"value": 3.0}}).value
    3.0
    """
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, (str, type))):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier) or _ALIASES.get(identifier)
        if cls is None:
            found = lookup_serializable(identifier)   # a user's registered (or lent) initializer
            if found is None:
                raise ValueError(f"Unknown initializer {identifier!r}. Known initializers: "
                                 f"{', '.join(sorted(_NAMES))}; a custom one must be registered with "
                                 "@hl.saving.register_keras_serializable() before loading.")
            return found() if isinstance(found, type) else found
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        known = {**_NAMES, **_CLASSES, **_ALIASES}
        cls = resolve_class(identifier, known, "initializer", ", ".join(sorted(_CLASSES)))
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(f"An initializer must be a name, a dict or an Initializer, got {identifier!r}.")


def serialize(init) -> Any:
    """Keras's config dict of an initializer: ``{"class_name": ..., "config": ...}``.

        Args:
            init: An :class:`Initializer` instance.

        Returns:
            A dict that :func:`get` turns back into an equal initializer.

        >>> import highlevel as hl
        >>> hl.initializers.serialize(hl.initializers.Constant(2.0))
        {'class_name': 'Constant', 'config': {'value': 2.0}}
    """
    if isinstance(init, Initializer):
        return class_config(init)
    name = serializable_name(init)
    if name is not None:   # a user's registered function
        return name
    raise ValueError(f"Cannot serialize the initializer {init!r}: use an hl.initializers class, or register "
                     "your own with @hl.saving.register_keras_serializable().")


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Initializer:
    """The initializer a config names, as Keras's ``initializers.deserialize``.

    Args:
        config: A dict as :func:`serialize` writes (Keras's too), or a name (``"identity"``).
        custom_objects: ``{name: class or function}`` for initializers of your own.

    Returns:
        A new initializer.

    >>> import highlevel as hl
    >>> hl.initializers.deserialize({"class_name": "Identity", "config": {"gain": 2.0}}).gain
    2.0
    """
    with CustomObjectScope(custom_objects or {}):
        return get(config)
