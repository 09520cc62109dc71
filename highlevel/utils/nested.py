"""Nested dicts and lists as flat ``{"a.b.0.c": value}`` dicts (config parameters, run comparison)."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["flatten"]


def flatten(tree: Any, prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """The leaves of nested dicts and lists, keyed by their dotted paths (list items by index).

    An empty dict or list inside the tree is kept as a leaf, so that it still shows; an empty
    tree gives an empty dict.

    Args:
      tree: nested dicts and lists (a config); anything else is a leaf.
      prefix: put before every key.
      sep: between the parts of a path.

    Returns:
      ``{path: leaf}`` in the order of the tree.

    >>> flatten({"model": {"layers": [{"Dense": {"units": 8}}, {"Flatten": {}}]}, "seed": 0})
    {'model.layers.0.Dense.units': 8, 'model.layers.1.Flatten': {}, 'seed': 0}
    """
    out: dict[str, Any] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, Mapping) and node:
            for key, value in node.items():
                walk(value, f"{path}{sep}{key}" if path else str(key))
        elif isinstance(node, (list, tuple)) and node:
            for i, value in enumerate(node):
                walk(value, f"{path}{sep}{i}" if path else str(i))
        elif path or not isinstance(node, (Mapping, list, tuple)):
            out[path] = node

    walk(tree, prefix)
    return out
