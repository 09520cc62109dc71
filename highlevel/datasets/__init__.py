"""Offline data sources (Keras's ``load_data()`` convention)."""

from highlevel.datasets import (audio_directory, boston_housing, california_housing, cifar10, cifar100, csv, digits,
                                directory, fashion_mnist, idx, image_folder, images, imdb, mnist, npz, reuters,
                                synthetic, timeseries)

__all__ = ["audio_directory", "boston_housing", "california_housing", "cifar10", "cifar100", "csv", "digits",
           "directory", "fashion_mnist", "idx", "image_folder", "images", "imdb", "mnist", "npz", "reuters",
           "synthetic", "timeseries"]
