"""``model.export``: a trained model as StableHLO (``jax.export``) or ONNX, for use without highlevel.

``model.export(path, format="jax")`` writes the inference function serialized by
``jax.export`` (a symbolic batch dimension, lowered for CPU, CUDA and TPU), which
``jax.export.deserialize`` loads in any process with jax. ``model.export(path,
format="onnx")`` writes an ONNX file (converted by jax2onnx; the ``export`` extra) that
onnxruntime and other ONNX runtimes load. Both run in inference mode (dropout off,
batch normalization on its moving statistics) and keep the inputs' and outputs' names.
Importing this package registers both formats with ``model.export``.

>>> import os, tempfile, numpy as np, jax, highlevel as hl
>>> model = hl.Sequential([hl.Input((4,)), hl.layers.Dense(3)])
>>> path = model.export(os.path.join(tempfile.mkdtemp(), "model.jax"), format="jax", verbose=False)
>>> jax.export.deserialize(bytearray(path.read_bytes())).call(np.ones((2, 4), "float32")).shape
(2, 3)
"""

from highlevel.export.inference import InferenceFunction, portable_lowering
from highlevel.export.onnx_format import export_onnx, layers_using, onnx_model
from highlevel.export.signature import TensorSpec, input_specs, output_specs
from highlevel.export.stablehlo import PLATFORMS, export_jax, jax_exported
from highlevel.models.exporting import register_exporter

register_exporter("onnx", export_onnx)
register_exporter("jax", export_jax)

__all__ = ["InferenceFunction", "PLATFORMS", "TensorSpec", "export_jax", "export_onnx", "input_specs",
           "jax_exported", "layers_using", "onnx_model", "output_specs", "portable_lowering"]
