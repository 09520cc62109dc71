"""Utilities: seeding, the session's global state, registering user objects for configs, the
persistent compilation cache.

``hl.utils.plot_model`` and ``hl.utils.model_graph`` (Keras's names) are
``hl.visualization``'s: they draw models, a row of the table far above this one, so
``highlevel/__init__.py`` puts them here when the package is imported. So is
``hl.utils.find_learning_rate``, which is ``hl.training.find_learning_rate``.
"""

from highlevel.utils.compilation_cache import disable_compilation_cache, enable_compilation_cache
from highlevel.utils.global_state import clear_session
from highlevel.utils.random import set_random_seed
from highlevel.utils.serialization import register_serializable

__all__ = ["clear_session", "disable_compilation_cache", "enable_compilation_cache", "register_serializable",
           "set_random_seed"]
