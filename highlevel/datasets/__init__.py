"""Offline data sources (Keras's ``load_data()`` convention)."""

from highlevel.datasets import csv, digits, directory, fashion_mnist, idx, image_folder, images, mnist, npz, synthetic, timeseries

__all__ = ["csv", "digits", "directory", "fashion_mnist", "idx", "image_folder", "images", "mnist", "npz", "synthetic", "timeseries"]
