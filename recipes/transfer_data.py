"""The small dataset of the transfer-learning recipes: a few hundred Fashion-MNIST images as RGB.

Fashion-MNIST ships offline with Debian's ``dataset-fashion-mnist`` package (or is downloaded
once into the cache). ``per_class`` training images of each of the 10 classes are drawn, then
every image is made RGB and resized from 28x28 to ``size`` x ``size``, in 0-255; the caller
applies the network's own ``preprocess_input``.
"""

from __future__ import annotations

import numpy as np

import highlevel as hl

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def load(per_class: int = 50, test_size: int = 1000, size: int = 96, seed: int = 0):
    """``(x_train, y_train), (x_test, y_test)``: RGB images in [0, 255] of shape (size, size, 3)."""
    (x_train, y_train), (x_test, y_test) = hl.datasets.fashion_mnist.load_data()
    x_train, y_train = hl.datasets.images.balanced_subset(x_train, y_train, per_class, seed=seed)
    x_test, y_test = hl.datasets.images.balanced_subset(x_test, y_test, max(1, test_size // 10), seed=seed + 1)
    prepare = lambda x: hl.datasets.images.resize(hl.datasets.images.to_rgb(x), (size, size))  # noqa: E731
    return (prepare(x_train), y_train.astype(np.int32)), (prepare(x_test), y_test.astype(np.int32))
