"""HashedCrossing: crosses of categorical features hashed into bins, as Keras's (on the host).

Keras's layer calls TensorFlow's ``tf.sparse.cross_hashed``: each feature becomes a 64-bit
fingerprint (an integer is its own value, a string its FarmHash ``Fingerprint64``), the
fingerprints are chained with ``FingerprintCat64`` from the key ``0xDECAFCAFFE``, and the
bin is the result modulo ``num_bins``. The same arithmetic here gives the same bins without
TensorFlow. Strings cannot enter a compiled step, so the layer runs on NumPy or Python data,
before ``fit`` or in a data pipeline, as Keras recommends for it too.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from highlevel.layers.base import Layer, format_shape, register_layer
from highlevel.layers.categorical import _check_mode, encode
from highlevel.layers.string_hash import fingerprint64

__all__ = ["HashedCrossing"]

_M = (1 << 64) - 1
_MUL = 0xC6A4A7935BD1E995
#: TensorFlow's ``_DEFAULT_HASH_KEY`` for ``sparse.cross_hashed``.
_HASH_KEY = 0xDECAFCAFFE


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64``: two 64-bit fingerprints combined into one (order matters)."""
    result = fp1 ^ _MUL
    result ^= (_shift_mix((fp2 * _MUL) & _M) * _MUL) & _M
    result = (result * _MUL) & _M
    result = (_shift_mix(result) * _MUL) & _M
    return _shift_mix(result)


def _feature_hash(value) -> int:
    if isinstance(value, (bytes, np.bytes_)):
        return fingerprint64(bytes(value))
    if isinstance(value, (str, np.str_)):
        return fingerprint64(str(value).encode("utf-8"))
    return int(value) & _M   # an int64 read as uint64, as TensorFlow's kernel does


def cross_hash(values, num_bins: int) -> int:
    """The bin ``tf.sparse.cross_hashed`` gives one cross of scalar ``values`` (ints or strings)."""
    hashed = _HASH_KEY
    for value in values:
        hashed = fingerprint_cat64(hashed, _feature_hash(value))
    return hashed % num_bins


def _as_array(x) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    arr = np.asarray(x)
    return np.asarray(x, dtype=object) if arr.dtype.kind in "US" and arr.ndim else arr


def _kind(arr: np.ndarray) -> str:
    """"int", "string", or what the array holds otherwise."""
    if arr.dtype.kind in "iub" and arr.dtype != np.bool_:
        return "int"
    if arr.dtype.kind in "US":
        return "string"
    if arr.dtype == object and all(isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in arr.reshape(-1)):
        return "string"
    if arr.dtype == object and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   for v in arr.reshape(-1)):
        return "int"
    return str(arr.dtype)


@register_layer
class HashedCrossing(Layer):
    """Crosses categorical features and hashes each cross into ``num_bins`` bins, as Keras's.

    Conceptually ``hash(concatenate(features)) % num_bins``, with TensorFlow's
    ``sparse.cross_hashed`` hash, so the bins are Keras's. Each feature is a batch of
    scalars (shape ``()``, ``(batch,)`` or ``(batch, 1)``), all of the same shape, of
    integers or strings.

    Args:
      num_bins: the number of hash bins.
      output_mode: ``"int"`` (the bin indices, int64 as in Keras) or ``"one_hot"``
        (float32 vectors of ``num_bins``).
      sparse: must be False (as in Keras with any backend but TensorFlow).

    Runs on the host: call it on NumPy arrays or lists before ``fit``. Output: the bins with
    the inputs' shape, or for ``"one_hot"`` ``(batch, num_bins)``. No weights.

    >>> import highlevel as hl, numpy as np
    >>> layer = hl.layers.HashedCrossing(num_bins=5)
    >>> layer((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102]))).tolist()
    [1, 4, 1, 1, 3]
    """

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, **kwargs):
        if output_mode == "int" and kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64"
        super().__init__(**kwargs)
        if not isinstance(num_bins, (int, np.integer)) or isinstance(num_bins, bool) or num_bins <= 0:
            raise ValueError(f"HashedCrossing `num_bins` must be a positive integer, got {num_bins!r}.")
        if sparse:
            raise ValueError("HashedCrossing(sparse=True) needs TensorFlow's sparse tensors (as in Keras on "
                             "other backends); pass sparse=False for dense outputs.")
        self.num_bins = int(num_bins)
        self.output_mode = _check_mode("HashedCrossing", output_mode, ("int", "one_hot"))
        self.sparse = False

    def __call__(self, inputs, *args, **kwargs):
        from highlevel.layers.symbolic import KerasTensor
        leaves = jax.tree_util.tree_leaves(inputs, is_leaf=lambda x: isinstance(x, KerasTensor))
        if any(isinstance(leaf, (jax.core.Tracer, KerasTensor)) for leaf in leaves):
            raise ValueError(f"HashedCrossing layer '{self.name}' runs on the host (it hashes strings), not inside "
                             "a compiled step or a symbolic model: apply it to the data before fit, e.g. "
                             "x = layer((feature_a, feature_b)).")
        if not self.built:
            self.built = True
        return self.call(inputs)

    def _check_inputs(self, inputs) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"HashedCrossing should be called on a list or tuple of features, got a "
                             f"{type(inputs).__name__}. Pass layer((feature_a, feature_b)).")
        if len(inputs) < 2:
            raise ValueError(f"HashedCrossing should be called on at least two features, got {len(inputs)}. "
                             "Pass layer((feature_a, feature_b)).")
        arrays = [_as_array(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"All HashedCrossing inputs should have shape (), (batch,) or (batch, 1), got "
                             f"{format_shape(shape)}. Cross scalar features, one per sample.")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError("All HashedCrossing inputs should have equal shape, got "
                             f"{', '.join(format_shape(a.shape) for a in arrays)}.")
        kinds = [_kind(a) for a in arrays]
        if any(k not in ("int", "string") for k in kinds):
            raise ValueError(f"All HashedCrossing inputs should have an integer or string dtype, got {kinds}. "
                             "Cast float features to integers (or bin them with Discretization) first.")
        return arrays

    def call(self, inputs: Any):
        arrays = self._check_inputs(inputs)
        shape = arrays[0].shape
        flat = [a.reshape(-1) for a in arrays]
        bins = np.array([cross_hash([f[i] for f in flat], self.num_bins) for i in range(flat[0].size)],
                        np.int64).reshape(shape)
        return encode(bins, self.output_mode, self.num_bins, np.dtype(self.dtype), np)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse}
