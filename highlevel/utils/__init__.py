"""Utilities: seeding, the session's global state, registering user objects for configs, the
persistent compilation cache, plot_model."""

from highlevel.utils.compilation_cache import disable_compilation_cache, enable_compilation_cache
from highlevel.utils.global_state import clear_session
from highlevel.utils.plotting import model_graph, plot_model
from highlevel.utils.random import set_random_seed
from highlevel.utils.serialization import register_serializable

__all__ = ["clear_session", "disable_compilation_cache", "enable_compilation_cache", "model_graph", "plot_model",
           "register_serializable", "set_random_seed"]
