"""Opt-in persistent compilation cache: compiled steps saved to disk and reused by later processes.

Compiling the train step is a large part of the time before the first step (about
0.3-1.2 s for a small model on CPU, seconds for a large one). With the cache on,
a second run of the same model, shapes and jax version loads the executable from
disk instead. This wraps JAX's own cache (``jax_compilation_cache_dir``); see
https://docs.jax.dev/en/latest/persistent_compilation_cache.html.
"""

from __future__ import annotations

import os

import jax

__all__ = ["enable_compilation_cache", "disable_compilation_cache", "DEFAULT_CACHE_DIR"]

DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "highlevel", "jax")


def enable_compilation_cache(path: str | os.PathLike | None = None, *, min_compile_time_secs: float = 0.0,
                             min_entry_size_bytes: int = 0) -> str:
    """Turns on JAX's persistent compilation cache for this process.

    Call it before the first ``fit`` (or anything that compiles): every XLA
    compilation taking at least ``min_compile_time_secs`` is written to ``path``,
    and a later process compiling the same computation with the same jax version
    and flags reads it back instead of compiling. Treat the directory as trusted
    code: whoever can write to it can make your process run what they wrote.

    Args:
      path: the cache directory (created if missing). Default: the environment
        variable ``HIGHLEVEL_COMPILATION_CACHE``, else ``~/.cache/highlevel/jax``.
      min_compile_time_secs: compilations faster than this are not saved (JAX's own
        default is 1.0 s; 0 saves every step, eval and predict function).
      min_entry_size_bytes: executables smaller than this are not saved (0: no minimum).

    Returns:
      The absolute path of the cache directory.

    >>> import highlevel as hl
    >>> hl.utils.enable_compilation_cache("/tmp/jax-cache")  # doctest: +SKIP
    '/tmp/jax-cache'
    """
    if path is None:
        path = os.environ.get("HIGHLEVEL_COMPILATION_CACHE") or DEFAULT_CACHE_DIR
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"enable_compilation_cache needs a directory, but {path!r} is a file; pass a "
                         "directory path (it is created if missing).")
    os.makedirs(path, exist_ok=True)
    _reset_if_initialized()
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_time_secs))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", int(min_entry_size_bytes))
    return path


def disable_compilation_cache() -> None:
    """Turns the persistent compilation cache off again (the files on disk stay).

    >>> import jax, highlevel as hl
    >>> saved = jax.config.jax_compilation_cache_dir
    >>> hl.utils.disable_compilation_cache()
    >>> print(jax.config.jax_compilation_cache_dir)
    None
    >>> jax.config.update("jax_compilation_cache_dir", saved)  # put back this process's setting
    """
    _reset_if_initialized()
    jax.config.update("jax_compilation_cache_dir", None)


def _reset_if_initialized() -> None:
    # JAX opens its cache once, at the first compilation after a directory is set;
    # a new directory takes effect only after a reset.
    from jax.experimental.compilation_cache import compilation_cache
    compilation_cache.reset_cache()
