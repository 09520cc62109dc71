"""Counting XLA compilations from jax's compile events (optax ``alias_test.py`` style)."""

from __future__ import annotations

import contextlib

import jax

_EVENT = "/jax/core/compile/backend_compile_duration"
_active: list[list[str]] = []


def _listener(event: str, duration: float, **kwargs) -> None:
    if event == _EVENT:
        for counter in _active:
            counter.append(kwargs.get("fun_name", "?"))


jax.monitoring.register_event_duration_secs_listener(_listener)


@contextlib.contextmanager
def count_compilations():
    """Yields a list that collects one entry per XLA compilation inside the block."""
    compiled: list[str] = []
    _active.append(compiled)
    try:
        yield compiled
    finally:
        _active.remove(compiled)
