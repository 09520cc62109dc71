"""Fashion-MNIST (Zalando's 70,000 clothing images of 28x28), Keras's ``load_data()``."""

from __future__ import annotations

import os

from highlevel.datasets.idx import IdxSource, load_idx_dataset

__all__ = ["load_data", "CLASS_NAMES"]

#: Label ``i`` is ``CLASS_NAMES[i]``.
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

SOURCE = IdxSource(
    name="fashion_mnist",
    title="Fashion-MNIST",
    base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    # The MD5 sums published in Zalando's README; the bucket serves plain HTTP only.
    checksums={
        "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
    aliases=("fashion-mnist",),
    # Debian's ``dataset-fashion-mnist`` package. Its .gz files are recompressed, so
    # their MD5 differs from the published one; the IDX content is the same.
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
)


def load_data(path: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)``, uint8 labels 0-9.

    As ``keras.datasets.fashion_mnist.load_data()``: 60,000 training and 10,000
    test images of 10 classes (:data:`CLASS_NAMES`). The four IDX files
    (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, each ``.gz``
    or uncompressed) are looked for in ``path``, then
    ``$HIGHLEVEL_DATA/fashion_mnist/`` (or ``fashion-mnist/``), then
    ``/usr/share/datasets/fashion-mnist/`` (Debian's ``dataset-fashion-mnist``
    package), then ``~/.cache/highlevel/datasets/fashion_mnist/``; otherwise they
    are downloaded into that cache and checked against the published MD5.

    Args:
        path: a folder holding the four files, searched first.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape, CLASS_NAMES[y_train[0]]  # doctest: +SKIP
    ((60000, 28, 28), (10000, 28, 28), 'Ankle boot')
    """
    return load_idx_dataset(SOURCE, path)
