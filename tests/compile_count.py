"""Counting XLA compilations from jax's compile events (optax ``alias_test.py`` style)."""

from __future__ import annotations

import contextlib

import jax
from jax.experimental.compilation_cache import compilation_cache

_EVENT = "/jax/core/compile/backend_compile_duration"
_active: list[list[str]] = []


def _listener(event: str, duration: float, **kwargs) -> None:
    if event == _EVENT:
        for counter in _active:
            counter.append(kwargs.get("fun_name", "?"))


jax.monitoring.register_event_duration_secs_listener(_listener)


@contextlib.contextmanager
def count_compilations():
    """Yields a list that collects one entry per XLA compilation inside the block.

    The suite's persistent compilation cache (``conftest.py``) is off inside the block: a
    program read back from it emits no compile event, so it would hide a recompilation.
    """
    compiled: list[str] = []
    _active.append(compiled)
    was_on = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    compilation_cache.reset_cache()
    try:
        yield compiled
    finally:
        _active.remove(compiled)
        jax.config.update("jax_enable_compilation_cache", was_on)
        compilation_cache.reset_cache()
