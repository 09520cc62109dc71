"""``model.export(path, format="jax")``: the inference function serialized by ``jax.export`` (StableHLO).

The file is ``jax.export.Exported.serialize()``'s bytes: a symbolic batch dimension,
the weights as constants, lowered for every platform in ``platforms``. Any process
with jax loads and runs it, without highlevel::

    exported = jax.export.deserialize(bytearray(open(path, "rb").read()))
    y = exported.call(x)                      # one input; several: exported.call({"a": a, "b": b})
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import jax

from highlevel.export.inference import InferenceFunction, portable_lowering
from highlevel.export.report import print_report, write_atomically

__all__ = ["PLATFORMS", "export_jax", "jax_exported"]

#: The platforms a ``"jax"`` export is lowered for (every one jax lowers to).
PLATFORMS = ("cpu", "cuda", "tpu")


def jax_exported(model, input_signature=None, platforms: Sequence[str] = PLATFORMS) -> jax.export.Exported:
    """The model's inference function as a ``jax.export.Exported``, batch dimension symbolic.

    One input is taken as an array, several as a dict by input name; one output is
    returned as an array, several as a dict by output name.

    Args:
      model: a built ``hl.Model``.
      input_signature: the inputs, as ``hl.export.input_specs`` takes them (default: the model's).
      platforms: the platforms to lower for (``"cpu"``, ``"cuda"``, ``"rocm"``, ``"tpu"``).

    >>> import numpy as np, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> exported = jax_exported(model, platforms=("cpu",))
    >>> exported.in_avals[0].shape[1:], exported.call(np.ones((5, 3), "float32")).shape
    ((3,), (5, 2))
    """
    return _export(model, input_signature, platforms)[0]


def _export(model, input_signature, platforms: Sequence[str]) -> tuple[jax.export.Exported, InferenceFunction]:
    fn = InferenceFunction(model, input_signature)
    batch, = jax.export.symbolic_shape("batch")
    specs = [jax.ShapeDtypeStruct(s.batch_shape(batch), s.dtype) for s in fn.inputs]
    names = [s.name for s in fn.outputs]
    variables = fn.variables

    def unpack(outputs):
        return outputs[0] if len(outputs) == 1 else dict(zip(names, outputs))

    if len(specs) == 1:
        def serving_default(x):
            return unpack(fn.apply(variables, [x]))
        args = (specs[0],)
    else:
        def serving_default(inputs):
            return unpack(fn.apply(variables, [inputs[s.name] for s in fn.inputs]))
        args = ({s.name: spec for s, spec in zip(fn.inputs, specs)},)
    try:
        with portable_lowering():
            return jax.export.export(jax.jit(serving_default), platforms=tuple(platforms))(*args), fn
    except NotImplementedError as err:   # e.g. a host callback, which no serialized function can hold
        raise ValueError(f"jax.export cannot lower model '{model.name}' for {', '.join(platforms)}: {err}. "
                         "Replace the operation it names, or pass platforms=(...) without the failing "
                         "one.") from None


def export_jax(model, filepath, input_signature=None, verbose: bool = True,
               platforms: Sequence[str] = PLATFORMS) -> Path:
    """Writes the model's inference function as serialized StableHLO (``jax.export``); returns the path.

    Args:
      model: a built ``hl.Model``.
      filepath: the file to write (replaced whole, never left half-written).
      input_signature: the inputs, as ``hl.export.input_specs`` takes them (default: the model's).
      verbose: print what was written (the inputs and outputs with shapes and dtypes).
      platforms: the platforms to lower for (default: CPU, CUDA and TPU).

    >>> import os, tempfile, numpy as np, jax, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)])
    >>> path = export_jax(model, os.path.join(tempfile.mkdtemp(), "model.jax"), verbose=False)
    >>> exported = jax.export.deserialize(bytearray(path.read_bytes()))
    >>> exported.platforms
    ('cpu', 'cuda', 'tpu')
    >>> np.allclose(exported.call(np.ones((4, 3), "float32")), model.predict(np.ones((4, 3)), verbose=0))
    True
    """
    exported, fn = _export(model, input_signature, platforms)
    path = Path(filepath)
    write_atomically(path, bytes(exported.serialize()))
    if verbose:
        print_report("StableHLO (jax.export)", path, fn.inputs, fn.outputs,
                     extra=f"platforms: {', '.join(exported.platforms)}")
    return path
