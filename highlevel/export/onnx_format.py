"""``model.export(path, format="onnx")``: the inference function converted by jax2onnx.

The converter is jax2onnx (a maintained JAX-to-ONNX converter with a plugin per JAX
primitive). Its release pins orbax-checkpoint below the version highlevel needs, so it
is installed without its dependencies, next to the few packages it imports:
``pip install "highlevel[export]" && pip install --no-deps jax2onnx==0.17.1``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from pathlib import Path
from typing import Iterator

import jax
import numpy as np

from highlevel.export.inference import InferenceFunction, portable_lowering
from highlevel.export.report import print_report, write_atomically
from highlevel.layers.base import call_context

__all__ = ["INSTALL", "OPSET", "export_onnx", "onnx_model", "layers_using"]

#: How to install what ONNX export needs.
INSTALL = 'pip install "highlevel[export]" && pip install --no-deps jax2onnx==0.17.1'
#: The ONNX opset the files use (onnxruntime 1.20 and later run it).
OPSET = 21


@contextlib.contextmanager
def _quiet_converter() -> Iterator[None]:
    # jax2onnx logs a warning with a traceback for each optional plugin it cannot import
    # (equinox, dm_pix: libraries highlevel does not use), and onnx_ir one per value
    # whose type it leaves unset; none concerns the model being exported.
    loggers = [logging.getLogger(n) for n in ("jax2onnx", "onnx_ir")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _converter():
    try:
        with _quiet_converter():
            import onnx  # noqa: F401  (jax2onnx needs it; imported here to name it if missing)
            import jax2onnx
    except ImportError as err:
        raise ImportError(f"model.export(format='onnx') needs the optional 'export' extra, and {err.name} is "
                          f"missing: {INSTALL}") from None
    return jax2onnx


def _primitives(jaxpr, found: set[str]) -> set[str]:
    for eqn in jaxpr.eqns:
        found.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)   # a ClosedJaxpr holds its Jaxpr
                if hasattr(inner, "eqns"):
                    _primitives(inner, found)
    return found


def _leaf_layers(model) -> list:
    return [l for l in model.flatten_layers(include_self=False) if not l.flatten_layers(include_self=False)]


def _zeros(shape, dtype):
    if isinstance(shape, (list, dict)) or (isinstance(shape, tuple) and shape and isinstance(shape[0], tuple)):
        return jax.tree_util.tree_map(lambda s: _zeros(s, dtype), shape,
                                      is_leaf=lambda s: isinstance(s, tuple) and all(
                                          d is None or isinstance(d, int) for d in s))
    return np.zeros(tuple(1 if d is None else d for d in shape), dtype)


def layers_using(model, primitive: str) -> list[str]:
    """The names of the model's layers whose inference pass uses the JAX primitive ``primitive``.

    Each layer is traced alone (``jax.make_jaxpr``) on zeros of the shape it was built for.

    Args:
      model: a built ``hl.Model``.
      primitive: a JAX primitive's name (``"dot_general"``, ``"pure_callback"``, ...).

    >>> import highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(2, name="fc"), hl.layers.ReLU(name="act")])
    >>> layers_using(model, "dot_general")
    ['fc']
    """
    names = []
    for layer in _leaf_layers(model):
        shape = layer.build_input_shape
        if shape is None:
            continue
        for dtype in (np.float32, np.int32):
            try:
                with portable_lowering(), call_context(training=False):
                    jaxpr = jax.make_jaxpr(lambda x: layer(x, training=False))(_zeros(shape, dtype))
            except Exception:  # noqa: BLE001  (a layer that does not take this dtype: try the next)
                continue
            if primitive in _primitives(jaxpr.jaxpr, set()):
                names.append(layer.name)
            break
    return names


def _unsupported(model, err: Exception) -> ValueError:
    text = str(err)
    match = re.search(r"primitive '([^']+)'", text)
    if match is None:
        return ValueError(f"ONNX export of model '{model.name}' failed in the converter (jax2onnx): {text} "
                          "Export with format='jax' instead, or replace the layer that needs it.")
    primitive = match.group(1)
    layers = layers_using(model, primitive)
    types = {l.name: type(l).__name__ for l in _leaf_layers(model)}
    where = (", ".join(f"layer '{n}' ({types[n]})" for n in layers) if layers
             else f"model '{model.name}''s own call")
    return ValueError(f"ONNX export of model '{model.name}' failed: {where} uses the JAX operation "
                      f"'{primitive}', which the ONNX converter (jax2onnx) cannot convert. Export with "
                      "format='jax' (StableHLO) instead, or write that layer with operations ONNX has.")


def _uses_bfloat16(graph) -> bool:
    """Whether an ``onnx.GraphProto`` (or a subgraph of it: a loop's body) holds a bfloat16 value."""
    from onnx import AttributeProto, TensorProto
    bf16 = TensorProto.BFLOAT16
    values = [*graph.input, *graph.output, *graph.value_info]
    if any(v.type.tensor_type.elem_type == bf16 for v in values) or any(t.data_type == bf16 for t in graph.initializer):
        return True
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == bf16:
                return True
            if attr.type == AttributeProto.GRAPH and _uses_bfloat16(attr.g):
                return True
            if attr.type == AttributeProto.GRAPHS and any(_uses_bfloat16(g) for g in attr.graphs):
                return True
    return False


def _warn_if_bfloat16(model, proto) -> None:
    if _uses_bfloat16(proto.graph):
        warnings.warn(f"ONNX export of model '{model.name}': the file computes in bfloat16 (the layers' dtype "
                      "policy, e.g. 'mixed_bfloat16'), which onnxruntime's CPU provider cannot run, so it will not "
                      "load there; export a float32 copy instead (copy = hl.models.clone_model(model, clone_function="
                      "lambda layer: type(layer).from_config({**layer.get_config(), 'dtype': 'float32'})), then "
                      "copy.set_weights(model.get_weights())), or use format='jax'.", UserWarning, stacklevel=5)


def onnx_model(model, input_signature=None):
    """The model's inference function as an ``onnx.ModelProto``, batch dimension symbolic (``"batch"``).

    Args:
      model: a built ``hl.Model``.
      input_signature: the inputs, as ``hl.export.input_specs`` takes them (default: the model's).

    >>> import highlevel as hl
    >>> proto = onnx_model(hl.Sequential([hl.Input((3,), name="x"), hl.layers.Dense(2, name="y")]))
    >>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
    (['x'], ['y'])
    """
    return _convert(model, input_signature)[0]


def _convert(model, input_signature):
    jax2onnx = _converter()
    fn = InferenceFunction(model, input_signature)
    batch, = jax.export.symbolic_shape("batch")   # one symbol for every input's batch
    specs = [jax.ShapeDtypeStruct(s.batch_shape(batch), s.dtype) for s in fn.inputs]
    variables = fn.variables

    def serving_default(*inputs):
        outputs = fn.apply(variables, inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    try:
        with _quiet_converter(), portable_lowering():
            proto = jax2onnx.to_onnx(serving_default, inputs=specs, model_name=model.name, opset=OPSET,
                                     input_names=[s.name for s in fn.inputs],
                                     output_names=[s.name for s in fn.outputs])
    except NotImplementedError as err:
        raise _unsupported(model, err) from None
    _warn_if_bfloat16(model, proto)
    return proto, fn


def export_onnx(model, filepath, input_signature=None, verbose: bool = True) -> Path:
    """Writes the model's inference function as an ONNX file (jax2onnx); returns the path.

    Inference mode, a dynamic batch dimension (``"batch"``), the inputs and outputs named
    as the model names them, the layers' dtypes kept. Needs the ``export`` extra (``INSTALL``).
    A model that computes in bfloat16 (``"mixed_bfloat16"``) gives a file that onnxruntime's
    CPU provider does not load (no bfloat16 kernels; ONNX's ``Conv`` takes no bfloat16): a
    ``UserWarning`` says so, and how to export a float32 copy instead.

    Args:
      model: a built ``hl.Model``.
      filepath: the ``.onnx`` file to write (replaced whole, never left half-written).
      input_signature: the inputs, as ``hl.export.input_specs`` takes them (default: the model's).
      verbose: print what was written (the inputs and outputs with shapes and dtypes).

    >>> import os, tempfile, numpy as np, onnxruntime, highlevel as hl
    >>> model = hl.Sequential([hl.Input((3,), name="x"), hl.layers.Dense(2)])
    >>> path = export_onnx(model, os.path.join(tempfile.mkdtemp(), "model.onnx"), verbose=False)
    >>> session = onnxruntime.InferenceSession(str(path))
    >>> y, = session.run(None, {"x": np.ones((5, 3), "float32")})
    >>> np.allclose(y, model.predict(np.ones((5, 3)), verbose=0), atol=1e-6)
    True
    """
    proto, fn = _convert(model, input_signature)
    path = Path(filepath)
    write_atomically(path, proto.SerializeToString())
    if verbose:
        print_report("ONNX", path, fn.inputs, fn.outputs, extra=f"opset: {OPSET}")
    return path
