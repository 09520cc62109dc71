"""MNIST handwritten digits (70,000 images of 28x28), Keras's ``load_data()``."""

from __future__ import annotations

import os

from highlevel.datasets.idx import IdxSource, load_idx_dataset

__all__ = ["load_data"]

SOURCE = IdxSource(
    name="mnist",
    title="MNIST",
    base_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
    checksums={
        "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
)


def load_data(path: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)``, uint8 labels 0-9.

    As ``keras.datasets.mnist.load_data()``: 60,000 training and 10,000 test
    images. The four IDX files (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``, each ``.gz`` or uncompressed) are looked for
    in ``path``, then ``$HIGHLEVEL_DATA/mnist/``, then
    ``~/.cache/highlevel/datasets/mnist/``; otherwise they are downloaded into
    that cache and checked against their SHA-256.

    Args:
        path: a folder holding the four files, searched first.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    return load_idx_dataset(SOURCE, path)
