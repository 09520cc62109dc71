"""What an exported model takes and gives: a name, a shape (batch ``None``) and a dtype per tensor."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from highlevel.layers.symbolic import KerasTensor

__all__ = ["TensorSpec", "input_specs", "output_specs"]


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One input or output of an exported model: its name, shape (batch ``None``) and dtype.

    Args:
      name: the tensor's name (an input layer's name, or an output's name in ``model.output_names``).
      shape: the shape, ``None`` for the dynamic batch dimension.
      dtype: the NumPy dtype name (``"float32"``, ``"int32"``, ...).

    >>> TensorSpec("pixels", (None, 8, 8, 1), "float32").batch_shape(7)
    (7, 8, 8, 1)
    """

    name: str
    shape: tuple
    dtype: str

    def batch_shape(self, batch) -> tuple:
        """The shape with ``batch`` in place of the dynamic batch dimension.

        Args:
          batch: the batch size (an int, or a symbolic dimension of ``jax.export``).

        >>> TensorSpec("x", (None, 3), "float32").batch_shape(2)
        (2, 3)
        """
        return tuple(batch if d is None else d for d in self.shape)

    def to_json(self) -> dict[str, Any]:
        """``{"name", "shape", "dtype"}`` with ``None`` for the batch dimension.

        >>> TensorSpec("x", (None, 3), "float32").to_json()
        {'name': 'x', 'shape': [None, 3], 'dtype': 'float32'}
        """
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


def _spec_from(entry: Any, name: str, where: str) -> TensorSpec:
    if isinstance(entry, KerasTensor):
        shape, dtype = entry.shape, entry.dtype
        if entry.keras_history is not None:
            name = entry.keras_history[0].name
    elif isinstance(entry, (jax.ShapeDtypeStruct, np.ndarray, jax.Array)):
        shape, dtype = tuple(entry.shape), entry.dtype
    elif isinstance(entry, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in entry):
        shape, dtype = tuple(entry), np.float32
    else:
        raise TypeError(f"{where} is {entry!r}; give an hl.Input(...), a jax.ShapeDtypeStruct or a shape tuple "
                        "like (None, 28, 28, 1).")
    shape = tuple(None if d is None else int(d) for d in shape)
    if not shape:
        raise ValueError(f"{where} has no batch dimension (shape ()); give a shape like (None, 16).")
    if any(d is None for d in shape[1:]):
        raise ValueError(f"{where} has shape {shape}: only the first (batch) dimension can be None; give the "
                         "other dimensions as numbers.")
    return TensorSpec(name, shape, jnp.dtype(dtype).name)


def input_specs(model, input_signature=None) -> tuple[list[TensorSpec], str]:
    """The model's inputs, and how the model takes them (``"single"``, ``"list"`` or ``"dict"``).

    Without ``input_signature``: a functional model's ``hl.Input`` tensors (names, shapes,
    dtypes), else the shape the model was built for (float32, named ``"inputs"``).

    Args:
      model: a built ``hl.Model`` (functional, Sequential or subclassed).
      input_signature: None, or one entry per input (a list, or a dict by input name),
        each an ``hl.Input(...)``, a ``jax.ShapeDtypeStruct`` or a shape tuple with ``None``
        for the batch dimension; one entry alone for a single input.

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((8, 8, 1)), hl.layers.Flatten(), hl.layers.Dense(10)])
    >>> specs, structure = input_specs(model)
    >>> specs[0].shape, specs[0].dtype, structure
    ((None, 8, 8, 1), 'float32', 'single')
    """
    if input_signature is not None:
        if isinstance(input_signature, dict):
            specs = [_spec_from(v, str(k), f"input_signature[{k!r}]") for k, v in input_signature.items()]
            specs = [dataclasses.replace(s, name=str(k)) for s, k in zip(specs, input_signature)]
            return specs, "dict"
        single = (isinstance(input_signature, (KerasTensor, jax.ShapeDtypeStruct, np.ndarray, jax.Array))
                  or (isinstance(input_signature, (tuple, list))
                      and all(d is None or isinstance(d, (int, np.integer)) for d in input_signature)))
        if single:
            return [_spec_from(input_signature, "inputs", "input_signature")], "single"
        if not isinstance(input_signature, (tuple, list)) or not input_signature:
            raise TypeError(f"input_signature is {input_signature!r}; give one entry per input (a list or a "
                            "dict), each an hl.Input(...), a jax.ShapeDtypeStruct or a shape tuple.")
        specs = [_spec_from(v, f"inputs_{i}", f"input_signature[{i}]") for i, v in enumerate(input_signature)]
        return specs, ("single" if len(specs) == 1 else "list")
    inputs = getattr(model, "inputs", None)
    if inputs:
        specs = [_spec_from(t, t.keras_history[0].name if t.keras_history else f"inputs_{i}", f"input {i}")
                 for i, t in enumerate(inputs)]
        if isinstance(model.build_input_shape, dict):
            # model.inputs lists a dict's tensors in sorted key order, as jax's tree functions do.
            return [dataclasses.replace(s, name=str(k)) for s, k in zip(specs, sorted(model.build_input_shape))], "dict"
        return specs, ("single" if len(specs) == 1 else "list")
    shape = model.build_input_shape
    if not model.built or shape is None:
        raise ValueError(f"Model '{model.name}' is not built, so its inputs are unknown: pass "
                         "input_signature=(None, ...) (the input's shape), or build the model first.")
    is_shape = lambda s: isinstance(s, tuple) and all(isinstance(d, (int, type(None))) for d in s)
    if is_shape(shape):
        name, dtype = "inputs", np.float32
        first = _first_config_layer(model)
        if first is not None and first.get("class_name") == "InputLayer":   # a Sequential's hl.Input
            name, dtype = first["config"].get("name", name), first["config"].get("dtype") or dtype
        spec = _spec_from((None,) + tuple(shape[1:]), name, f"Model '{model.name}''s input")
        return [dataclasses.replace(spec, dtype=jnp.dtype(dtype).name)], "single"
    return input_specs(model, shape)


def _first_config_layer(model) -> dict | None:
    try:
        layers = model.get_config().get("layers")
    except NotImplementedError:   # a subclassed model without get_config
        return None
    return layers[0] if layers else None


def output_specs(model, example_outputs: Sequence[Any]) -> list[TensorSpec]:
    """The model's outputs by name, from their abstract values (``jax.eval_shape``).

    Args:
      model: the model (for ``model.output_names``).
      example_outputs: one ``jax.ShapeDtypeStruct`` (or array) per output, batch first.

    >>> import jax, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="logits")])
    >>> output_specs(model, [jax.ShapeDtypeStruct((5, 2), "float32")])
    [TensorSpec(name='logits', shape=(None, 2), dtype='float32')]
    """
    try:
        names = list(model.output_names)
    except ValueError:   # a subclassed model that was never built: its outputs have no names
        names = []
    if len(names) != len(example_outputs):
        names = ["output" if len(example_outputs) == 1 else f"output_{i}" for i in range(len(example_outputs))]
    return [TensorSpec(n, (None,) + tuple(int(d) for d in o.shape[1:]), jnp.dtype(o.dtype).name)
            for n, o in zip(names, example_outputs)]
