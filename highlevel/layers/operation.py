"""An ``hl.ops`` call on symbolic tensors as a node of a functional model (Keras 3's ``Operation`` node).

``x = hl.ops.expand_dims(inputs, -1)`` or ``x = inputs / 255.0`` on an ``hl.Input`` records an
``OpLayer``: the operation's name (``"numpy.expand_dims"``, which ``hl.ops`` resolves) and
its other arguments, with the symbolic tensors replaced by their positions. It has no
weights, passes no mask on (as Keras's operations), and saves and loads with the model:
its arguments are written as JSON (numbers, strings, tuples, slices, small arrays); an
argument that is a Python function cannot be saved and is refused with a sentence.
"""

from __future__ import annotations

import json
from typing import Any

import jax
import numpy as np

from highlevel.layers.base import Layer, register_layer, unique_name
from highlevel.ops.symbolic import resolve

__all__ = ["OpLayer", "encode_arguments", "decode_arguments"]


def encode_arguments(value: Any, tensors: list, is_tensor, objects: list) -> Any:
    """``value`` as JSON data: each tensor (``is_tensor``) appended to ``tensors`` and replaced by its
    position, each Python object JSON cannot hold (a function) appended to ``objects`` likewise.

    >>> encode_arguments((slice(None, 2), Ellipsis, 3.0), [], lambda v: False, [])
    {'__tuple__': [{'__slice__': [None, 2, None]}, {'__ellipsis__': True}, 3.0]}
    """
    def encode(v):
        return encode_arguments(v, tensors, is_tensor, objects)

    if is_tensor(value):
        tensors.append(value)
        return {"__tensor__": len(tensors) - 1}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and hasattr(value, "dtype")):   # np/jnp.float32
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, slice):
        return {"__slice__": [encode(v) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, (np.ndarray, jax.Array)):
        array = np.asarray(value)
        return {"__array__": array.tolist(), "dtype": array.dtype.name}
    objects.append(value)
    return {"__python__": len(objects) - 1, "repr": repr(value)}


def decode_arguments(value: Any, tensors: list, objects: list) -> Any:
    """The arguments ``encode_arguments`` wrote, each position filled from ``tensors`` or ``objects``.

    >>> decode_arguments({'__tuple__': [{'__tensor__': 0}, {'__slice__': [None, 2, None]}]}, ["x"], [])
    ('x', slice(None, 2, None))
    """
    def decode(v):
        return decode_arguments(v, tensors, objects)

    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__python__" in value:
        if value["__python__"] >= len(objects):
            raise ValueError(f"an operation's argument {value['repr']} was a Python object, which a saved "
                             "model does not hold; rebuild the model in Python.")
        return objects[value["__python__"]]
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode(v) for k, v in value["__dict__"].items()}
    if "__slice__" in value:
        return slice(*(decode(v) for v in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__array__" in value:
        return np.asarray(value["__array__"], dtype=value["dtype"])
    if "__dtype__" in value:
        return np.dtype(value["__dtype__"])
    raise ValueError(f"an operation's saved argument {value!r} is not one highlevel writes; re-save the "
                     "model with this version of highlevel.")


def _python_values(value) -> list[str]:
    """The arguments that are Python objects JSON cannot hold (functions, layers...)."""
    if isinstance(value, list):
        return [r for v in value for r in _python_values(v)]
    if isinstance(value, dict):
        if "__python__" in value:
            return [value["repr"]]
        return [r for v in value.values() for r in _python_values(v)]
    return []


@register_layer
class OpLayer(Layer):
    """One ``hl.ops`` operation in a functional graph: ``op`` applied to its recorded arguments.

    Args:
      op: the operation's name in ``hl.ops`` (``"numpy.add"``, ``"nn.relu"``).
      arguments: ``{"args": [...], "kwargs": {...}}`` as ``encode_arguments`` writes them, the
        i-th symbolic input in place of ``{"__tensor__": i}``.
      objects: the Python objects among the arguments, by position (a function given to
        ``ops.cond``); a layer holding any cannot be saved.

    The layer is called on the list of its symbolic inputs. Made by the ops themselves;
    users do not build one.

    >>> import highlevel as hl, numpy as np
    >>> inputs = hl.Input((3,))
    >>> model = hl.Model(inputs, hl.ops.expand_dims(inputs * 2.0, -1))
    >>> model(np.ones((1, 3), "float32")).shape
    (1, 3, 1)
    """

    def __init__(self, op: str, arguments: dict[str, Any], objects: tuple = (), **kwargs):
        kwargs["name"] = kwargs.get("name") or unique_name(op.rpartition(".")[2])   # add, add_1... as Keras
        super().__init__(**kwargs)
        resolve(op)   # refuses an unknown name now, not when the model first runs
        self.op = op
        self.arguments_json = json.dumps(arguments)   # a string: static, hashable, what get_config writes
        self.objects = tuple(objects)   # the Python objects among the arguments (never saved)

    def call(self, inputs, mask=None):
        del mask   # operations pass no Keras mask on, as in Keras 3
        saved, tensors, objects = json.loads(self.arguments_json), list(inputs), list(self.objects)
        args = decode_arguments(saved.get("args", []), tensors, objects)
        kwargs = {k: decode_arguments(v, tensors, objects) for k, v in saved.get("kwargs", {}).items()}
        return resolve(self.op)(*args, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        arguments = json.loads(self.arguments_json)
        python = _python_values(arguments)
        if python:
            raise ValueError(f"Layer '{self.name}' (the operation hl.ops.{self.op}) takes the Python object "
                             f"{python[0]}, which a config cannot hold; write the computation as a Layer "
                             "subclass registered with hl.layers.register_layer to save the model.")
        return {**super().get_config(), "op": self.op, "arguments": arguments}
