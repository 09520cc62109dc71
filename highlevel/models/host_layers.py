"""Host layers at the front of a ``Sequential``: text preprocessing applied in the data path.

``TextVectorization``, ``StringLookup`` and ``IntegerLookup`` work on strings (or Python
values) that cannot enter a compiled step. When they lead a ``Sequential`` model, the
model applies them to its data on the host before the data reaches the trainer: arrays
once, whole; iterables (lists of batches, generators, a ``PyDataset``) batch by batch.
The compiled step then starts at the first layer after them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["is_host_layer", "host_prefix", "is_raw", "HostMapped", "map_inputs"]


def is_host_layer(layer) -> bool:
    """Whether a layer runs on the host, in the data path (its class sets ``runs_on_host``)."""
    return bool(getattr(layer, "runs_on_host", False))


def host_prefix(layers) -> list:
    """The leading host layers of a list of layers."""
    out = []
    for layer in layers:
        if not is_host_layer(layer):
            break
        out.append(layer)
    return out


def is_raw(x) -> bool:
    """Whether ``x`` is data for the host layers (text, bytes or Python objects), not prepared arrays."""
    if isinstance(x, (str, bytes)):
        return True
    if isinstance(x, (list, tuple)):
        return bool(x) and all(is_raw(v) or isinstance(v, (int, float)) for v in x) and any(is_raw(v) for v in x)
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "OUS"
    return False


class HostMapped:
    """An iterable of batches whose inputs go through ``fn`` on the host (re-iterable when the source is)."""

    def __init__(self, source, fn: Callable[[Any], Any]):
        self.source = source
        self.fn = fn

    def __len__(self) -> int:
        return len(self.source)

    def __iter__(self) -> Iterator:
        for item in self.source:
            if isinstance(item, tuple) and item:
                yield (self.fn(item[0]),) + tuple(item[1:])
            else:
                yield self.fn(item)


def map_inputs(x, fn: Callable[[Any], Any]):
    """``x`` with ``fn`` applied to its inputs: raw arrays whole, iterables of batches batch by batch."""
    if x is None:
        return None
    if is_raw(x):
        return fn(x)
    if isinstance(x, (np.ndarray, dict)) or hasattr(x, "shape") or (isinstance(x, (list, tuple)) and x
                                                                    and hasattr(x[0], "shape")):
        return x   # already prepared arrays
    if hasattr(x, "__iter__"):
        return HostMapped(x, lambda batch: fn(batch) if is_raw(batch) else batch)
    return x
