"""IMDB movie reviews (25,000 + 25,000, positive or negative) as word indexes, Keras's ``load_data()``."""

from __future__ import annotations

import json
import os

import numpy as np

from highlevel.datasets.keras_files import RemoteFile, load_npz, locate, require

__all__ = ["load_data", "get_word_index"]

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SOURCE = RemoteFile("imdb", "IMDB", f"{_ORIGIN}imdb.npz",
                    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f", "imdb.npz")
WORD_INDEX = RemoteFile("imdb", "IMDB word index", f"{_ORIGIN}imdb_word_index.json",
                        "bfafd718b763782e994055a2d397834f", "imdb_word_index.json")


def load_data(path: str | os.PathLike = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)``: reviews as object arrays of lists of word indexes, int labels.

    As ``keras.datasets.imdb.load_data()``, value for value: each split is shuffled
    with ``np.random.RandomState(seed)``; a review becomes ``[start_char]`` followed by
    its words' frequency ranks plus ``index_from``; reviews of ``maxlen`` words or more
    are dropped; words ranked ``num_words`` or beyond, or below ``skip_top``, become
    ``oov_char`` (or are left out when it is None). ``imdb.npz`` (17 MB) is looked for as
    :mod:`highlevel.datasets.keras_files` says (``path``, ``$HIGHLEVEL_DATA/imdb/``,
    highlevel's cache, then Keras's ``~/.keras/datasets/imdb.npz``), else downloaded.

    Args:
        path: the file, a folder holding ``imdb.npz``, or (as in Keras) the file's name in the caches.
        num_words: keep the ``num_words`` most frequent words (indexes below it); None keeps all.
        skip_top: the indexes below it become ``oov_char`` too.
        maxlen: keep only the reviews shorter than ``maxlen`` (start character included); None keeps all.
        seed: the seed of the shuffle.
        start_char: the index that starts every review; None starts none.
        oov_char: the index that replaces the words cut; None drops them.
        index_from: added to every word's frequency rank.
        **kwargs: Keras's legacy arguments; any given is an error (Keras 3 ignores them).

    >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
    >>> len(x_train), x_train[0][:3], y_train.dtype  # doctest: +SKIP
    (25000, [1, 13, 586], dtype('int64'))
    """
    if kwargs:
        raise TypeError(f"imdb.load_data got unexpected keyword arguments {sorted(kwargs)}; it takes path, "
                        "num_words, skip_top, maxlen, seed, start_char, oov_char and index_from.")
    file = locate(SOURCE, path)
    arrays = load_npz(file)
    require(arrays, ["x_train", "y_train", "x_test", "y_test"], file)
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    x_train = offset_words(x_train, start_char, index_from)
    x_test = offset_words(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen} in the "
                             f"{'training' if not x_train else 'test'} split; increase maxlen (or pass None).")
    xs = cap_words(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    idx = len(x_train)
    return (np.array(xs[:idx], dtype="object"), labels[:idx]), (np.array(xs[idx:], dtype="object"), labels[idx:])


def get_word_index(path: str | os.PathLike = "imdb_word_index.json") -> dict[str, int]:
    """``{word: frequency rank}`` of the IMDB reviews; add ``index_from`` to match ``load_data``'s indexes.

    As ``keras.datasets.imdb.get_word_index()``: ``imdb_word_index.json`` is looked for
    as ``load_data``'s file is (Keras's cache included, if its md5 is Keras's), else downloaded.

    Args:
        path: the file, a folder holding ``imdb_word_index.json``, or the file's name in the caches.

    >>> index = get_word_index()  # doctest: +SKIP
    >>> index["the"]  # doctest: +SKIP
    1
    """
    with open(locate(WORD_INDEX, path)) as f:
        return json.load(f)


def offset_words(xs, start_char, index_from) -> list[list]:
    """Each sequence as a list: ``[start_char]`` (unless None), then its indexes plus ``index_from``."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [[w for w in x] for x in xs]


def remove_long_seq(maxlen: int, seq, label):
    """The sequences shorter than ``maxlen``, and their labels, as lists (Keras's ``remove_long_seq``)."""
    new_seq, new_label = [], []
    for x, y in zip(seq, label):
        if len(x) < maxlen:
            new_seq.append(x)
            new_label.append(y)
    return new_seq, new_label


def cap_words(xs: list, num_words, skip_top: int, oov_char) -> list[list]:
    """Indexes outside ``[skip_top, num_words)`` replaced by ``oov_char``, or dropped if it is None."""
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]
