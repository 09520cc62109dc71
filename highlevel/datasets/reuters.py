"""Reuters newswires (11,228 in 46 topics) as word indexes, Keras's ``load_data()``."""

from __future__ import annotations

import json
import os

import numpy as np

from highlevel.datasets.imdb import cap_words, offset_words, remove_long_seq
from highlevel.datasets.keras_files import RemoteFile, check_fraction, load_npz, locate, require

__all__ = ["load_data", "get_word_index", "get_label_names"]

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SOURCE = RemoteFile("reuters", "Reuters", f"{_ORIGIN}reuters.npz",
                    "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916", "reuters.npz")
WORD_INDEX = RemoteFile("reuters", "Reuters word index", f"{_ORIGIN}reuters_word_index.json",
                        "4d44cc38712099c9e383dc6e5f11a921", "reuters_word_index.json")

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path: str | os.PathLike = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3):
    """``(x_train, y_train), (x_test, y_test)``: newswires as object arrays of lists of word indexes, int topics.

    As ``keras.datasets.reuters.load_data()``, value for value: the newswires are
    shuffled with ``np.random.RandomState(seed)``, indexed and cut as in
    :func:`highlevel.datasets.imdb.load_data` (``start_char``, ``index_from``, ``maxlen``,
    ``num_words``, ``skip_top``, ``oov_char``), and the last ``test_split`` of them are the
    test set. ``reuters.npz`` (2 MB) is looked for as :mod:`highlevel.datasets.keras_files`
    says (``path``, ``$HIGHLEVEL_DATA/reuters/``, highlevel's cache, then Keras's
    ``~/.keras/datasets/reuters.npz``), else downloaded.

    Args:
        path: the file, a folder holding ``reuters.npz``, or (as in Keras) the file's name in the caches.
        num_words: keep the ``num_words`` most frequent words (indexes below it); None keeps all.
        skip_top: the indexes below it become ``oov_char`` too.
        maxlen: keep only the newswires shorter than ``maxlen`` (start character included); None keeps all.
        test_split: the fraction of newswires for the test set, in [0, 1].
        seed: the seed of the shuffle.
        start_char: the index that starts every newswire; None starts none.
        oov_char: the index that replaces the words cut; None drops them.
        index_from: added to every word's frequency rank.

    >>> (x_train, y_train), (x_test, y_test) = load_data(num_words=10000)  # doctest: +SKIP
    >>> len(x_train), len(x_test), get_label_names()[y_train[0]]  # doctest: +SKIP
    (8982, 2246, 'earn')
    """
    check_fraction("reuters.load_data", test_split, include_one=True)
    file = locate(SOURCE, path)
    arrays = load_npz(file)
    require(arrays, ["x", "y"], file)
    xs, labels = arrays["x"], arrays["y"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    # Keras leaves the arrays' rows as they are when start_char is None and index_from is 0.
    if start_char is not None or index_from:
        xs = offset_words(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    xs = cap_words(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    return ((np.array(xs[:idx], dtype="object"), np.array(labels[:idx])),
            (np.array(xs[idx:], dtype="object"), np.array(labels[idx:])))


def get_word_index(path: str | os.PathLike = "reuters_word_index.json") -> dict[str, int]:
    """``{word: frequency rank}`` of the Reuters newswires; add ``index_from`` to match ``load_data``'s indexes.

    As ``keras.datasets.reuters.get_word_index()``: ``reuters_word_index.json`` is looked
    for as ``load_data``'s file is (Keras's cache included, if its md5 is Keras's), else downloaded.

    Args:
        path: the file, a folder holding ``reuters_word_index.json``, or the file's name in the caches.

    >>> index = get_word_index()  # doctest: +SKIP
    >>> index["the"]  # doctest: +SKIP
    1
    """
    with open(locate(WORD_INDEX, path)) as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names: label ``i`` of ``load_data`` is ``get_label_names()[i]``, as Keras's.

    >>> names = get_label_names()
    >>> len(names), names[3], names[4]
    (46, 'earn', 'acq')
    """
    return _LABEL_NAMES
