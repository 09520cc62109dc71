"""``model.export``: ONNX (run by onnxruntime) and StableHLO (``jax.export``) against ``model.predict``.

Each model gets random weights, batch-norm moving statistics included (fresh ones, mean 0
and variance 1, would let a wrong normalization pass), then one file per format answers
batches of 1 and 7. The StableHLO file also runs in a process that never imports highlevel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import highlevel as hl

ort = pytest.importorskip("onnxruntime", reason="ONNX export is checked with onnxruntime (the dev extra has it)")
pytest.importorskip("jax2onnx", reason="ONNX export needs jax2onnx: pip install --no-deps jax2onnx==0.17.1")

TOL = 1e-4
ROOT = Path(__file__).resolve().parents[1]


def _randomize(model, seed=0):
    """Random weights everywhere; variances (names ending in 'variance') positive."""
    rng = np.random.default_rng(seed)
    weights = []
    for (name, _), w in zip(model.named_weights(), model.get_weights()):
        if name.endswith("variance"):
            weights.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
        elif name.endswith(("moving_mean", "beta", "bias")):
            weights.append((0.1 * rng.standard_normal(w.shape)).astype(w.dtype))
        elif name.endswith("gamma"):
            weights.append(rng.uniform(0.8, 1.2, w.shape).astype(w.dtype))
        else:  # kernels: keep the initializer's scale, new values
            scale = float(np.std(w)) or 0.1
            weights.append((scale * rng.standard_normal(w.shape)).astype(w.dtype))
    model.set_weights(weights)
    return model


def quickstart_cnn():
    """configs/quickstart.yaml's model: conv, batch norm, conv, max pooling, dropout, dense."""
    return hl.Sequential([hl.Input((8, 8, 1), name="digits"),
                          hl.layers.Conv2D(32, 3, padding="same", activation="relu"),
                          hl.layers.BatchNormalization(),
                          hl.layers.Conv2D(64, 3, padding="same", activation="relu"),
                          hl.layers.MaxPooling2D(2), hl.layers.Flatten(), hl.layers.Dropout(0.3),
                          hl.layers.Dense(10, name="logits")])


def lstm_model():
    return hl.Sequential([hl.Input((12, 3), name="series"), hl.layers.LSTM(16, return_sequences=True),
                          hl.layers.LSTM(8), hl.layers.Dropout(0.2), hl.layers.Dense(2, name="forecast")])


def two_in_two_out():
    image, extra = hl.Input((6, 6, 2), name="image"), hl.Input((3,), name="extra")
    h = hl.layers.GlobalAveragePooling2D()(hl.layers.Conv2D(4, 3, activation="relu")(image))
    h = hl.layers.Concatenate()([h, hl.layers.Dense(4, activation="tanh")(extra)])
    h = hl.layers.BatchNormalization()(h)
    return hl.Model([image, extra], [hl.layers.Dense(3, activation="softmax", name="label")(h),
                                     hl.layers.Dense(1, name="score")(h)])


def mobilenet_v2():
    # Logits: with random weights the softmax is nearly uniform (every entry about 1e-3),
    # where a tolerance of 1e-4 would check little.
    return hl.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None,
                                       classifier_activation=None)


MODELS = {"quickstart_cnn": quickstart_cnn, "lstm": lstm_model, "two_in_two_out": two_in_two_out,
          "mobilenet_v2": mobilenet_v2}


def _inputs(specs, batch, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch,) + tuple(s.shape[1:])).astype(s.dtype) for s in specs]


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


@pytest.fixture(scope="module", params=list(MODELS))
def exported(request, tmp_path_factory):
    """(model, its input specs, the ONNX file, the StableHLO file): one export per format."""
    hl.utils.set_random_seed(0)
    model = _randomize(MODELS[request.param]())
    folder = tmp_path_factory.mktemp(request.param)
    onnx_path = model.export(folder / "model.onnx", format="onnx", verbose=False)
    jax_path = model.export(folder / "model.jax", format="jax", verbose=False)
    specs = hl.export.input_specs(model)[0]
    return request.param, model, specs, onnx_path, jax_path


@pytest.mark.parametrize("batch", [1, 7])
def test_onnxruntime_matches_predict(exported, batch):
    name, model, specs, onnx_path, _ = exported
    xs = _inputs(specs, batch, seed=batch)
    want = _as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
    session = ort.InferenceSession(str(onnx_path))
    assert [i.name for i in session.get_inputs()] == [s.name for s in specs]
    assert [o.name for o in session.get_outputs()] == list(model.output_names)
    assert session.get_inputs()[0].shape[0] == "batch"          # one file, any batch size
    got = session.run(None, {s.name: x for s, x in zip(specs, xs)})
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL, err_msg=name)
    assert max(float(np.abs(w).max()) for w in want) > 1e-2   # the outputs are not all ~0


@pytest.mark.parametrize("batch", [1, 7])
def test_stablehlo_matches_predict(exported, batch):
    name, model, specs, _, jax_path = exported
    restored = jax.export.deserialize(bytearray(jax_path.read_bytes()))
    assert restored.platforms == ("cpu", "cuda", "tpu")
    assert str(restored.in_avals[0].shape[0]) == "batch"
    xs = _inputs(specs, batch, seed=batch)
    want = _as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
    got = restored.call(xs[0]) if len(xs) == 1 else restored.call({s.name: x for s, x in zip(specs, xs)})
    got = [got[n] for n in model.output_names] if isinstance(got, dict) else [got]
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=TOL, atol=TOL, err_msg=name)


def test_stablehlo_runs_where_highlevel_is_never_imported(tmp_path):
    model = _randomize(two_in_two_out())
    path = model.export(tmp_path / "model.jax", format="jax", verbose=False)
    xs = _inputs(hl.export.input_specs(model)[0], 5, seed=3)
    np.savez(tmp_path / "x.npz", image=xs[0], extra=xs[1])
    script = textwrap.dedent(f"""
        import sys, numpy as np, jax
        exported = jax.export.deserialize(bytearray(open({str(path)!r}, "rb").read()))
        with np.load({str(tmp_path / "x.npz")!r}) as f:
            out = exported.call({{"image": f["image"], "extra": f["extra"]}})
        np.savez({str(tmp_path / "y.npz")!r}, **{{k: np.asarray(v) for k, v in out.items()}})
        assert "highlevel" not in sys.modules, "the artifact needed highlevel"
        print("platforms", ",".join(exported.platforms))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "platforms cpu,cuda,tpu" in proc.stdout
    want = model.predict(xs, verbose=0)
    with np.load(tmp_path / "y.npz") as got:
        for name, w in zip(model.output_names, want):
            np.testing.assert_allclose(got[name], w, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_layer_dtypes_are_kept(tmp_path, dtype):
    model = hl.Sequential([hl.Input((5,), name="x"), hl.layers.Dense(8, activation="relu", dtype=dtype),
                           hl.layers.Dense(3, dtype=dtype, name="y")])
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    want = model.predict(x, verbose=0)
    assert want.dtype == jnp.dtype(dtype)
    restored = jax.export.deserialize(bytearray(model.export(tmp_path / "m.jax", format="jax",
                                                             verbose=False).read_bytes()))
    got = np.asarray(restored.call(x))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))
    if dtype == "float16":
        session = ort.InferenceSession(str(model.export(tmp_path / "m.onnx", format="onnx", verbose=False)))
        got, = session.run(None, {"x": x})
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)
        return
    # onnxruntime's CPU provider has no bfloat16 kernels: export says so, and how to export a float32 copy.
    with pytest.warns(UserWarning, match=r"the file computes in bfloat16 .* which onnxruntime's CPU provider cannot "
                                         r"run, so it will not load there; export a float32 copy instead") as caught:
        path = model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    assert len(caught) == 1 and path.is_file()
    with pytest.raises(Exception, match="bfloat16|NOT_IMPLEMENTED"):
        ort.InferenceSession(str(path))
    copy = hl.models.clone_model(model, clone_function=lambda layer: type(layer).from_config(
        {**layer.get_config(), "dtype": "float32"}))   # the recipe the warning gives
    copy.set_weights(model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        session = ort.InferenceSession(str(copy.export(tmp_path / "copy.onnx", format="onnx", verbose=False)))
    got, = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-2, atol=2e-2)


def test_integer_inputs_and_a_given_input_signature(tmp_path):
    model = hl.Sequential([hl.layers.Embedding(20, 4), hl.layers.GlobalAveragePooling1D(), hl.layers.Dense(2)])
    signature = [jax.ShapeDtypeStruct((None, 6), jnp.int32)]
    tokens = np.random.default_rng(0).integers(0, 20, (3, 6)).astype(np.int32)
    model.build((None, 6))
    want = model.predict(tokens, verbose=0)
    session = ort.InferenceSession(str(model.export(tmp_path / "m.onnx", format="onnx", verbose=False,
                                                    input_signature=signature)))
    assert session.get_inputs()[0].type == "tensor(int32)"
    np.testing.assert_allclose(session.run(None, {"inputs_0": tokens})[0], want, rtol=TOL, atol=TOL)


def test_verbose_prints_the_inputs_and_outputs(tmp_path, capsys):
    quickstart_cnn().export(tmp_path / "m.jax", format="jax")
    text = capsys.readouterr().out
    assert "Saved StableHLO (jax.export) artifact at" in text
    assert "input  'digits': float32 (None, 8, 8, 1)" in text and "output 'logits': float32 (None, 10)" in text


class HostCallback(hl.layers.Layer):
    """A layer that calls back into Python: no ONNX operation does that."""

    def call(self, inputs):
        return jax.pure_callback(lambda a: np.asarray(a) * 2, jax.ShapeDtypeStruct(inputs.shape, inputs.dtype),
                                 inputs)


def test_an_operation_onnx_lacks_is_named_with_its_layer(tmp_path):
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4), HostCallback(name="host_doubler"),
                           hl.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"layer 'host_doubler' \(HostCallback\) uses the JAX operation "
                                         r"'pure_callback', which the ONNX converter \(jax2onnx\) cannot convert"):
        model.export(tmp_path / "m.onnx", format="onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_bad_arguments_are_named(tmp_path):
    model = quickstart_cnn()
    with pytest.raises(ValueError, match=r"model.export got format='tflite'; the formats are 'jax', 'onnx'"):
        model.export(tmp_path / "m", format="tflite")
    with pytest.raises(ValueError, match=r"only the first \(batch\) dimension can be None"):
        model.export(tmp_path / "m.jax", format="jax", input_signature=(None, None, 8, 1))
    subclassed = type("Doubler", (hl.Model,), {"call": lambda self, x, training=False: 2 * x})()
    with pytest.raises(ValueError, match=r"Model 'doubler' is not built, so its inputs are unknown: pass "
                                         r"input_signature"):
        subclassed.export(tmp_path / "m.jax", format="jax")
    path = subclassed.export(tmp_path / "m.jax", format="jax", input_signature=(None, 3), verbose=False)
    assert np.asarray(jax.export.deserialize(bytearray(path.read_bytes())).call(np.ones((2, 3), "float32"))
                      ).tolist() == [[2.0] * 3] * 2


def test_a_missing_converter_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax2onnx", None)   # as if not installed
    with pytest.raises(ImportError, match=r"needs the optional 'export' extra, and jax2onnx is missing: pip "
                                          r"install \"highlevel\[export\]\""):
        quickstart_cnn().export(tmp_path / "m.onnx", format="onnx")


def test_export_does_not_change_the_conv_lowering_setting(monkeypatch):
    monkeypatch.delenv(hl.backend.settings.ENVIRONMENT_VARIABLE, raising=False)
    hl.backend.set_conv_lowering("patches")
    try:
        with hl.export.portable_lowering():
            assert hl.backend.get_conv_lowering() == "lax"
        assert hl.backend.get_conv_lowering() == "patches"
    finally:
        hl.backend.set_conv_lowering(None)


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """configs/quickstart.yaml trained for 2 epochs (checkpoints best and last)."""
    from highlevel import config as cfg
    return cfg.train(ROOT / "configs" / "quickstart.yaml", [f"output_dir={tmp_path_factory.mktemp('runs')}",
                                                            "trainer.epochs=2", "trainer.verbose=0"])


def test_highlevel_export_writes_the_file_and_its_preprocessing(quickstart_run, tmp_path):
    from highlevel import cli, config as cfg
    out = tmp_path / "served" / "digits.onnx"
    assert cli.main(["export", str(quickstart_run), "--format", "onnx", "--output", str(out),
                     "--checkpoint", "last"]) == 0
    record = json.loads((out.parent / "preprocessing.json").read_text())
    assert record["checkpoint"] == "last" and record["input"] == {"shape": [None, 8, 8, 1], "dtype": "float32"}
    assert record["steps"] == []   # the digits loader scales to [0, 1] itself; the config adds nothing
    x = hl.datasets.digits.load_data()[1][0][:9]
    np.save(tmp_path / "x.npy", x)
    want = np.load(cfg.predict(quickstart_run, tmp_path / "x.npy", tmp_path / "y.npy"))   # checkpoints/last
    session = ort.InferenceSession(str(out))
    got, = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    # The default: the best checkpoint, into RUN_DIR/export/NAME.FORMAT.
    assert cli.main(["export", str(quickstart_run), "--format", "jax"]) == 0
    assert (quickstart_run / "export" / "quickstart.jax").is_file()
    assert (quickstart_run / "export" / "preprocessing.json").is_file()


def test_preprocessing_steps_are_recorded_in_order():
    from highlevel.config import TrainedRun, load_config
    config = load_config(ROOT / "configs" / "fashion_mnist_mlp.yaml")
    model = hl.Sequential([hl.Input((784,)), hl.layers.Dense(2)])
    run = TrainedRun("r", config, model, "best", {"x_mean": [0.5], "x_std": [2.0]})
    record = run.preprocessing_record()
    pre = config.data.preprocessing
    assert [next(iter(s)) for s in record["steps"]] == (["rescale"] * (pre.rescale is not None)
                                                        + ["flatten"] * pre.flatten + ["standardize"])
    x = np.full((1, 28, 28), 255.0, np.float32)
    np.testing.assert_allclose(run.preprocess(x), ((x.reshape(1, -1) * (pre.rescale or 1.0)) - 0.5) / 2.0)


def test_the_raw_input_shape_is_the_one_the_run_recorded_and_holds_inputs_to():
    """An exported preprocessing.json (and the server's metadata) give the raw shape that predict and
    serve accept, also where the preprocessing resizes (it said [None, None, None] for 28x28 images
    made 96x96 RGB) or flattens (it said nothing)."""
    from highlevel.config import TrainedRun, load_config
    for name, model_shape in (("fine_tuning.yaml", (96, 96, 3)), ("fashion_mnist_mlp.yaml", (784,))):
        config = load_config(ROOT / "configs" / name)
        model = hl.Sequential([hl.Input(model_shape), hl.layers.Dense(2)])
        run = TrainedRun("r", config, model, "best", {"input_shape": [28, 28], "input_range": [0.0, 255.0]})
        assert run.raw_input_shape() == (None, 28, 28)
        assert run.preprocessing_record()["input"] == {"shape": [None, 28, 28], "dtype": "float32"}
        run.check_inputs(np.zeros((2, 28, 28), np.float32))
