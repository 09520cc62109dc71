"""Lookup layers: ``StringLookup`` and ``IntegerLookup``, vocabularies that map tokens to indices on the host.

Strings cannot enter a compiled step, so these layers run in the data path, in NumPy:
called on Python/NumPy data they return NumPy arrays (int64 indices, or float32
encodings for ``"one_hot"``, ``"multi_hot"``, ``"count"`` and ``"tf_idf"``). As the first
layers of a ``Sequential`` model they are applied to each batch on the host before the
compiled step (``fit(raw_data)`` works); anywhere else, call them on the data first.

The index layout is Keras's: the mask token (if any) at 0, then ``num_oov_indices``
out-of-vocabulary indices, then the vocabulary. ``adapt`` orders tokens by decreasing
frequency, ties broken by reverse order of the token (Keras's ``np.lexsort`` rule).
"""

from __future__ import annotations

import collections
import os
import zlib
from typing import Any, Iterable

import numpy as np

from highlevel.layers.base import Layer, register_layer

__all__ = ["StringLookup", "IntegerLookup"]

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _as_array(data, dtype) -> np.ndarray:
    if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
        data = data.numpy()
    arr = np.asarray(data, dtype=object if dtype is str else dtype)
    if dtype is str:
        arr = np.vectorize(lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v), otypes=[object])(arr) \
            if arr.size else arr.astype(object)
    return arr


class _IndexLookup(Layer):
    """Abstract: a vocabulary of tokens and Keras's index layout, output modes and ``adapt``."""

    runs_on_host = True
    _token_type: Any = str

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"{type(self).__name__}: output_mode must be one of {', '.join(_MODES)}; got "
                             f"{output_mode!r}.")
        if sparse:
            raise ValueError(f"{type(self).__name__}(sparse=True): JAX has no sparse tensors here; use sparse=False.")
        if invert and output_mode != "int":
            raise ValueError(f"{type(self).__name__}: invert=True works only with output_mode='int', got "
                             f"{output_mode!r}.")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{type(self).__name__}: max_tokens must be > 1 (it counts the mask and OOV indices), "
                             f"got {max_tokens}.")
        if num_oov_indices < 0:
            raise ValueError(f"{type(self).__name__}: num_oov_indices must be >= 0, got {num_oov_indices}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{type(self).__name__}: pad_to_max_tokens=True needs max_tokens.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{type(self).__name__}: idf_weights applies only to output_mode='tf_idf'.")
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = False
        self._tokens: list = []
        self._index: dict = {}
        self._idf: np.ndarray | None = None
        self._has_input_vocabulary = vocabulary is not None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf" and idf_weights is not None:
            raise ValueError(f"{type(self).__name__}: idf_weights needs a vocabulary.")

    # -- the vocabulary ------------------------------------------------------------------

    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _special(self) -> list:
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def _convert_token(self, token):
        return token

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and, for ``"tf_idf"``, the IDF weights) instead of ``adapt``.

        Args:
            vocabulary: A list/array of tokens, or the path of a text file with one token per line.
            idf_weights: For ``output_mode="tf_idf"``, one weight per token.
        """
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{type(self).__name__}: output_mode='tf_idf' needs idf_weights with the vocabulary.")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"{type(self).__name__}: the vocabulary file {path} does not exist.")
            with open(path, encoding="utf-8") as f:
                tokens = [line.rstrip("\n").rstrip("\r") for line in f]
            if tokens and tokens[-1] == "":
                tokens = tokens[:-1]
            vocabulary = [self._convert_token(t) for t in tokens]
        tokens = [self._convert_token(t) for t in _as_array(vocabulary, self._token_type).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f"{type(self).__name__}: cannot set an empty vocabulary.")
        special = self._special()
        found_special = tokens[:len(special)] == special
        body = tokens[len(special):] if found_special else tokens
        repeated = [t for t, n in collections.Counter(body).items() if n > 1]
        if repeated:
            raise ValueError(f"{type(self).__name__}: the vocabulary repeats {repeated[:5]}; pass unique tokens.")
        if self.mask_token is not None and self.mask_token in body:
            raise ValueError(f"{type(self).__name__}: the mask token {self.mask_token!r} is in the vocabulary; leave "
                             f"it out, or put the special tokens first in this order: {special}.")
        if self.invert and self.oov_token is not None and self.oov_token in body:
            raise ValueError(f"{type(self).__name__}: the OOV token {self.oov_token!r} is in the vocabulary; leave it "
                             f"out, or put the special tokens first in this order: {special}.")
        if self.max_tokens is not None and self._token_start() + len(body) > self.max_tokens:
            raise ValueError(f"{type(self).__name__}: a vocabulary of {self._token_start() + len(body)} indices "
                             f"(special tokens included) is larger than max_tokens={self.max_tokens}.")
        self._set_tokens(body)
        self._has_input_vocabulary = True
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, np.float32).reshape(-1)
            if len(weights) != len(tokens):
                raise ValueError(f"{type(self).__name__}: idf_weights has {len(weights)} entries but the vocabulary "
                                 f"{len(tokens)}; pass one weight per token.")
            front = 0 if found_special else self._token_start()
            value = 0.0 if found_special else float(np.mean(weights))
            self._idf = np.concatenate([np.full(front, value, np.float32), weights])

    def _set_tokens(self, tokens: list) -> None:
        self._tokens = list(tokens)
        start = self._token_start()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order: the special tokens first (mask, OOV), then the tokens.

        Args:
            include_special_tokens: Whether to include the mask and OOV tokens.
        """
        return (self._special() if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self) -> int:
        """The number of indices (special tokens included)."""
        return self._token_start() + len(self._tokens)

    # -- adapt -----------------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Builds the vocabulary from ``data``: the most frequent tokens, at most ``max_tokens`` indices.

        Args:
            data: An array (or list) of tokens, ``(n,)`` or ``(n, tokens)``, or an iterable of
                such batches.
            batch_size: Accepted for Keras compatibility (the data is read whole).
            steps: With an iterable, how many batches to read (None: all).
        """
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}': its vocabulary was set by the vocabulary argument "
                             "or set_vocabulary().")
        counts: collections.Counter = collections.Counter()
        doc_counts: collections.Counter = collections.Counter()
        num_docs = 0
        for rows in self._adapt_batches(data, steps):
            for row in rows:
                tokens = [t for t in row if t is not None]
                counts.update(tokens)
                doc_counts.update(set(tokens))
                num_docs += 1
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        tokens = list(counts)
        order = np.lexsort((np.array([_sort_key(t) for t in tokens], dtype=object),
                            np.array([counts[t] for t in tokens])))[::-1] if tokens else []
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start()]
        chosen = [tokens[i] for i in order]
        self._set_tokens(chosen)
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + num_docs / (1.0 + np.array([doc_counts[t] for t in chosen], np.float64)))
            idf = idf.astype(np.float32)
            mean = float(np.mean(idf)) if len(idf) else 0.0
            self._idf = np.concatenate([np.full(self._token_start(), mean, np.float32), idf])

    def _adapt_batches(self, data, steps) -> Iterable[list]:
        if isinstance(data, (list, tuple, np.ndarray)) or hasattr(data, "shape"):
            batches = [data] if not (isinstance(data, list) and data and isinstance(data[0], list)
                                     and all(isinstance(r, list) for r in data[0])) else data
        else:
            batches = data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            yield self._rows(batch)

    def _rows(self, batch) -> list[list]:
        if isinstance(batch, list) and batch and all(isinstance(row, (list, tuple)) for row in batch):
            return [[self._convert_token(t) for t in row] for row in batch]   # ragged rows (documents)
        arr = _as_array(batch, self._token_type)
        if arr.ndim <= 1:
            arr = arr.reshape(-1, 1)   # as Keras: each entry of a 1-D batch is its own document
        return [[self._convert_token(t) for t in row] for row in arr.reshape(arr.shape[0], -1).tolist()]

    # -- lookups -----------------------------------------------------------------------------

    def _oov_index(self, token) -> int:
        if self.num_oov_indices == 0:
            raise ValueError(f"{type(self).__name__} '{self.name}' has num_oov_indices=0, but {token!r} is not in "
                             "its vocabulary; set num_oov_indices=1 (or more) or add the token.")
        if self.num_oov_indices == 1:
            return self._oov_start()
        return self._oov_start() + self._oov_bucket(token)

    def _oov_bucket(self, token) -> int:
        raise NotImplementedError

    def _lookup(self, arr: np.ndarray) -> np.ndarray:
        flat = arr.reshape(-1).tolist()
        out = np.empty(len(flat), np.int64)
        for i, token in enumerate(flat):
            token = self._convert_token(token)
            if self.mask_token is not None and token == self.mask_token:
                out[i] = 0 if self.output_mode == "int" else -1   # the encodings leave masked entries out
            else:
                index = self._index.get(token)
                out[i] = index if index is not None else self._oov_index(token)
        return out.reshape(arr.shape)

    def _invert(self, arr: np.ndarray) -> np.ndarray:
        vocab = self.get_vocabulary()
        out = np.empty(arr.size, dtype=object)
        for i, index in enumerate(np.asarray(arr, np.int64).reshape(-1).tolist()):
            if self.mask_token is not None and index == 0:
                out[i] = self.mask_token
            elif 0 <= index < len(vocab) and index >= self._token_start():
                out[i] = vocab[index]
            else:
                out[i] = self.oov_token
        return out.reshape(np.shape(arr))

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _encode(self, indices: np.ndarray) -> np.ndarray:
        depth = self._depth()
        if self.output_mode == "one_hot":
            if indices.ndim > 1 and indices.shape[-1] == 1:
                indices = indices[..., 0]
            table = np.concatenate([np.eye(depth, dtype=np.float32), np.zeros((1, depth), np.float32)])
            return table[np.where(indices >= 0, indices, depth)]
        if indices.ndim <= 1:
            indices = indices.reshape(-1, 1)
        rows = indices.reshape(indices.shape[0], -1)
        out = np.zeros((rows.shape[0], depth), np.float32)
        for r, row in enumerate(rows):
            np.add.at(out[r], row[row >= 0], 1.0)
        if self.output_mode == "multi_hot":
            out = (out > 0).astype(np.float32)
        elif self.output_mode == "tf_idf":
            idf = self._idf if self._idf is not None else np.zeros(0, np.float32)
            weights = np.zeros(depth, np.float32)
            weights[:min(depth, len(idf))] = idf[:depth]
            out = out * weights
        return out

    def __call__(self, inputs, *args, **kwargs):
        kwargs.pop("training", None)
        return self.call(inputs)

    def call(self, inputs):
        """The indices (or the encoding, or with ``invert`` the tokens) of the input tokens, as NumPy."""
        if not self._tokens and not self.invert:
            raise ValueError(f"{type(self).__name__} '{self.name}' has no vocabulary yet: call adapt(data) or pass "
                             "vocabulary=... first.")
        if self.invert:
            return self._invert(np.asarray(inputs))
        arr = _as_array(inputs, self._token_type)
        indices = self._lookup(arr)
        return indices if self.output_mode == "int" else self._encode(indices)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self._depth() if (self._tokens or self.pad_to_max_tokens) else None
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:-1] + (depth,) if len(shape) > 1 else shape + (depth,)

    def get_config(self) -> dict[str, Any]:
        # The tokens themselves, even for a vocabulary read from a file: a saved model stands alone.
        vocabulary = list(self._tokens) if self._tokens else None
        idf = None
        if self.output_mode == "tf_idf" and self._idf is not None:
            idf = [float(v) for v in self._idf[self._token_start():]]
        return {**super().get_config(), "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token, "vocabulary": vocabulary,
                "idf_weights": idf, "invert": self.invert, "output_mode": self.output_mode,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False}


def _sort_key(token):
    return token if isinstance(token, str) else float(token)


@register_layer
class StringLookup(_IndexLookup):
    """Maps strings to integer indices through a vocabulary (Keras's ``StringLookup``), on the host.

    Args:
      max_tokens: The most indices (mask and OOV included); None for no limit.
      num_oov_indices: How many indices out-of-vocabulary tokens share (hashed among them when
        more than one: with CRC-32, where Keras uses TensorFlow's farmhash).
      mask_token: A token that maps to index 0 (padding); None for no mask.
      oov_token: The token ``invert=True`` gives for OOV indices.
      vocabulary: A list of tokens, or the path of a text file with one per line.
      idf_weights: For ``output_mode="tf_idf"`` with a given vocabulary, one weight per token.
      invert: Map indices back to tokens.
      output_mode: ``"int"`` (indices), ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
      pad_to_max_tokens: For the encodings, make them ``max_tokens`` wide.
      sparse: Accepted for Keras compatibility; only False.
      encoding: The text encoding of ``bytes`` inputs (UTF-8).

    >>> import highlevel as hl
    >>> layer = hl.layers.StringLookup(vocabulary=["a", "b", "c"])
    >>> layer([["a", "c"], ["d", "b"]]).tolist()
    [[1, 3], [0, 2]]
    >>> layer.get_vocabulary()
    ['[UNK]', 'a', 'b', 'c']
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", **kwargs):
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, **kwargs)

    def _convert_token(self, token):
        return token.decode(self.encoding) if isinstance(token, bytes) else token

    def _oov_bucket(self, token) -> int:
        return zlib.crc32(str(token).encode("utf-8")) % self.num_oov_indices

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


@register_layer
class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous indices through a vocabulary (Keras's ``IntegerLookup``), on the host.

    Args:
      max_tokens: The most indices (mask and OOV included); None for no limit.
      num_oov_indices: How many indices out-of-vocabulary values share (``value % num_oov_indices``).
      mask_token: A value that maps to index 0; None for no mask.
      oov_token: The value ``invert=True`` gives for OOV indices.
      output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
      pad_to_max_tokens: For the encodings, make them ``max_tokens`` wide.
      sparse: Accepted for Keras compatibility; only False.
      vocabulary: A list of integers, or the path of a text file with one per line.
      vocabulary_dtype: ``"int64"`` or ``"int32"`` (Keras's argument; values are Python ints).
      idf_weights: For ``output_mode="tf_idf"`` with a given vocabulary, one weight per value.
      invert: Map indices back to values.

    >>> import highlevel as hl
    >>> layer = hl.layers.IntegerLookup(vocabulary=[12, 36, 1138])
    >>> layer([12, 1138, 7]).tolist()
    [1, 3, 0]
    """

    _token_type = np.int64

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, vocabulary=None, vocabulary_dtype="int64", idf_weights=None,
                 invert=False, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup: vocabulary_dtype must be 'int64' or 'int32', got {vocabulary_dtype!r}.")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, **kwargs)

    def _convert_token(self, token):
        return int(token)

    def _oov_bucket(self, token) -> int:
        return int(token) % self.num_oov_indices

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}
