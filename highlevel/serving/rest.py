"""TF Serving's REST API as plain functions: request bodies to arrays, arrays to response bodies.

``POST /v1/models/NAME:predict`` takes ``{"instances": [...]}`` (the row format: one entry
per example, a dict by input name when the model has several inputs) or ``{"inputs":
...}`` (the columnar format: one batched value, or a dict of them by input name). The
row format is answered ``{"predictions": [...]}`` (one entry per example; a dict by
output name when there are several outputs), the columnar one ``{"outputs": ...}`` (one
batched value, or a dict of them by output name). Status and metadata bodies follow
TF Serving's too. Nothing here needs a web framework: ``app.py`` wires it to one.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from highlevel.export import TensorSpec

__all__ = ["RequestError", "parse_predict_request", "predict_response", "status_response", "metadata_response",
           "TF_DTYPES"]

#: NumPy dtype names -> TensorFlow's names, as TF Serving's metadata writes them.
TF_DTYPES = {"float32": "DT_FLOAT", "float16": "DT_HALF", "bfloat16": "DT_BFLOAT16", "float64": "DT_DOUBLE",
             "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8",
             "uint16": "DT_UINT16", "uint32": "DT_UINT32", "uint64": "DT_UINT64", "bool": "DT_BOOL"}

_NUMBER_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}


class RequestError(Exception):
    """A request the server refuses: an HTTP status and one sentence naming the problem.

    Args:
      status: the HTTP status code (400, 404, 413, ...).
      message: what is wrong and how to fix it.

    >>> err = RequestError(404, "no model 'x'")
    >>> err.status, str(err)
    (404, "no model 'x'")
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _array(value: Any, spec: TensorSpec, where: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise RequestError(400, f"{where}: input '{spec.name}' is not a rectangular array (its rows differ in "
                                f"length); the model takes shape {_shape_text(spec.shape)}.") from None
    if array.dtype.kind not in _NUMBER_KINDS:
        what = "strings" if array.dtype.kind in "US" else f"values of type {array.dtype}"
        if array.dtype == object:
            what = "mixed or nested values of different depths"
        raise RequestError(400, f"{where}: input '{spec.name}' holds {what}; it takes numbers ({spec.dtype}).")
    if np.dtype(spec.dtype).kind in "iub" and array.dtype.kind == "f":
        raise RequestError(400, f"{where}: input '{spec.name}' holds fractional numbers; it takes "
                                f"{_NUMBER_KINDS[np.dtype(spec.dtype).kind]} ({spec.dtype}).")
    if spec.shape is not None:
        want = spec.shape
        if array.ndim != len(want) or any(w is not None and g != w for g, w in zip(array.shape, want)):
            raise RequestError(400, f"{where}: input '{spec.name}' has shape {_shape_text(array.shape)} (examples "
                                    f"first), but the model takes {_shape_text(want)}.")
    with np.errstate(over="ignore"):   # a value beyond float32's range: refused by the servable's check
        return array.astype(spec.dtype)


def parse_predict_request(body: Any, inputs: Sequence[TensorSpec]) -> tuple[list[np.ndarray], str]:
    """The arrays of a ``:predict`` body (one per input, examples first), and its format.

    Args:
      body: the decoded JSON body.
      inputs: the served model's inputs (names, shapes with batch ``None``, dtypes).

    Returns:
      ``(arrays, "row")`` for ``{"instances": ...}``, ``(arrays, "columnar")`` for ``{"inputs": ...}``.

    >>> spec = [TensorSpec("x", (None, 2), "float32")]
    >>> arrays, form = parse_predict_request({"instances": [[1, 2], [3, 4]]}, spec)
    >>> arrays[0].shape, form
    ((2, 2), 'row')
    >>> parse_predict_request({"instances": [[1, 2, 3]]}, spec)
    Traceback (most recent call last):
    ...
    highlevel.serving.rest.RequestError: instances: input 'x' has shape (1, 3) (examples first), but the model ...
    """
    names = [s.name for s in inputs]
    if not isinstance(body, dict):
        raise RequestError(400, 'The request body must be a JSON object with "instances" (rows) or "inputs" '
                                f"(columns), got a JSON {type(body).__name__}.")
    unknown = sorted(set(body) - {"instances", "inputs", "signature_name"})
    if unknown:
        raise RequestError(400, f"The request has unknown keys {unknown}; it takes \"instances\" or \"inputs\" "
                                "(and optionally \"signature_name\").")
    signature = body.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise RequestError(400, f"signature_name is {signature!r}; this model has only 'serving_default'.")
    if ("instances" in body) == ("inputs" in body):
        raise RequestError(400, 'The request must have exactly one of "instances" (rows) and "inputs" (columns).')
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise RequestError(400, '"instances" must be a non-empty list with one entry per example.')
        columns: dict[str, list] = {n: [] for n in names}
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                missing = [n for n in names if n not in row]
                extra = sorted(set(row) - set(names))
                if missing or extra:
                    raise RequestError(400, f"instances[{i}] has the inputs {sorted(row)}; the model takes "
                                            f"{names}.")
                for n in names:
                    columns[n].append(row[n])
            elif len(names) == 1:
                columns[names[0]].append(row)
            else:
                raise RequestError(400, f"instances[{i}] is not a dict, but the model has several inputs: give "
                                        f"each instance as {{{', '.join(repr(n) + ': ...' for n in names)}}}.")
        arrays = [_array(columns[s.name], s, "instances") for s in inputs]
        form = "row"
    else:
        value = body["inputs"]
        if isinstance(value, dict):
            missing = [n for n in names if n not in value]
            extra = sorted(set(value) - set(names))
            if missing or extra:
                raise RequestError(400, f"\"inputs\" has the inputs {sorted(value)}; the model takes {names}.")
            arrays = [_array(value[s.name], s, "inputs") for s in inputs]
        elif len(names) == 1:
            arrays = [_array(value, inputs[0], "inputs")]
        else:
            raise RequestError(400, f"The model has several inputs: give \"inputs\" as a dict by name ({names}).")
        form = "columnar"
    sizes = {s.name: (a.shape[0] if a.ndim else 0) for s, a in zip(inputs, arrays)}
    if any(a.ndim == 0 for a in arrays) or len(set(sizes.values())) > 1 or 0 in sizes.values():
        raise RequestError(400, f"The inputs must hold the same number of examples (at least one), got {sizes}.")
    return arrays, form


def predict_response(outputs: Sequence[np.ndarray], specs: Sequence[TensorSpec], form: str) -> dict[str, Any]:
    """TF Serving's answer to a ``:predict`` request, for the outputs (one array per output).

    Args:
      outputs: one array per output, examples first.
      specs: the outputs' specs (for their names).
      form: ``"row"`` (answered with ``"predictions"``) or ``"columnar"`` (``"outputs"``).

    >>> y = [np.array([[1.0], [2.0]]), np.array([[3, 4], [5, 6]])]
    >>> predict_response(y, [TensorSpec("a", (None, 1), "float32"), TensorSpec("b", (None, 2), "int32")], "row")
    {'predictions': [{'a': [1.0], 'b': [3, 4]}, {'a': [2.0], 'b': [5, 6]}]}
    >>> predict_response(y[:1], [TensorSpec("a", (None, 1), "float32")], "columnar")
    {'outputs': [[1.0], [2.0]]}
    """
    names = [s.name for s in specs]
    if form == "row":
        if len(outputs) == 1:
            return {"predictions": np.asarray(outputs[0]).tolist()}
        lists = [np.asarray(o).tolist() for o in outputs]
        return {"predictions": [dict(zip(names, row)) for row in zip(*lists)]}
    if len(outputs) == 1:
        return {"outputs": np.asarray(outputs[0]).tolist()}
    return {"outputs": {n: np.asarray(o).tolist() for n, o in zip(names, outputs)}}


def status_response(version: str = "1") -> dict[str, Any]:
    """TF Serving's answer to ``GET /v1/models/NAME``: the one version, available.

    Args:
      version: the version's label.

    >>> status_response()["model_version_status"][0]["state"]
    'AVAILABLE'
    """
    return {"model_version_status": [{"version": version, "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def _tensor_info(spec: TensorSpec) -> dict[str, Any]:
    shape = {"unknown_rank": True} if spec.shape is None else {
        "dim": [{"size": "-1" if d is None else str(d), "name": ""} for d in spec.shape], "unknown_rank": False}
    return {"dtype": TF_DTYPES.get(spec.dtype, spec.dtype), "tensor_shape": shape,
            "name": f"serving_default_{spec.name}:0"}


def metadata_response(name: str, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                      version: str = "1") -> dict[str, Any]:
    """TF Serving's answer to ``GET /v1/models/NAME/metadata``: the signature's inputs and outputs.

    Args:
      name: the model's name.
      inputs: the inputs' specs (what requests send).
      outputs: the outputs' specs.
      version: the version's label.

    >>> meta = metadata_response("m", [TensorSpec("x", (None, 2), "float32")], [TensorSpec("y", (None, 1), "float32")])
    >>> sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    >>> sig["inputs"]["x"]["dtype"], [d["size"] for d in sig["inputs"]["x"]["tensor_shape"]["dim"]]
    ('DT_FLOAT', ['-1', '2'])
    """
    signature = {"inputs": {s.name: _tensor_info(s) for s in inputs},
                 "outputs": {s.name: _tensor_info(s) for s in outputs},
                 "method_name": "tensorflow/serving/predict"}
    return {"model_spec": {"name": name, "signature_name": "", "version": version},
            "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}}}
