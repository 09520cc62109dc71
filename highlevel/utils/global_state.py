"""highlevel's global state: kept per thread, and reset by ``clear_session()``.

What a process accumulates while it builds models lives here, not in module globals:
the call context of a forward pass, the counters behind default layer names
(``dense``, ``dense_1``), the ``with strategy:`` stack, the global seed generator and
a few caches. Each thread sees its own (a server thread building a model does not
shift the names or the random keys of another), and ``clear_session()`` drops it all,
as Keras's ``keras.utils.clear_session`` does (keras ``backend/common/global_state.py``).
"""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable, TypeVar

__all__ = ["clear_session", "get_global_attribute", "set_global_attribute", "global_attribute"]

T = TypeVar("T")

_STATE = threading.local()


def set_global_attribute(name: str, value: Any) -> None:
    """Sets this thread's ``name`` (Keras's name and signature)."""
    setattr(_STATE, name, value)


def get_global_attribute(name: str, default: Any = None, set_to_default: bool = False) -> Any:
    """This thread's ``name``; ``default`` (and, with ``set_to_default``, stored) when it is unset.

    >>> set_global_attribute("example", 3)
    >>> get_global_attribute("example"), get_global_attribute("missing", 0)
    (3, 0)
    """
    value = getattr(_STATE, name, None)
    if value is None and default is not None:
        value = default
        if set_to_default:
            set_global_attribute(name, value)
    return value


def global_attribute(name: str, factory: Callable[[], T]) -> T:
    """This thread's ``name``, made by ``factory()`` on first use (a counter, a stack, a cache).

    >>> global_attribute("example_cache", dict)["a"] = 1
    >>> global_attribute("example_cache", dict)
    {'a': 1}
    """
    value = getattr(_STATE, name, None)
    if value is None:
        value = factory()
        setattr(_STATE, name, value)
    return value


def clear_session(free_memory: bool = True) -> None:
    """Resets the state highlevel keeps: default layer names, caches and the global seed generator.

    Default names start again from ``dense`` (not ``dense_10``); the seed generator is
    unseeded, as at the start of a process, until ``hl.utils.set_random_seed`` is called
    again; caches are emptied, so a loop that builds many models keeps a constant memory.
    Models built before keep working. As Keras's ``keras.utils.clear_session``.

    Args:
      free_memory: also run Python's garbage collector, so that memory held by models
        no longer referenced is freed now (it can take a second; pass False in a
        short loop).

    >>> import highlevel as hl
    >>> _ = [hl.layers.Dense(2) for _ in range(3)]
    >>> hl.utils.clear_session()
    >>> hl.layers.Dense(2).name
    'dense'
    """
    global _STATE
    _STATE = threading.local()
    if free_memory:
        gc.collect()
