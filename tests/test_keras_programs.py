"""Keras 3 programs run twice, with Keras (JAX backend) and with highlevel in its place, and agree.

Each program in ``tests/keras_programs/`` is plain Keras 3 code (``import keras``,
``from keras import ops``). The highlevel run puts ``tests/keras_programs/shim`` first on
``PYTHONPATH``: its ``keras`` package re-exports highlevel, so nothing in the program
changes. Weights come from NumPy (``set_weights``) or from a ``.weights.h5`` file the other
framework wrote, so both runs start from the same numbers; each prints its results as JSON,
compared here within float tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "keras_programs"


def _run(program: str, framework: str, cwd: Path, *args: str) -> dict:
    path = [str(PROGRAMS), str(ROOT)]
    if framework == "highlevel":
        path.insert(0, str(PROGRAMS / "shim"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(PROGRAMS / program), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{program} failed with {framework}:\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, f"{program} printed no results with {framework}:\n{proc.stdout[-2000:]}"
    results = json.loads(lines[-1][len("RESULTS "):])
    results["__framework__"] = framework
    return results


def _compare(ours, theirs, where: str = "", rtol: float = 2e-4, atol: float = 2e-5) -> None:
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), (where, sorted(ours), sorted(theirs))
        for key in theirs:
            _compare(ours[key], theirs[key], f"{where}.{key}", rtol, atol)
    elif isinstance(theirs, str):
        assert ours == theirs, (where, ours, theirs)
    else:
        np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64), rtol=rtol, atol=atol,
                                   err_msg=where)


@pytest.mark.parametrize("program", ["custom_metric.py", "ops_layer.py", "sequences_lstm.py", "serializable.py"])
def test_a_keras_program_gives_keras_s_results_on_highlevel(tmp_path, program):
    (tmp_path / "keras").mkdir()
    (tmp_path / "highlevel").mkdir()
    theirs = _run(program, "keras", tmp_path / "keras")
    ours = _run(program, "highlevel", tmp_path / "highlevel")
    theirs.pop("__framework__"), ours.pop("__framework__")
    _compare(ours, theirs)


def test_weights_files_cross_between_the_two_runs(tmp_path):
    keras_file, ours_file = tmp_path / "from_keras.weights.h5", tmp_path / "from_highlevel.weights.h5"
    written_by_keras = _run("weights_exchange.py", "keras", tmp_path, "write", str(keras_file))
    read_by_us = _run("weights_exchange.py", "highlevel", tmp_path, "read", str(keras_file))
    written_by_us = _run("weights_exchange.py", "highlevel", tmp_path, "write", str(ours_file))
    read_by_keras = _run("weights_exchange.py", "keras", tmp_path, "read", str(ours_file))
    _compare(read_by_us["predictions"], written_by_keras["predictions"], "keras -> highlevel", 1e-5, 1e-5)
    _compare(read_by_keras["predictions"], written_by_us["predictions"], "highlevel -> keras", 1e-5, 1e-5)


def test_the_shim_really_runs_highlevel(tmp_path):
    script = tmp_path / "which.py"
    script.write_text("import keras, highlevel\nprint('RESULTS', __import__('json').dumps({'same': keras.layers is "
                      "highlevel.layers, 'ops': keras.ops.relu is highlevel.ops.relu}))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROGRAMS / "shim"), str(ROOT)])}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout.split("RESULTS", 1)[1]) == {"same": True, "ops": True}, out.stderr[-2000:]
