"""Keras's ``rearrange``: einops-style axis reordering, merging and splitting as one reshape, transpose, reshape.

A pattern ``"b (h h1) w c -> b h (w h1 c)"`` names the input's axes on the left (a group in
parentheses is one input axis split into several, row-major) and lists every one of them once
on the right, in the output's order (a group merges axes). In each input group at most one
axis may have no length given in ``axes_lengths``; it is inferred.
"""

from __future__ import annotations

import math
import re

import jax.numpy as jnp

from highlevel.ops.symbolic import dispatch_namespace

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\(([^()]*)\)|([A-Za-z_]\w*)|(\S)")


def _groups(side: str, pattern: str) -> list[list[str]]:
    """``"b (h h1) c"`` -> ``[["b"], ["h", "h1"], ["c"]]``."""
    groups = []
    for group, name, other in _TOKEN.findall(side):
        if other:
            raise ValueError(f"rearrange `pattern` {pattern!r}: {other!r} is not an axis name or a group in "
                             "parentheses (names are letters, digits and underscores, starting with a letter).")
        names = group.split() if group or not name else [name]
        if not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
            raise ValueError(f"rearrange `pattern` {pattern!r}: the group ({group}) must hold axis names.")
        groups.append(names)
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Reorders, merges and splits axes by an einops pattern, as ``keras.ops.rearrange``.

    Args:
        tensor: the input.
        pattern: ``"<input axes> -> <output axes>"``, with groups in parentheses.
        **axes_lengths: the lengths of axes that an input group splits.

    >>> from highlevel import ops
    >>> import numpy as np
    >>> ops.rearrange(np.zeros((2, 6, 4, 3)), "b (h h1) w c -> b h (w h1 c)", h1=2).shape
    (2, 3, 24)
    """
    x = jnp.asarray(tensor)
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"rearrange `pattern` must be a string '<input axes> -> <output axes>', got {pattern!r}.")
    left, right = pattern.split("->")
    inputs, outputs = _groups(left, pattern), _groups(right, pattern)
    names = [n for g in inputs for n in g]
    if len(inputs) != x.ndim:
        raise ValueError(f"rearrange `pattern` {pattern!r} names {len(inputs)} input axes, but the tensor has "
                         f"{x.ndim} (shape {x.shape}).")
    out_names = [n for g in outputs for n in g]
    if len(set(names)) != len(names) or sorted(names) != sorted(out_names):
        raise ValueError(f"rearrange `pattern` {pattern!r} must name every input axis once on each side; got "
                         f"{names} -> {out_names}.")
    unused = set(axes_lengths) - set(names)
    if unused:
        raise ValueError(f"rearrange got axes_lengths for {sorted(unused)}, which the pattern {pattern!r} does "
                         "not name.")
    sizes: dict[str, int] = {}
    for group, dim in zip(inputs, x.shape):
        unknown = [n for n in group if n not in axes_lengths]
        if len(group) == 1 and unknown:
            sizes[group[0]] = dim
            continue
        if len(unknown) > 1:
            raise ValueError(f"rearrange `pattern` {pattern!r}: the group ({' '.join(group)}) has more than one "
                             f"axis of unknown length {unknown}; pass all but one in axes_lengths.")
        known = math.prod(int(axes_lengths[n]) for n in group if n in axes_lengths)
        if (dim % known if unknown else dim != known):
            raise ValueError(f"rearrange: the input axis of length {dim} cannot be split as ({' '.join(group)}) "
                             f"with {({n: axes_lengths[n] for n in group if n in axes_lengths})}.")
        sizes.update({n: int(axes_lengths[n]) if n in axes_lengths else dim // known for n in group})
    x = jnp.reshape(x, tuple(sizes[n] for n in names))
    x = jnp.transpose(x, tuple(names.index(n) for n in out_names))
    return jnp.reshape(x, tuple(math.prod(sizes[n] for n in g) for g in outputs))


dispatch_namespace("core", globals(), __all__)   # calls on symbolic tensors become graph nodes
