"""Utilities: seeding, registering user objects for configs."""

from highlevel.utils.random import set_random_seed
from highlevel.utils.serialization import register_serializable

__all__ = ["register_serializable", "set_random_seed"]
