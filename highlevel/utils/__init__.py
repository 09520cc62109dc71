"""Utilities: seeding."""

from highlevel.utils.random import set_random_seed

__all__ = ["set_random_seed"]
