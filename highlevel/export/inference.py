"""A model's inference pass as a pure function: ``apply(variables, inputs) -> outputs``.

The exporters trace it with the weights as constants; the server jits it with the weights
as arguments. Inference mode throughout: dropout is the identity, batch normalization
uses its moving statistics, nothing draws a random key.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Sequence

import jax
import numpy as np
from flax import nnx

from highlevel import backend
from highlevel.export.signature import TensorSpec, input_specs, output_specs
from highlevel.layers.base import call_context

__all__ = ["InferenceFunction", "portable_lowering"]


@contextlib.contextmanager
def portable_lowering() -> Iterator[None]:
    """Convolutions traced inside lower to XLA's own convolutions (``hl.backend``'s ``"lax"``).

    The CPU lowerings (patches and a matmul, depthwise taps) are faster on XLA:CPU but
    are a CPU's choice; an exported file runs on other runtimes and devices, where one
    convolution operation (ONNX ``Conv``, StableHLO ``convolution``) is what they optimize.

    >>> import highlevel as hl
    >>> with portable_lowering():
    ...     hl.backend.get_conv_lowering()
    'lax'
    """
    before = backend.get_conv_lowering()
    from_environment = os.environ.get(backend.settings.ENVIRONMENT_VARIABLE, "").strip().lower() or "auto"
    backend.set_conv_lowering("lax")
    try:
        yield
    finally:
        backend.set_conv_lowering(None if before == from_environment else before)


def _as_list(outputs, names: Sequence[str]) -> list:
    if isinstance(outputs, dict):
        return [outputs[n] for n in names] if set(names) == set(outputs) else jax.tree_util.tree_leaves(outputs)
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


class InferenceFunction:
    """A model's inference pass as a pure function of its variables and inputs.

    Args:
      model: a built ``hl.Model``; its latest trained weights are taken (``model.module``).
      input_signature: what the model takes, as ``hl.export.input_specs`` accepts it
        (default: the model's own inputs).

    Attributes:
      inputs: a ``TensorSpec`` per input (name, shape with batch ``None``, dtype).
      outputs: a ``TensorSpec`` per output, in ``model.output_names`` order.
      variables: the model's variables (an ``nnx.State``), the first argument of ``apply``.

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,), name="x"), hl.layers.Dropout(0.5), hl.layers.Dense(2, name="y")])
    >>> fn = InferenceFunction(model)
    >>> [s.name for s in fn.inputs], [s.name for s in fn.outputs]
    (['x'], ['y'])
    >>> x = np.ones((4, 3), "float32")
    >>> bool(np.allclose(fn(x)[0], model.predict(x, verbose=0)))
    True
    """

    def __init__(self, model, input_signature=None):
        self.model_name = model.name
        self.inputs, self.structure = input_specs(model, input_signature)
        if not model.built:   # a subclassed model given an input_signature: build it on one row of zeros
            model.build_from_data(self.model_inputs([np.zeros(s.batch_shape(1), s.dtype) for s in self.inputs]))
        self.graphdef, self.variables = nnx.split(model.module)
        self._output_names: list[str] = []
        example = [jax.ShapeDtypeStruct(s.batch_shape(2), s.dtype) for s in self.inputs]
        outputs = jax.eval_shape(self.apply, self.variables, example)
        self.outputs: list[TensorSpec] = output_specs(model, outputs)
        self._output_names = [s.name for s in self.outputs]

    def model_inputs(self, inputs: Sequence[Any]):
        """The flat ``inputs`` (one array per input, in ``self.inputs``' order) as the model takes them.

        Args:
          inputs: one array per input.

        >>> import highlevel as hl
        >>> a, b = hl.Input((2,), name="a"), hl.Input((1,), name="b")
        >>> fn = InferenceFunction(hl.Model([a, b], hl.layers.Concatenate()([a, b])))
        >>> fn.model_inputs(["x", "y"])
        ['x', 'y']
        """
        inputs = list(inputs)
        if self.structure == "single":
            return inputs[0]
        if self.structure == "dict":
            return {s.name: x for s, x in zip(self.inputs, inputs)}
        return inputs

    def apply(self, variables, inputs: Sequence[Any]) -> list:
        """The outputs (a list, in ``self.outputs``' order) for ``inputs`` (one array per input).

        Pure: usable inside ``jax.jit``, ``jax.export`` and ``jax.vmap``.

        Args:
          variables: ``self.variables`` (or a state of the same structure).
          inputs: one array per input, in ``self.inputs``' order.

        >>> import numpy as np, highlevel as hl
        >>> fn = InferenceFunction(hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)]))
        >>> fn.apply(fn.variables, [np.zeros((3, 2), "float32")])[0].shape
        (3, 1)
        """
        module = nnx.merge(self.graphdef, variables, copy=True)
        with call_context(training=False):
            outputs = module(self.model_inputs(inputs), training=False)
        return _as_list(outputs, self._output_names)

    def __call__(self, *inputs) -> list:
        """``apply`` with the model's own variables.

        Args:
          *inputs: one array per input.

        >>> import numpy as np, highlevel as hl
        >>> fn = InferenceFunction(hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)]))
        >>> fn(np.zeros((3, 2), "float32"))[0].shape
        (3, 1)
        """
        return self.apply(self.variables, inputs)
