"""``hl.ops`` on a functional model's symbolic tensors: ``ops.expand_dims(hl.Input(...), -1)``.

As in Keras 3, an operation called on a symbolic tensor (``hl.Input`` and what layers make
of it) is not computed: it becomes a node of the functional graph, and the model runs it
on real arrays. This module knows nothing of layers or graphs (they sit above ``ops`` in
DESIGN.md's table): every public operation checks its arguments for the symbolic tensor
type the functional API registers with :func:`register_symbolic`, and hands such a call to
the recorder it registered, under the operation's name (``"numpy.expand_dims"``), which
:func:`resolve` maps back to the operation when a saved model is loaded.

The shape queries (``shape``, ``ndim``, ``size``, ``dtype``) answer from the symbolic
tensor at once, as in Keras (the batch axis is None).
"""

from __future__ import annotations

import functools
import importlib
import math
from typing import Any, Callable

__all__ = ["register_symbolic", "is_symbolic", "resolve", "dispatching", "dispatch_namespace"]

_registered: dict[str, Any] = {"type": None, "record": None}
_NAMESPACES = ("convolution", "core", "image", "linalg", "math", "nn", "numpy")


def register_symbolic(tensor_type: type, record: Callable[[str, tuple, dict], Any]) -> None:
    """Sets the symbolic tensor type and how a call with one among its arguments is recorded.

    Args:
      tensor_type: the functional API's symbolic tensor class.
      record: ``record(name, args, kwargs)`` for the operation ``resolve(name)`` called with
        ``args``/``kwargs``, some of them symbolic; returns the call's symbolic outputs.
    """
    _registered["type"], _registered["record"] = tensor_type, record


def is_symbolic(value) -> bool:
    """Whether ``value`` is a symbolic tensor, or a list/tuple/dict holding one (``concatenate([a, b])``).

    >>> is_symbolic([1.0, 2.0])
    False
    """
    kind = _registered["type"]
    if kind is None:
        return False
    if isinstance(value, kind):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_symbolic(v) for v in value)
    if isinstance(value, dict):
        return any(is_symbolic(v) for v in value.values())
    return False


def resolve(name: str) -> Callable:
    """The operation a recorded name stands for: ``"numpy.expand_dims"`` -> ``hl.ops.numpy.expand_dims``.

    >>> resolve("nn.relu").__name__
    'relu'
    """
    namespace, _, op = name.partition(".")
    fn = getattr(importlib.import_module(f"highlevel.ops.{namespace}"), op, None) if namespace in _NAMESPACES else None
    if not callable(fn):
        raise ValueError(f"{name!r} names no operation of hl.ops; a saved model's operations are written as "
                         f"'<namespace>.<name>' with the namespace one of {', '.join(_NAMESPACES)}.")
    return fn


def _static(op: str, x):
    """A shape query on a symbolic tensor, answered from its spec."""
    if op == "shape":
        return tuple(x.shape)
    if op == "ndim":
        return len(x.shape)
    if op == "dtype":
        return str(x.dtype)
    return None if any(d is None for d in x.shape) else math.prod(x.shape)   # size


_QUERIES = ("shape", "ndim", "size", "dtype")
_PLAIN = ("is_tensor", "convert_to_numpy")   # questions about values, not operations on them


def dispatching(namespace: str, fn: Callable) -> Callable:
    """``fn`` that records a call with symbolic arguments instead of computing it.

    Args:
      namespace: the ``hl.ops`` namespace the function is published in (``"numpy"``).
      fn: the operation.
    """
    if getattr(fn, "__hl_op__", None) is not None or fn.__name__ in _PLAIN:
        return fn
    name = f"{namespace}.{fn.__name__}"

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _registered["type"] is not None and (any(is_symbolic(a) for a in args)
                                                or any(is_symbolic(v) for v in kwargs.values())):
            if fn.__name__ in _QUERIES and len(args) == 1 and not kwargs:
                return _static(fn.__name__, args[0])
            return _registered["record"](name, args, kwargs)
        return fn(*args, **kwargs)

    op.__hl_op__ = name
    return op


def dispatch_namespace(namespace: str, scope: dict, names: list[str]) -> None:
    """Replaces the functions ``names`` of a namespace module's ``scope`` by dispatching ones."""
    for key in names:
        value = scope.get(key)
        if callable(value) and not isinstance(value, type):
            scope[key] = dispatching(namespace, value)
