"""Which backend jax runs on: the one place that asks ``jax.default_backend()``."""

from __future__ import annotations

import jax

__all__ = ["name", "is_cpu", "host_memory_is_device", "backend"]


def name() -> str:
    """The backend the computations run on: ``"cpu"``, ``"gpu"`` (or ``"cuda"``, ``"rocm"``) or ``"tpu"``.

    >>> import highlevel as hl
    >>> hl.backend.name() in ("cpu", "gpu", "cuda", "rocm", "tpu")
    True
    """
    return jax.default_backend()


def is_cpu() -> bool:
    """Whether the computations run on the CPU (where the CPU lowerings apply).

    >>> import highlevel as hl
    >>> hl.backend.is_cpu() == (hl.backend.name() == "cpu")
    True
    """
    return name() == "cpu"


def host_memory_is_device() -> bool:
    """Whether a compiled step reads host (NumPy) memory directly: on the CPU backend.

    There, copying a batch to the device ahead of the step only adds work.

    >>> import highlevel as hl
    >>> hl.backend.host_memory_is_device() == hl.backend.is_cpu()
    True
    """
    return is_cpu()


def backend() -> str:
    """Keras's ``keras.backend.backend()``: the framework highlevel runs on, always ``"jax"``.

    (``name()`` gives the device platform, ``"cpu"``, ``"gpu"`` or ``"tpu"``.)

    >>> import highlevel as hl
    >>> hl.backend.backend()
    'jax'
    """
    return "jax"
