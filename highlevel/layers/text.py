"""``TextVectorization``: raw strings to token indices (or encodings) on the host, as Keras's.

The steps are Keras's: standardize (lowercase, strip punctuation with Keras's regular
expression), split (whitespace, characters, or a function), make n-grams (joined by a
space, all unigrams first, then bigrams...), then look the tokens up in a vocabulary whose
index 0 is the padding ``""`` and index 1 the OOV token ``"[UNK]"``. Like the lookup
layers it runs in NumPy on the host: as the first layer of a ``Sequential`` model it is
applied to each batch before the compiled step, so ``model.fit(raw_strings, y)`` works.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from highlevel.layers.base import Layer, register_layer
from highlevel.layers.lookup import StringLookup

__all__ = ["TextVectorization"]

# Keras's DEFAULT_STRIP_REGEX (``,-\.`` is the range of ``,``, ``-`` and ``.``).
_STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = (None, "whitespace", "character")


@register_layer
class TextVectorization(Layer):
    """Turns raw strings into sequences of token indices, or into bag-of-words encodings (on the host).

    Args:
      max_tokens: The vocabulary's size, padding and OOV indices included (None: unlimited).
      standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``, ``"strip_punctuation"``,
        None, or a function ``str -> str`` (a registered one saves by name).
      split: ``"whitespace"`` (default), ``"character"``, None, or a function ``str -> list[str]``.
      ngrams: None, an int n (every n-gram of 1 to n tokens), or a tuple of sizes.
      output_mode: ``"int"`` (index sequences), ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
      output_sequence_length: For ``"int"``: pad (with 0, at the end) or cut every sequence to
        this length; None pads each batch to its longest sequence.
      pad_to_max_tokens: For the encodings, make them ``max_tokens`` wide.
      vocabulary: A list of tokens or the path of a text file (one token per line).
      idf_weights: For ``"tf_idf"`` with a given vocabulary, one weight per token.
      sparse: Accepted for Keras compatibility; only False.
      ragged: Accepted for Keras compatibility; only False (sequences are padded).
      encoding: The encoding of ``bytes`` inputs.

    Call it on a list or array of strings, ``(batch,)`` or ``(batch, 1)``: the result is a
    NumPy array, int64 ``(batch, length)`` for ``"int"``, float32 ``(batch, vocabulary)``
    otherwise. ``get_config`` holds the vocabulary, so the layer saves and loads with a model.

    >>> import highlevel as hl
    >>> layer = hl.layers.TextVectorization(output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog sat on the mat!"])
    >>> layer.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'on', 'mat', 'dog', 'cat']
    >>> layer(["the cat ran"]).tolist()
    [[2, 7, 1, 0]]
    """

    runs_on_host = True

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        super().__init__(**kwargs)
        from highlevel.utils.serialization import lookup_serializable
        if isinstance(standardize, str) and standardize not in _STANDARDIZE:
            standardize = lookup_serializable(standardize) or standardize
        if isinstance(split, str) and split not in _SPLIT:
            split = lookup_serializable(split) or split
        if not (standardize in _STANDARDIZE or callable(standardize)):
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE} or a function, got "
                             f"{standardize!r}.")
        if not (split in _SPLIT or callable(split)):
            raise ValueError(f"TextVectorization: split must be one of {_SPLIT} or a function, got {split!r}.")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or isinstance(ngrams, int) or (isinstance(ngrams, tuple)
                                                               and all(isinstance(n, int) for n in ngrams))):
            raise ValueError(f"TextVectorization: ngrams must be None, an int or a tuple of ints, got {ngrams!r}.")
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"TextVectorization: output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', got "
                             f"{output_mode!r}.")
        if output_sequence_length is not None and (output_mode != "int" or not isinstance(output_sequence_length, int)):
            raise ValueError("TextVectorization: output_sequence_length is an int, and only for output_mode='int'; "
                             f"got output_sequence_length={output_sequence_length!r} with output_mode={output_mode!r}.")
        if ragged or sparse:
            raise ValueError("TextVectorization(ragged=True/sparse=True) is not supported: the outputs are dense, "
                             "padded NumPy arrays.")
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._ngram_sizes = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.encoding = encoding
        self.lookup = StringLookup(max_tokens=max_tokens, num_oov_indices=1, mask_token="", oov_token="[UNK]",
                                   vocabulary=vocabulary, idf_weights=idf_weights, output_mode=output_mode,
                                   pad_to_max_tokens=pad_to_max_tokens, encoding=encoding,
                                   name=f"{self.name}_lookup")
        self.built = True

    @property
    def max_tokens(self):
        return self.lookup.max_tokens

    @property
    def pad_to_max_tokens(self) -> bool:
        return self.lookup.pad_to_max_tokens

    # -- text to tokens ------------------------------------------------------------------------

    def _strings(self, inputs) -> list[str]:
        if isinstance(inputs, str):
            inputs = [inputs]
        arr = np.asarray(inputs, dtype=object)
        if arr.ndim == 2 and arr.shape[-1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"TextVectorization '{self.name}' takes a batch of strings, shape (batch,) or (batch, 1); "
                             f"got shape {arr.shape}.")
        return [v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in arr.tolist()]

    def _standardize(self, text: str) -> str:
        mode = self.standardize
        if callable(mode):
            return mode(text)
        if mode in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _STRIP.sub("", text)
        return text

    def _split(self, text: str) -> list[str]:
        if self.split is None:
            return [text]
        if self.split == "whitespace":
            return text.split()
        if self.split == "character":
            return list(text)
        return list(self.split(text))

    def _tokens(self, text: str) -> list[str]:
        tokens = self._split(self._standardize(text))
        if self._ngram_sizes is None:
            return tokens
        out: list[str] = []
        for n in self._ngram_sizes:
            out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return out

    # -- the vocabulary -------------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Builds the vocabulary from strings: a list/array of them, or an iterable of such batches.

        Args:
            data: The texts.
            batch_size: Accepted for Keras compatibility (the data is read whole).
            steps: With an iterable of batches, how many to read (None: all).
        """
        if isinstance(data, (str, list, tuple, np.ndarray)) or hasattr(data, "shape"):
            batches = [data]
        else:
            batches = data
        documents = []
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            documents.extend(self._tokens(text) for text in self._strings(batch))
        self.lookup.adapt([documents])   # one batch whose rows are the documents' token lists

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order (``""`` and ``"[UNK]"`` first).

        Args:
            include_special_tokens: Whether to include the padding and OOV tokens.
        """
        return self.lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The number of indices (padding and OOV included)."""
        return self.lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and IDF weights for ``"tf_idf"``) instead of ``adapt``.

        Args:
            vocabulary: A list of tokens or the path of a text file (one token per line).
            idf_weights: For ``output_mode="tf_idf"``, one weight per token.
        """
        self.lookup.set_vocabulary(vocabulary, idf_weights)

    # -- calling ----------------------------------------------------------------------------------

    def __call__(self, inputs, *args, **kwargs):
        kwargs.pop("training", None)
        return self.call(inputs)

    def call(self, inputs):
        """The index sequences (or encodings) of a batch of strings, as a NumPy array."""
        documents = [self._tokens(text) for text in self._strings(inputs)]
        if self.output_mode != "int":
            # One row per document; an empty one is the padding token, which the encodings leave out.
            rows = [self.lookup(np.asarray(doc or [""], dtype=object).reshape(1, -1)) for doc in documents]
            return np.concatenate(rows) if rows else np.zeros((0, self.lookup.vocabulary_size()), np.float32)
        length = self.output_sequence_length
        if length is None:
            length = max((len(doc) for doc in documents), default=0)
        out = np.zeros((len(documents), length), np.int64)
        for row, doc in enumerate(documents):
            ids = self.lookup(np.asarray(doc[:length], dtype=object)) if doc else np.zeros(0, np.int64)
            out[row, :len(ids)] = ids
        return out

    def compute_output_shape(self, input_shape):
        batch = tuple(input_shape)[0] if len(tuple(input_shape)) else None
        if self.output_mode == "int":
            return (batch, self.output_sequence_length)
        width = self.max_tokens if self.pad_to_max_tokens else (self.vocabulary_size() or None)
        return (batch, width)

    def get_config(self) -> dict[str, Any]:
        from highlevel.utils.serialization import serializable_name
        name = lambda f: f if f is None or isinstance(f, str) else (serializable_name(f) or f)
        lookup = self.lookup.get_config()
        return {**super().get_config(), "max_tokens": self.max_tokens, "standardize": name(self.standardize),
                "split": name(self.split), "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": lookup["vocabulary"], "idf_weights": lookup["idf_weights"], "sparse": False,
                "ragged": False, "encoding": self.encoding}
