"""Offline data sources (Keras's ``load_data()`` convention)."""

from highlevel.datasets import digits

__all__ = ["digits"]
