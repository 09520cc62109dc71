"""The documented setting that chooses among the CPU lowerings of convolutions, and Keras's
default ``data_format`` of image layers (``image_data_format``).

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

__all__ = ["CONV_LOWERINGS", "ENVIRONMENT_VARIABLE", "get_conv_lowering", "set_conv_lowering", "image_data_format",
           "set_image_data_format"]

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


# Keras's ``image_data_format``: the data_format of image layers built with data_format=None.
# Process-wide and kept by clear_session, as Keras's (set once, before building a model).
_image_data_format = "channels_last"


def image_data_format() -> str:
    """The ``data_format`` that image layers take when theirs is None (Keras's ``image_data_format()``).

    >>> import highlevel as hl
    >>> hl.backend.image_data_format()
    'channels_last'
    """
    return _image_data_format


def set_image_data_format(data_format: str) -> None:
    """Sets the default ``data_format`` of image layers built afterwards, as Keras's ``set_image_data_format``.

    A layer keeps the value it was built with (its config records it), so set this before
    building a model.

    Args:
      data_format: ``"channels_last"`` (the default) or ``"channels_first"``.

    >>> import highlevel as hl
    >>> hl.backend.set_image_data_format("channels_first")
    >>> hl.layers.MaxPooling2D().data_format
    'channels_first'
    >>> hl.backend.set_image_data_format("channels_last")
    """
    global _image_data_format
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format's data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    _image_data_format = value
