"""The documented setting that chooses among the CPU lowerings of convolutions.

``HIGHLEVEL_CONV_CPU`` (environment variable) or ``hl.backend.set_conv_lowering(...)``:

- ``"auto"`` (default): each CPU lowering where it measured faster;
- ``"patches"``: patches and one matmul wherever they apply (also for 'same' stride-1);
- ``"lax"``: XLA's own convolutions everywhere (no patches, no chunked kernel gradient,
  no depthwise taps).

It is read when a layer's call is traced (when a step compiles), not at import: set it
before the model is compiled. Other backends than the CPU ignore it.
"""

from __future__ import annotations

import os

__all__ = ["CONV_LOWERINGS", "ENVIRONMENT_VARIABLE", "get_conv_lowering", "set_conv_lowering"]

#: The values of the setting.
CONV_LOWERINGS = ("auto", "patches", "lax")
#: The environment variable that holds the setting.
ENVIRONMENT_VARIABLE = "HIGHLEVEL_CONV_CPU"

# set_conv_lowering's value, over the environment variable: a process-wide setting, as
# jax.config's (the threads of one process compile for the same machine).
_chosen: str | None = None


def _check(mode, where: str) -> str:
    value = str(mode).strip().lower()
    if value not in CONV_LOWERINGS:
        raise ValueError(f"{where} must be one of {', '.join(repr(m) for m in CONV_LOWERINGS)}, got {mode!r}.")
    return value


def get_conv_lowering() -> str:
    """The CPU convolution lowering setting now: ``set_conv_lowering``'s, else ``HIGHLEVEL_CONV_CPU``, else ``"auto"``.

    >>> import highlevel as hl
    >>> hl.backend.get_conv_lowering() in ("auto", "patches", "lax")
    True
    """
    if _chosen is not None:
        return _chosen
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if not value:
        return "auto"
    return _check(value, f"The environment variable {ENVIRONMENT_VARIABLE}")


def set_conv_lowering(mode: str | None) -> None:
    """Chooses how convolutions lower on a CPU, over ``HIGHLEVEL_CONV_CPU`` (None: back to it).

    Takes effect for steps compiled afterwards (a compiled step keeps its lowering).

    Args:
      mode: ``"auto"``, ``"patches"`` or ``"lax"`` (see ``hl.backend``), or None to follow
        the environment variable again.

    >>> import highlevel as hl
    >>> hl.backend.set_conv_lowering("lax")
    >>> hl.backend.get_conv_lowering()
    'lax'
    >>> hl.backend.set_conv_lowering(None)
    """
    global _chosen
    _chosen = None if mode is None else _check(mode, "set_conv_lowering's mode")
