"""The exporters behind ``model.export(filepath, format=...)``, registered by format name.

``highlevel.export`` (a row of DESIGN.md's table above ``models``) registers the
``"onnx"`` and ``"jax"`` exporters when it is imported, as ``import highlevel`` does;
``models`` only looks them up, so it never imports the row above it.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["register_exporter", "get_exporter", "export_formats"]

# format name -> exporter(model, filepath, input_signature=..., verbose=...)
_EXPORTERS: dict[str, Callable[..., Any]] = {}


def register_exporter(format: str, exporter: Callable[..., Any]) -> None:
    """Makes ``model.export(filepath, format=format)`` call ``exporter``.

    Args:
      format: the format's name, as ``model.export`` takes it (``"onnx"``, ``"jax"``).
      exporter: ``exporter(model, filepath, input_signature=None, verbose=True, **kwargs)``,
        which writes the file and returns its path.

    >>> import highlevel as hl
    >>> register_exporter("onnx", hl.export.export_onnx)
    >>> "onnx" in export_formats()
    True
    """
    if not isinstance(format, str) or not format:
        raise TypeError(f"register_exporter expects a format name (a string), got {format!r}.")
    if not callable(exporter):
        raise TypeError(f"register_exporter expects a function, got {type(exporter).__name__}.")
    _EXPORTERS[format] = exporter


def export_formats() -> list[str]:
    """The format names ``model.export`` accepts now, sorted.

    >>> import highlevel as hl
    >>> export_formats()
    ['jax', 'onnx']
    """
    return sorted(_EXPORTERS)


def get_exporter(format: str) -> Callable[..., Any]:
    """The exporter registered for ``format``; a ValueError naming the known formats otherwise.

    Args:
      format: the format's name.

    >>> import highlevel as hl
    >>> get_exporter("jax") is hl.export.export_jax
    True
    """
    try:
        return _EXPORTERS[format]
    except (KeyError, TypeError):
        known = ", ".join(repr(f) for f in export_formats()) or "none (import highlevel.export first)"
        raise ValueError(f"model.export got format={format!r}; the formats are {known}.") from None
