"""``hl.random``: Keras 3's ``keras.random`` (``normal``, ``uniform``, ``dropout``, ``SeedGenerator``...).

Every function takes Keras's ``seed``:

- an ``int``: the same draw every call (the key ``[seed, 0]``, as Keras's, so the numbers
  equal ``keras.random``'s on the JAX backend);
- a :class:`SeedGenerator`: its next key. Outside ``fit`` that is its own stream (keys
  ``[seed, 0]``, ``[seed, 1]``..., again Keras's); inside a compiled step (a layer's
  ``call`` during ``fit``) it is drawn from the step's key, so each step gets fresh
  numbers without the generator's state entering the compiled function;
- ``None``: inside a compiled step the step's key, else the global generator
  (``hl.utils.set_random_seed``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.ops.image_transform import set_seed_resolver as _set_seed_resolver
from highlevel.utils import random as _random

__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "dropout", "shuffle", "categorical",
           "gamma", "beta", "binomial"]


class SeedGenerator(_random.SeedGenerator):
    """A stream of random keys for layers and ``hl.random`` calls (Keras's ``keras.random.SeedGenerator``).

    Key ``n`` of the stream is ``[seed, n]`` (Keras's), so ``hl.random.normal(shape,
    seed=SeedGenerator(7))`` draws what Keras draws. Inside a compiled step, ``next()``
    derives the key from the step's key instead (fresh each step, no recompilation).

    Args:
        seed: An integer (None: a random one).
        name: A name, for Keras compatibility.
        **kwargs: Keras's ``backend`` argument is accepted and ignored (the backend is JAX).

    >>> import highlevel as hl
    >>> gen = hl.random.SeedGenerator(7)
    >>> a, b = hl.random.uniform((2,), seed=gen), hl.random.uniform((2,), seed=gen)
    >>> bool((a != b).all()), gen.count
    (True, 2)
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"SeedGenerator got unexpected arguments: {', '.join(sorted(kwargs))}.")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31 - 1))
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"SeedGenerator: seed must be an integer, got {seed!r}.")
        super().__init__(int(seed))
        self.name = name or "seed_generator"

    def next(self, ordered: bool = True) -> jax.Array:
        """The next key: from the running compiled step inside one, else ``[seed, count]``.

        Args:
            ordered: Accepted for Keras compatibility (keys are always taken in order).
        """
        key = _random.step_key()
        if key is not None:
            return key
        key = _raw_key(self.seed, self.count)
        self.count += 1
        return key

    @property
    def state(self) -> np.ndarray:
        """Keras's state: ``[seed, number of keys drawn]``."""
        return np.array([self.seed & 0xFFFFFFFF, self.count], np.uint32)

    def get_config(self) -> dict:
        """The constructor arguments."""
        return {"seed": self.seed, "name": self.name}


def _raw_key(seed: int, count: int) -> jax.Array:
    return jax.random.wrap_key_data(np.array([seed & 0xFFFFFFFF, count & 0xFFFFFFFF], np.uint32))


def _key(seed) -> jax.Array:
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, _random.SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return _raw_key(int(seed), 0)
    if seed is None:
        key = _random.step_key()
        return key if key is not None else _random.next_key()
    if isinstance(seed, jax.Array):
        return seed if jnp.issubdtype(seed.dtype, jax.dtypes.prng_key) else jax.random.wrap_key_data(
            jnp.asarray(seed, jnp.uint32))
    raise ValueError(f"seed must be an int, a hl.random.SeedGenerator, a JAX key or None, got {seed!r}.")


def _float(dtype):
    return jnp.dtype(dtype or "float32")


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution.

    Args:
        shape: The shape of the result.
        mean: The mean.
        stddev: The standard deviation.
        dtype: A float dtype (float32 by default).
        seed: An int, a ``SeedGenerator`` or None (see the module).

    >>> import highlevel as hl
    >>> hl.random.normal((2, 3), seed=0).shape
    (2, 3)
    """
    return jax.random.normal(_key(seed), shape=tuple(shape), dtype=_float(dtype)) * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from a uniform distribution on ``[minval, maxval)``.

    Args:
        shape: The shape of the result.
        minval: The lower bound (included).
        maxval: The upper bound (excluded).
        dtype: A float dtype (float32 by default).
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> x = hl.random.uniform((100,), minval=2.0, maxval=3.0, seed=1)
    >>> bool((x >= 2.0).all() and (x < 3.0).all())
    True
    """
    return jax.random.uniform(_key(seed), shape=tuple(shape), dtype=_float(dtype), minval=minval, maxval=maxval)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Samples integers uniformly from ``[minval, maxval)``.

    Args:
        shape: The shape of the result.
        minval: The lower bound (included).
        maxval: The upper bound (excluded).
        dtype: An integer dtype.
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> x = hl.random.randint((50,), 0, 3, seed=2)
    >>> sorted(set(x.tolist()))
    [0, 1, 2]
    """
    return jax.random.randint(_key(seed), shape=tuple(shape), minval=minval, maxval=maxval, dtype=jnp.dtype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution truncated to two standard deviations.

    Args:
        shape: The shape of the result.
        mean: The mean.
        stddev: The standard deviation (before truncation).
        dtype: A float dtype (float32 by default).
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> bool((abs(hl.random.truncated_normal((1000,), seed=3)) <= 2.0).all())
    True
    """
    sample = jax.random.truncated_normal(_key(seed), -2.0, 2.0, shape=tuple(shape), dtype=_float(dtype))
    return sample * stddev + mean


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes entries with probability ``rate`` and scales the rest by ``1 / (1 - rate)``.

    Args:
        inputs: The tensor.
        rate: The probability of zeroing an entry.
        noise_shape: The shape of the mask, broadcast over ``inputs`` (None entries: the
            input's size); None for one mask entry per input entry.
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl, numpy as np
    >>> out = hl.random.dropout(np.ones((4, 4), "float32"), 0.5, seed=0)
    >>> sorted(set(np.asarray(out).ravel().tolist()))
    [0.0, 2.0]
    """
    inputs = jnp.asarray(inputs)
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    keep = 1.0 - rate
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    mask = jnp.broadcast_to(jax.random.bernoulli(_key(seed), p=keep, shape=shape), inputs.shape)
    return jax.lax.select(mask, inputs / keep, jnp.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order.

    Args:
        x: The tensor.
        axis: The axis to shuffle along.
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl, numpy as np
    >>> sorted(hl.random.shuffle(np.arange(5), seed=0).tolist())
    [0, 1, 2, 3, 4]
    """
    return jax.random.permutation(_key(seed), jnp.asarray(x), axis, independent=True)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Samples class indices from the categorical distributions of each row of ``logits``.

    Args:
        logits: Unnormalized log-probabilities, ``(batch, classes)``.
        num_samples: The number of samples per row.
        dtype: An integer dtype.
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl, numpy as np
    >>> hl.random.categorical(np.array([[0.0, -1e9]]), 3, seed=0).tolist()
    [[0, 0, 0]]
    """
    logits = jnp.asarray(logits)
    shape = list(logits.shape)
    shape[1] = num_samples
    out = jax.random.categorical(_key(seed), logits[..., None], shape=tuple(shape), axis=1)
    return out.astype(jnp.dtype(dtype))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from gamma distributions of shape ``alpha`` (scale 1).

    Args:
        shape: The shape of the result.
        alpha: The shape parameter(s).
        dtype: A float dtype (float32 by default).
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> bool((hl.random.gamma((10,), 2.0, seed=0) > 0).all())
    True
    """
    return jax.random.gamma(_key(seed), alpha, shape=tuple(shape), dtype=_float(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from beta distributions ``Beta(alpha, beta)``.

    Args:
        shape: The shape of the result.
        alpha: The first shape parameter(s).
        beta: The second shape parameter(s).
        dtype: A float dtype (float32 by default).
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> x = hl.random.beta((10,), 2.0, 3.0, seed=0)
    >>> bool(((x > 0) & (x < 1)).all())
    True
    """
    return jax.random.beta(_key(seed), jnp.asarray(alpha), jnp.asarray(beta), shape=tuple(shape), dtype=_float(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from binomial distributions of ``counts`` trials with success ``probabilities``.

    Args:
        shape: The shape of the result.
        counts: The number(s) of trials.
        probabilities: The success probability(ies).
        dtype: A float dtype (float32 by default, as Keras).
        seed: An int, a ``SeedGenerator`` or None.

    >>> import highlevel as hl
    >>> hl.random.binomial((3,), 5, 1.0, seed=0).tolist()
    [5.0, 5.0, 5.0]
    """
    return jax.random.binomial(_key(seed), jnp.asarray(counts), jnp.asarray(probabilities), shape=tuple(shape),
                               dtype=_float(dtype))


# ops.image.elastic_transform draws its noise from a seed as every function here does.
_set_seed_resolver(_key)
