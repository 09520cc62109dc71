"""Categorical preprocessing: CategoryEncoding, Discretization and Hashing, as Keras's.

``CategoryEncoding`` and ``Discretization`` are ``jax.numpy`` and run anywhere, inside the
compiled step too. ``Hashing`` hashes strings (and integers, through their decimal text,
as TensorFlow does), which no compiled step can hold: it runs on the host, on NumPy or
Python data, before ``fit`` (``x = layer(x)``) or in a data pipeline. Its bins are Keras's
(FarmHash Fingerprint64, or SipHash-2-4 with a ``salt``; ``string_hash.py``).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.string_hash import fingerprint64, siphash64

__all__ = ["CategoryEncoding", "Discretization", "Hashing"]

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def _check_mode(layer: str, mode, allowed=OUTPUT_MODES) -> str:
    if mode == "binary":
        mode = "multi_hot"
    if mode not in allowed:
        raise ValueError(f"{layer} `output_mode` must be one of {', '.join(repr(m) for m in allowed)}, got {mode!r}.")
    return mode


def encode(ids, mode: str, depth: int, dtype, xp=jnp, count_weights=None):
    """Keras's ``encode_categorical_inputs``: integer ids as ``"int"``, ``"one_hot"``,
    ``"multi_hot"`` or ``"count"`` vectors of ``depth`` (ids outside ``[0, depth)`` count nowhere)."""
    if mode == "int":
        return ids.astype(dtype)
    if ids.ndim == 0:
        ids = ids[None]
    if mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids.reshape(ids.shape[:-1])
    hot = (ids[..., None] == xp.arange(depth).reshape((1,) * ids.ndim + (depth,))).astype(dtype)
    if mode == "one_hot":
        return hot
    axis = 1 if ids.ndim > 1 else 0
    if mode == "multi_hot":
        return hot.max(axis=axis)
    if count_weights is not None:
        hot = hot * count_weights[..., None].astype(dtype)
    return hot.sum(axis=axis)


@register_layer
class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as one-hot, multi-hot or count vectors.

    Args:
      num_tokens: the number of ids (the output's last dimension).
      output_mode: ``"multi_hot"`` (1 for each id present in a sample; ``"binary"`` is the
        same), ``"one_hot"`` (one vector per id) or ``"count"`` (how often each id occurs).
      sparse: must be False (dense outputs only).

    Call with integer ids ``(batch, ids)`` (or ``(batch,)``); ``count_weights`` (the ids'
    shape) weights the counts in ``"count"`` mode. Output ``(batch, num_tokens)``, or
    ``(batch, ids, num_tokens)`` for one-hot ids of shape ``(batch, ids)``. No weights.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1, 3]])).tolist()
    [[1.0, 2.0, 0.0, 1.0]]
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_tokens, (int, np.integer)) or isinstance(num_tokens, bool) or num_tokens < 1:
            raise ValueError(f"CategoryEncoding `num_tokens` must be a positive integer (the number of ids), "
                             f"got {num_tokens!r}.")
        if sparse:
            raise ValueError("CategoryEncoding(sparse=True) is not supported: highlevel's outputs are dense arrays. "
                             "Pass sparse=False.")
        self.num_tokens = int(num_tokens)
        self.output_mode = _check_mode("CategoryEncoding", output_mode, ("one_hot", "multi_hot", "count"))
        self.sparse = False

    def _check_input_shape(self, inputs) -> None:
        return None

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"CategoryEncoding layer '{self.name}': count_weights is used only with "
                             f"output_mode='count', got output_mode={self.output_mode!r}.")
        ids = jnp.asarray(inputs)
        if not jnp.issubdtype(ids.dtype, jnp.integer):
            ids = ids.astype(jnp.int32)
        weights = None if count_weights is None else jnp.asarray(count_weights)
        return encode(ids, self.output_mode, self.num_tokens, self.dtype, jnp, weights)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}


# -- Discretization's quantile summaries (Keras's ``discretization.py``) ------------------------


def _summarize(values, epsilon: float) -> np.ndarray:
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_percents, summary[0])
    cum_weights = np.interp(percents, cum_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def _merge(prev: np.ndarray, nxt: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((prev, nxt), axis=1)
    return _compress(np.take(merged, np.argsort(merged[0]), axis=1), epsilon)


@register_layer
class Discretization(Layer):
    """Buckets continuous values by ``bin_boundaries`` (given, or learned as quantiles by ``adapt``).

    Value ``x`` goes to bin ``i`` where ``bin_boundaries[i-1] <= x < bin_boundaries[i]``
    (``np.digitize``): ``len(bin_boundaries) + 1`` bins.

    Args:
      bin_boundaries: the sorted boundaries; or None, to learn ``num_bins - 1`` of them with
        ``adapt(data)``.
      num_bins: the number of bins ``adapt`` makes (exclusive with ``bin_boundaries``).
      epsilon: the quantiles' error tolerance in ``adapt`` (Keras's summary algorithm).
      output_mode: ``"int"`` (the bin index), ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
      sparse: must be False.

    Input of any shape; output the same shape of int32 bin indices, or encoded vectors.

    >>> import highlevel as hl, numpy as np
    >>> hl.layers.Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.5, 2.0]])).tolist()
    [[0, 1, 2]]
    >>> layer = hl.layers.Discretization(num_bins=4, epsilon=0.01)
    >>> layer.adapt(np.arange(100, dtype="float32"))
    >>> [round(b) for b in layer.bin_boundaries]   # approximate quartiles, as Keras's
    [24, 49, 74]
    """

    def __init__(self, bin_boundaries: Sequence[float] | None = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int32" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if sparse:
            raise ValueError("Discretization(sparse=True) is not supported: highlevel's outputs are dense. "
                             "Pass sparse=False.")
        if num_bins is not None and (not isinstance(num_bins, (int, np.integer)) or num_bins < 0):
            raise ValueError(f"Discretization `num_bins` must be a non-negative integer, got {num_bins!r}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization takes either `num_bins` (then adapt()) or `bin_boundaries`, not both.")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization needs `bin_boundaries`, or `num_bins` and a call of adapt(data).")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode = _check_mode("Discretization", output_mode)
        self.sparse = False
        self.summary = None if self.bin_boundaries is not None else np.array([[], []], dtype="float32")

    def _cast_input(self, x):
        return x   # values are compared in their own dtype (the output is an index)

    def adapt(self, data, steps: int | None = None) -> None:
        """Learns ``num_bins - 1`` boundaries as approximate quantiles of ``data`` (an array, or batches).

        Args:
          data: a NumPy/JAX array, or an iterable of batches.
          steps: with an iterable, how many batches to read (all by default).
        """
        if self.num_bins is None:
            raise ValueError(f"Discretization layer '{self.name}' was given bin_boundaries; adapt() learns them "
                             "only for a layer made with num_bins.")
        self.summary = np.array([[], []], dtype="float32")
        batches = [data] if isinstance(data, (np.ndarray, jax.Array)) else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            values = np.asarray(batch).astype("float32")
            self.summary = _merge(_summarize(values, self.epsilon), self.summary, self.epsilon)
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def _check_input_shape(self, inputs) -> None:
        return None

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization layer '{self.name}' has no bin boundaries yet: pass bin_boundaries, "
                             "or call adapt(data) before using it.")
        x = jnp.asarray(inputs)
        ids = jnp.digitize(x, jnp.asarray(self.bin_boundaries, x.dtype if jnp.issubdtype(x.dtype, jnp.floating)
                                          else jnp.float32))
        return encode(ids, self.output_mode, len(self.bin_boundaries) + 1, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)


@register_layer
class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins, exactly as Keras's ``Hashing`` (on the host).

    Args:
      num_bins: the number of bins (including the mask bin 0 when ``mask_value`` is set).
      mask_value: a value that goes to bin 0 (the others then take bins ``1..num_bins-1``).
      salt: None for FarmHash Fingerprint64 (TensorFlow's fast hash), or an int or a pair of
        ints for SipHash-2-4 keyed with it (the strong hash; an int ``s`` means ``[s, s]``).
      output_mode: ``"int"`` (the bin), ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
      sparse: must be False.

    Strings cannot enter a compiled step: call the layer on NumPy arrays or lists (of
    ``str``, ``bytes`` or integers; floats are truncated to integers, as Keras does) before
    ``fit``. Output: NumPy int32 bins of the input's shape, or encoded float32 vectors.

    >>> import highlevel as hl
    >>> hl.layers.Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).ravel().tolist()
    [1, 0, 1, 1, 2]
    >>> hl.layers.Hashing(num_bins=3, salt=133)([["A"], ["B"], ["C"]]).ravel().tolist()
    [0, 0, 2]
    """

    def __init__(self, num_bins: int, mask_value: Any = None, salt: int | Sequence[int] | None = None,
                 output_mode: str = "int", sparse: bool = False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int32" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if not isinstance(num_bins, (int, np.integer)) or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(f"Hashing `num_bins` must be a positive integer, got {num_bins!r}.")
        if sparse:
            raise ValueError("Hashing(sparse=True) is not supported: highlevel's outputs are dense. Pass sparse=False.")
        if salt is None:
            self.salt = None
        elif isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
            self.salt = [int(salt), int(salt)]
        elif isinstance(salt, (list, tuple)) and len(salt) == 2 and all(isinstance(s, (int, np.integer)) for s in salt):
            self.salt = [int(s) for s in salt]
        else:
            raise ValueError(f"Hashing `salt` must be an integer or a pair of integers, got {salt!r}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.output_mode = _check_mode("Hashing", output_mode)
        self.sparse = False

    def __call__(self, inputs, *args, **kwargs):
        from highlevel.layers.symbolic import KerasTensor
        leaves = jax.tree_util.tree_leaves(inputs, is_leaf=lambda x: isinstance(x, KerasTensor))
        if any(isinstance(leaf, (jax.core.Tracer, KerasTensor)) for leaf in leaves):
            raise ValueError(f"Hashing layer '{self.name}' runs on the host (it hashes strings), not inside a "
                             "compiled step: apply it to the data before fit, e.g. x = layer(x), or in the "
                             "data pipeline.")
        if not self.built:
            self.built = True
        return self.call(inputs)

    def _bin(self, value, bins: int) -> int:
        if isinstance(value, (bytes, np.bytes_)):
            data = bytes(value)
        elif isinstance(value, (str, np.str_)):
            data = str(value).encode("utf-8")
        elif isinstance(value, (float, np.floating)):
            data = str(int(value)).encode()
        else:
            data = str(int(value)).encode()
        h = siphash64(tuple(self.salt), data) if self.salt is not None else fingerprint64(data)
        return h % bins

    def call(self, inputs):
        values = np.asarray(inputs, dtype=object if not isinstance(inputs, np.ndarray) else None)
        if self.output_mode == "one_hot" and values.ndim > 0 and values.shape[-1] == 1:
            values = values.reshape(values.shape[:-1])
        masked = self.mask_value is not None and self.num_bins > 1
        bins = self.num_bins - 1 if masked else self.num_bins
        flat = values.reshape(-1)
        out = np.empty(flat.shape, np.int64)
        for i, v in enumerate(flat):
            if masked and v == self.mask_value:
                out[i] = 0
            else:
                out[i] = self._bin(v, bins) + (1 if masked else 0)
        ids = out.reshape(values.shape).astype(np.int32)
        return encode(ids, self.output_mode, self.num_bins, np.dtype(self.dtype), np)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}
