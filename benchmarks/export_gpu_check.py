"""Do StableHLO files exported on a CPU run on a GPU, without highlevel, and give the same outputs?

    python benchmarks/export_gpu_check.py prepare DIR      # here: export the test models, save inputs/outputs
    python benchmarks/export_gpu_check.py check DIR        # on the GPU machine: no highlevel import

``prepare`` exports the four models of ``tests/test_export.py`` (random weights) with
``model.export(format="jax")`` (platforms cpu, cuda, tpu) and ``format="onnx"``, and saves
inputs for batches 1, 7 and 64 with ``model.predict``'s outputs. ``check`` loads each file
with ``jax.export.deserialize`` (and onnxruntime), runs it on the default device, and
prints the largest differences and the time of a batch of 64. The precision of float32
dots and convolutions is part of the exported file (the default lets an NVIDIA GPU use
TF32; ``jax.default_matmul_precision`` around the call changes nothing); a second file per
model is exported under ``jax.default_matmul_precision("highest")``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def prepare(folder: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    import highlevel as hl
    from tests import test_export as models
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in models.MODELS.items():
        model = models._randomize(build())
        specs = hl.export.input_specs(model)[0]
        model.export(folder / f"{name}.jax", format="jax", verbose=False)
        import jax
        with jax.default_matmul_precision("highest"):   # baked into the file's dots and convolutions
            model.export(folder / f"{name}.highest.jax", format="jax", verbose=False)
        model.export(folder / f"{name}.onnx", format="onnx", verbose=False)
        arrays = {}
        for batch in (1, 7, 64):
            xs = models._inputs(specs, batch, seed=batch)
            ys = models._as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
            arrays.update({f"x{batch}_{s.name}": x for s, x in zip(specs, xs)})
            arrays.update({f"y{batch}_{n}": y for n, y in zip(model.output_names, ys)})
        np.savez(folder / f"{name}.npz", **arrays)
        (folder / f"{name}.json").write_text(json.dumps({"inputs": [s.name for s in specs],
                                                         "outputs": list(model.output_names)}))
        print("prepared", name, flush=True)


def check(folder: Path) -> None:
    import jax
    print("jax", jax.__version__, jax.devices(), flush=True)
    for meta_path in sorted(folder.glob("*.json")):
        name = meta_path.stem
        meta = json.loads(meta_path.read_text())
        data = np.load(folder / f"{name}.npz")
        exported = jax.export.deserialize(bytearray((folder / f"{name}.jax").read_bytes()))
        row = {"model": name, "platforms": list(exported.platforms)}
        for precision in ("highest", "default"):
            with jax.default_matmul_precision(precision):
                worst = 0.0
                for batch in (1, 7, 64):
                    xs = [data[f"x{batch}_{n}"] for n in meta["inputs"]]
                    out = exported.call(xs[0]) if len(xs) == 1 else exported.call(dict(zip(meta["inputs"], xs)))
                    got = [out[n] for n in meta["outputs"]] if isinstance(out, dict) else [out]
                    for n, g in zip(meta["outputs"], got):
                        want = data[f"y{batch}_{n}"]
                        worst = max(worst, float(np.max(np.abs(np.asarray(g) - want)) / (np.abs(want).max() + 1e-12)))
                row[f"max_rel_diff_{precision}"] = worst
                call = jax.jit(exported.call)
                xs = [data[f"x64_{n}"] for n in meta["inputs"]]
                args = (xs[0],) if len(xs) == 1 else (dict(zip(meta["inputs"], xs)),)
                jax.block_until_ready(call(*args))
                start = time.perf_counter()
                for _ in range(20):
                    jax.block_until_ready(call(*args))
                row[f"batch64_ms_{precision}"] = (time.perf_counter() - start) / 20 * 1000
        highest = jax.export.deserialize(bytearray((folder / f"{name}.highest.jax").read_bytes()))
        worst = 0.0
        for batch in (1, 7, 64):
            xs = [data[f"x{batch}_{n}"] for n in meta["inputs"]]
            out = highest.call(xs[0]) if len(xs) == 1 else highest.call(dict(zip(meta["inputs"], xs)))
            got = [out[n] for n in meta["outputs"]] if isinstance(out, dict) else [out]
            for n, g in zip(meta["outputs"], got):
                want = data[f"y{batch}_{n}"]
                worst = max(worst, float(np.max(np.abs(np.asarray(g) - want)) / (np.abs(want).max() + 1e-12)))
        row["max_rel_diff_exported_at_highest"] = worst
        try:
            import onnxruntime
            session = onnxruntime.InferenceSession(str(folder / f"{name}.onnx"), providers=["CPUExecutionProvider"])
            got = session.run(None, {n: data[f"x7_{n}"] for n in meta["inputs"]})
            row["onnxruntime"] = onnxruntime.__version__
            row["onnx_max_abs_diff"] = max(float(np.max(np.abs(g - data[f"y7_{n}"])))
                                           for g, n in zip(got, meta["outputs"]))
        except ImportError:
            row["onnxruntime"] = None
        assert "highlevel" not in sys.modules
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    {"prepare": prepare, "check": check}[sys.argv[1]](Path(sys.argv[2]))
