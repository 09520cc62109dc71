"""``highlevel serve``: TF Serving's REST API over loopback, against ``highlevel predict`` and ``model.predict``.

Every server here listens on 127.0.0.1 and every request loop is bounded.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import highlevel as hl
from highlevel import config as cfg
from highlevel.export import TensorSpec
from highlevel.serving import (BucketedPredictor, ModelServer, RequestBatcher, RequestError, Servable,
                               parse_predict_request, predict_response)

pytest.importorskip("starlette", reason="the server runs on Starlette (the serve extra; the dev extra has it)")
pytest.importorskip("uvicorn", reason="the server runs on uvicorn (the serve extra; the dev extra has it)")
requests = pytest.importorskip("requests")

from tests.compile_count import count_compilations  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60


# -- the REST formats, without a server -----------------------------------------------------------

X = TensorSpec("x", (None, 2), "float32")
TWO = [TensorSpec("image", (None, 2, 2), "float32"), TensorSpec("extra", (None, 1), "float32")]


def test_row_and_columnar_requests():
    arrays, form = parse_predict_request({"instances": [[1, 2], [3, 4], [5, 6]]}, [X])
    assert form == "row" and arrays[0].dtype == np.float32 and arrays[0].tolist() == [[1, 2], [3, 4], [5, 6]]
    arrays, form = parse_predict_request({"instances": [{"x": [1, 2]}]}, [X])   # a row may name its input
    assert form == "row" and arrays[0].shape == (1, 2)
    arrays, form = parse_predict_request({"inputs": [[1, 2]], "signature_name": "serving_default"}, [X])
    assert form == "columnar" and arrays[0].shape == (1, 2)
    rows = [{"image": [[1, 2], [3, 4]], "extra": [5]}, {"image": [[6, 7], [8, 9]], "extra": [0]}]
    arrays, form = parse_predict_request({"instances": rows}, TWO)
    assert [a.shape for a in arrays] == [(2, 2, 2), (2, 1)] and arrays[1].ravel().tolist() == [5, 0]
    arrays, form = parse_predict_request({"inputs": {"extra": [[5], [0]], "image": np.zeros((2, 2, 2)).tolist()}},
                                         TWO)
    assert form == "columnar" and [a.shape for a in arrays] == [(2, 2, 2), (2, 1)]


def test_responses_have_tf_servings_shapes():
    one = [TensorSpec("y", (None, 2), "float32")]
    two = [TensorSpec("label", (None, 2), "float32"), TensorSpec("score", (None,), "float32")]
    y = np.array([[0.25, 0.75], [1.0, 0.0]], np.float32)
    s = np.array([3.0, 4.0], np.float32)
    assert predict_response([y], one, "row") == {"predictions": [[0.25, 0.75], [1.0, 0.0]]}
    assert predict_response([y], one, "columnar") == {"outputs": [[0.25, 0.75], [1.0, 0.0]]}
    assert predict_response([y, s], two, "row") == {"predictions": [{"label": [0.25, 0.75], "score": 3.0},
                                                                    {"label": [1.0, 0.0], "score": 4.0}]}
    assert predict_response([y, s], two, "columnar") == {"outputs": {"label": [[0.25, 0.75], [1.0, 0.0]],
                                                                     "score": [3.0, 4.0]}}


@pytest.mark.parametrize("body, message", [
    ([1, 2], r'must be a JSON object with "instances" \(rows\) or "inputs" \(columns\), got a JSON list'),
    ({"instances": [[1, 2]], "inputs": [[1, 2]]}, r'exactly one of "instances" \(rows\) and "inputs"'),
    ({"instance": [[1, 2]]}, r"unknown keys \['instance'\]"),
    ({"instances": []}, r'"instances" must be a non-empty list'),
    ({"instances": [[1, 2], [3]]}, r"input 'x' is not a rectangular array"),
    ({"instances": [[1, 2, 3]]}, r"input 'x' has shape \(1, 3\) \(examples first\), but the model takes \(None, 2\)"),
    ({"instances": [["a", "b"]]}, r"input 'x' holds strings; it takes numbers \(float32\)"),
    ({"inputs": 3.0}, r"input 'x' has shape \(\) \(examples first\), but the model takes \(None, 2\)"),
    ({"instances": [[1, 2]], "signature_name": "classify"}, r"signature_name is 'classify'"),
])
def test_bad_bodies_are_named(body, message):
    with pytest.raises(RequestError, match=message) as info:
        parse_predict_request(body, [X])
    assert info.value.status == 400


def test_bad_bodies_for_several_inputs_name_them():
    with pytest.raises(RequestError, match=r"instances\[0\] is not a dict, but the model has several inputs"):
        parse_predict_request({"instances": [[1, 2]]}, TWO)
    with pytest.raises(RequestError, match=r"instances\[1\] has the inputs \['image'\]; the model takes "
                                           r"\['image', 'extra'\]"):
        parse_predict_request({"instances": [{"image": [[1, 2], [3, 4]], "extra": [1]},
                                             {"image": [[1, 2], [3, 4]]}]}, TWO)
    with pytest.raises(RequestError, match=r"the same number of examples"):
        parse_predict_request({"inputs": {"image": np.zeros((2, 2, 2)).tolist(), "extra": [[1]]}}, TWO)


# -- batching and buckets ----------------------------------------------------------------------------


def test_one_compilation_per_bucket_never_per_request_size():
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(4, activation="relu"), hl.layers.Dense(2)])
    predictor = BucketedPredictor(hl.export.InferenceFunction(model), max_batch_size=16)
    assert predictor.buckets == (1, 2, 4, 8, 16)
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    want = model.predict(x, verbose=0)
    with count_compilations() as compiled:
        for n in (1, 3, 4, 5, 6, 7, 8, 9, 13, 16, 3, 5, 40):
            np.testing.assert_allclose(predictor.predict([x[:n]])[0], want[:n], rtol=1e-6, atol=1e-6)
    # Sizes 1; 3, 4; 5-8; 9-16; 40 = 16 + 16 + 8: four buckets, each compiled once.
    assert predictor.compiled_buckets == [1, 4, 8, 16]
    assert len(compiled) == 4, compiled


def test_the_batcher_gathers_concurrent_requests():
    calls = []

    def predict(inputs):
        calls.append(len(inputs[0]))
        return [inputs[0] * 10]

    batcher = RequestBatcher(predict, max_batch_size=64, timeout_s=0.2)
    for _ in range(8):
        batcher.announce()   # as the server does when each request arrives
    barrier = threading.Barrier(8)

    def client(i):
        barrier.wait()
        return batcher.submit([np.full((i + 1, 1), i, np.float32)]).result(timeout=TIMEOUT)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    batcher.close()
    for i, (out,) in enumerate(results):   # each request gets its own rows back
        assert out.ravel().tolist() == [10.0 * i] * (i + 1)
    assert sum(calls) == sum(range(1, 9)) and len(calls) < 8, calls   # fewer calls than requests
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([np.zeros((1, 1))])


def test_a_lone_request_does_not_wait_for_the_timeout():
    batcher = RequestBatcher(lambda xs: xs, max_batch_size=64, timeout_s=30.0)
    start = time.monotonic()
    assert batcher.submit([np.ones((2, 1))]).result(timeout=TIMEOUT)[0].shape == (2, 1)
    assert time.monotonic() - start < 5.0   # nobody else was announced: it ran at once
    batcher.announce()
    batcher.withdraw()   # a request that turned out bad is taken back, and waits for nothing
    start = time.monotonic()
    batcher.submit([np.ones((1, 1))]).result(timeout=TIMEOUT)
    assert time.monotonic() - start < 5.0
    batcher.close()


def test_the_batcher_never_exceeds_its_batch_size_and_passes_errors_on():
    calls = []

    def predict(inputs):
        calls.append(len(inputs[0]))
        if (inputs[0] < 0).any():
            raise ValueError("negative")
        return [inputs[0]]

    batcher = RequestBatcher(predict, max_batch_size=5, timeout_s=0.05)
    futures = [batcher.submit([np.ones((n, 1), np.float32)]) for n in (3, 3, 2, 4)]
    assert [len(f.result(timeout=TIMEOUT)[0]) for f in futures] == [3, 3, 2, 4]
    assert max(calls) <= 5
    bad = batcher.submit([-np.ones((1, 1), np.float32)])
    with pytest.raises(ValueError, match="negative"):
        bad.result(timeout=TIMEOUT)
    assert batcher.submit([np.ones((1, 1), np.float32)]).result(timeout=TIMEOUT)[0].tolist() == [[1.0]]
    batcher.close()


# -- a server on a trained quickstart run -----------------------------------------------------------


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """configs/quickstart.yaml trained for 2 epochs (checkpoints best and last)."""
    hl.utils.set_random_seed(0)
    return cfg.train(ROOT / "configs" / "quickstart.yaml", [f"output_dir={tmp_path_factory.mktemp('runs')}",
                                                            "trainer.epochs=2", "trainer.verbose=0"])


@pytest.fixture(scope="module")
def digits(quickstart_run, tmp_path_factory):
    """Raw test inputs and ``highlevel predict``'s predictions for them (checkpoints/last)."""
    folder = tmp_path_factory.mktemp("digits")
    x = hl.datasets.digits.load_data()[1][0][:37]
    np.save(folder / "x.npy", x)
    return x, np.load(cfg.predict(quickstart_run, folder / "x.npy", folder / "y.npy"))


@pytest.fixture(scope="module")
def server(quickstart_run):
    servable = Servable.from_run(quickstart_run, checkpoint="last", max_batch_size=16)
    with ModelServer(servable, port=0, max_body_bytes=64 * 1024) as running:
        yield running


def _post(server, body, name="quickstart"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{server.url}/v1/models/{name}:predict", data=data, timeout=TIMEOUT)


def test_status_and_metadata(server):
    assert server.host == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
    status = requests.get(f"{server.url}/v1/models/quickstart", timeout=TIMEOUT)
    assert status.status_code == 200
    assert status.json() == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                                       "status": {"error_code": "OK", "error_message": ""}}]}
    assert requests.get(f"{server.url}/v1/models/quickstart/versions/1", timeout=TIMEOUT).status_code == 200
    meta = requests.get(f"{server.url}/v1/models/quickstart/metadata", timeout=TIMEOUT).json()
    assert meta["model_spec"] == {"name": "quickstart", "signature_name": "", "version": "1"}
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    (name, tensor), = signature["inputs"].items()
    assert tensor["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in tensor["tensor_shape"]["dim"]] == ["-1", "8", "8", "1"]
    (out, tensor), = signature["outputs"].items()
    assert [d["size"] for d in tensor["tensor_shape"]["dim"]] == ["-1", "10"]


def test_predictions_equal_highlevel_predict(server, digits):
    x, want = digits
    rows = _post(server, {"instances": x.tolist()})
    assert rows.status_code == 200, rows.text
    np.testing.assert_allclose(np.asarray(rows.json()["predictions"], np.float32), want, rtol=1e-5, atol=1e-6)
    columns = _post(server, {"inputs": x[:5].tolist()})
    assert list(columns.json()) == ["outputs"]
    np.testing.assert_allclose(np.asarray(columns.json()["outputs"], np.float32), want[:5], rtol=1e-5, atol=1e-6)
    one = _post(server, {"instances": x[:1].tolist()})
    np.testing.assert_allclose(np.asarray(one.json()["predictions"], np.float32), want[:1], rtol=1e-5, atol=1e-6)


def test_the_best_checkpoint_is_served_by_default(quickstart_run, digits):
    x, _ = digits
    servable = Servable.from_run(quickstart_run)   # checkpoints/best
    best = hl.models.load_model(quickstart_run / "checkpoints" / "best")
    np.testing.assert_allclose(servable.predict(servable.prepare([x]))[0], best.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_bad_requests_are_answered_and_the_server_goes_on(server, digits):
    x, want = digits
    good = {"instances": x[:2].tolist()}
    bad = [
        (b"{not json", 400, r"The request body is not valid JSON: Expecting property name"),
        ({"instances": np.zeros((2, 8, 8)).tolist()}, 400,
         r"input '\w+' has shape \(2, 8, 8\) \(examples first\), but the model takes \(None, 8, 8, 1\)"),
        ({"instances": [[[["a"]] * 8] * 8]}, 400, r"input '\w+' holds strings; it takes numbers \(float32\)"),
        ({"instances": np.zeros((300, 8, 8, 1)).tolist()}, 413,
         r"The request body is \d+ bytes, over the server's limit of 65536 bytes; send fewer instances"),
    ]
    for body, status, message in bad:
        reply = _post(server, body)
        assert reply.status_code == status, reply.text
        assert list(reply.json()) == ["error"]
        assert __import__("re").search(message, reply.json()["error"]), reply.json()["error"]
        after = _post(server, good)
        assert after.status_code == 200
        np.testing.assert_allclose(np.asarray(after.json()["predictions"], np.float32), want[:2], rtol=1e-5,
                                   atol=1e-6)
    unknown = _post(server, good, name="mnist")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Model 'mnist' is not served here; this server serves 'quickstart' "
                                       "(/v1/models/quickstart)."}
    assert requests.get(f"{server.url}/v1/models/quickstart/versions/2", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{server.url}/v2/anything", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{server.url}/v1/models/quickstart:predict", timeout=TIMEOUT).status_code == 405
    assert _post(server, good).status_code == 200


def test_the_server_holds_requests_to_predicts_contract(server, quickstart_run, digits, tmp_path):
    x, want = digits
    raw = x[:2] * 16.0   # 0-16 pixels, as scikit-learn gives them: the run was trained on [0, 1]
    np.save(tmp_path / "raw.npy", raw)
    with pytest.raises(cfg.ConfigError) as refused:
        cfg.predict(quickstart_run, tmp_path / "raw.npy")
    reply = _post(server, {"instances": raw.tolist()})
    assert reply.status_code == 400, reply.text
    sentence = str(refused.value).split(": ", 1)[1]   # predict's, without the file name
    assert reply.json() == {"error": sentence[:1].upper() + sentence[1:]}
    assert reply.json()["error"].startswith("The inputs range over [0, 16], far outside the [0, 1] of the "
                                            "training inputs as hl.datasets.digits.load_data gives them")
    nan, huge = x[:2].copy(), x[:2].astype(np.float64)
    nan[1, 3, 4, 0] = np.nan
    huge[0, 0, 0, 0] = 1e300   # finite in JSON, infinite as float32
    for body, count, first in ((json.dumps({"instances": nan.tolist()}), 1, 1), ({"instances": huge.tolist()}, 1, 0),
                               ({"inputs": np.full((3, 8, 8, 1), np.inf).tolist()}, 192, 0)):
        reply = _post(server, body)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"].startswith(
            f"The inputs hold {count} value{'s' if count > 1 else ''} that {'are' if count > 1 else 'is'} NaN, "
            f"infinite or beyond float32's range (the first in sample {first}); give finite numbers"), reply.text
    after = _post(server, {"instances": x[:2].tolist()})
    assert after.status_code == 200
    np.testing.assert_allclose(np.asarray(after.json()["predictions"], np.float32), want[:2], rtol=1e-5, atol=1e-6)


def test_a_models_servable_refuses_non_finite_inputs_by_name():
    image, extra = hl.Input((2,), name="image"), hl.Input((1,), name="extra")
    model = hl.Model([image, extra], hl.layers.Dense(1)(hl.layers.Concatenate()([image, extra])))
    servable = Servable.from_model(model)
    good = [np.ones((2, 2), np.float32), np.ones((2, 1), np.float32)]
    assert servable.predict(servable.prepare(good))[0].shape == (2, 1)
    with pytest.raises(RequestError, match=r"^Input 'extra': the inputs hold 1 value that is NaN, infinite") as err:
        servable.prepare([good[0], np.array([[1.0], [np.nan]], np.float32)])
    assert err.value.status == 400


def test_200_concurrent_requests_from_8_clients(server, digits):
    x, want = digits
    sizes = [1 + i % 3 for i in range(200)]
    starts = [(7 * i) % (len(x) - 3) for i in range(200)]

    def client(i):
        reply = _post(server, {"instances": x[starts[i]:starts[i] + sizes[i]].tolist()})
        return reply.status_code, np.asarray(reply.json()["predictions"], np.float32)

    with count_compilations() as compiled:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(client, range(200)))
    for i, (status, got) in enumerate(results):
        assert status == 200
        np.testing.assert_allclose(got, want[starts[i]:starts[i] + sizes[i]], rtol=1e-5, atol=1e-6)
    # Batches of up to 16 rows: at most one compilation per bucket (1, 2, 4, 8, 16), whatever the mix.
    assert len(compiled) <= 5 and set(server.servable.predictor.compiled_buckets) <= {1, 2, 4, 8, 16}
    assert server.app.state.batcher.batch_sizes   # the requests went through the batcher


def test_several_inputs_and_outputs_over_http():
    image, extra = hl.Input((4, 4, 1), name="image"), hl.Input((2,), name="extra")
    h = hl.layers.Concatenate()([hl.layers.Flatten()(image), extra])
    model = hl.Model([image, extra], [hl.layers.Dense(3, activation="softmax", name="label")(h),
                                      hl.layers.Dense(1, name="score")(h)])
    rng = np.random.default_rng(0)
    xi, xe = rng.standard_normal((3, 4, 4, 1)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
    label, score = model.predict([xi, xe], verbose=0)
    for batching in (True, False):
        with ModelServer(Servable.from_model(model, name="two"), port=0, batching=batching) as srv:
            rows = _post(srv, {"instances": [{"image": xi[i].tolist(), "extra": xe[i].tolist()} for i in range(3)]},
                         name="two").json()["predictions"]
            columns = _post(srv, {"inputs": {"image": xi.tolist(), "extra": xe.tolist()}}, name="two").json()
        assert [sorted(r) for r in rows] == [["label", "score"]] * 3
        np.testing.assert_allclose([r["label"] for r in rows], label, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose([r["score"] for r in rows], score, rtol=1e-5, atol=1e-6)
        assert sorted(columns["outputs"]) == ["label", "score"]
        np.testing.assert_allclose(columns["outputs"]["score"], score, rtol=1e-5, atol=1e-6)


def test_a_missing_web_stack_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)   # as if not installed
    with pytest.raises(ImportError, match=r"uvicorn is missing: install the 'serve' extra: pip install "
                                          r"\"highlevel\[serve\]\""):
        hl.serving.app.require_stack()


def test_a_busy_port_is_named():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        servable = Servable.from_model(hl.Sequential([hl.Input((1,)), hl.layers.Dense(1)]))
        with pytest.raises(OSError, match=rf"Cannot listen on 127.0.0.1:{port} .*choose another --port"):
            ModelServer(servable, port=port)


# -- the command: SIGTERM with requests in flight ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_highlevel_serve_finishes_requests_in_flight_on_sigterm(quickstart_run, digits):
    x, want = digits
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "highlevel", "serve", str(quickstart_run), "--port", str(port),
                             "--checkpoint", "last", "--max-body-bytes", str(200 * 2**20)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    # Requests of 20,000 images each (about 7 MB of JSON): reading, decoding, 313 model calls
    # and encoding the answer take seconds, so they are surely in flight at SIGTERM.
    big = np.tile(x, (541, 1, 1, 1))[:20000]
    body = json.dumps({"instances": big.tolist()})
    try:
        url = f"http://127.0.0.1:{port}/v1/models/quickstart"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:   # not listening yet
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(requests.post, f"{url}:predict", data=body, timeout=300) for _ in range(3)]
            time.sleep(0.5)
            assert not any(f.done() for f in futures), "the requests were answered before SIGTERM"
            proc.send_signal(signal.SIGTERM)
            replies = [f.result() for f in futures]
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = np.tile(want, (541, 1))[:20000]
    for reply in replies:
        assert reply.status_code == 200
        np.testing.assert_allclose(np.asarray(reply.json()["predictions"], np.float32), expected, rtol=1e-5,
                                   atol=1e-6)
    output = proc.stdout.read()
    assert f"at http://127.0.0.1:{port}/v1/models/quickstart" in output and "Server stopped." in output
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
