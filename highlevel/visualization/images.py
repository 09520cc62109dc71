"""What the pictures share: matplotlib, imported only when a picture is drawn, and the file formats."""

from __future__ import annotations

import os

__all__ = ["FORMATS", "image_format", "require_matplotlib"]

#: The image formats a picture can be saved as (from the file name's suffix).
FORMATS = ("png", "svg", "pdf")


def require_matplotlib():
    """The ``matplotlib`` module, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Plotting needs matplotlib: pip install matplotlib.") from None
    return matplotlib


def image_format(to_file, default: str = "png") -> str:
    """The image format named by ``to_file``'s suffix (``default`` when it has none).

    >>> image_format("model.svg"), image_format("model")
    ('svg', 'png')
    """
    suffix = os.path.splitext(str(to_file))[1].lower().lstrip(".")
    if not suffix:
        return default
    if suffix not in FORMATS:
        raise ValueError(f"Cannot save a plot as '.{suffix}' ({to_file!r}); name the file with one of "
                         f"{', '.join('.' + f for f in FORMATS)}, e.g. 'model.png'.")
    return suffix
