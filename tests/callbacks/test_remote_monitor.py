"""RemoteMonitor: the requests a real local HTTP server receives, against what Keras 3.15's callback posts."""

import json
import socket
import threading
import types
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import numpy as np
import pytest

import highlevel as hl
from highlevel.callbacks.remote_monitor import RemoteMonitor
from highlevel.config.check import callback_classes

_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((24, 3)).astype(np.float32)
Y = X[:, :1].astype(np.float32)


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(500 if self.path.startswith("/fail") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.received = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _keras_posts(logs_per_epoch, **kwargs):
    """What Keras 3.15's RemoteMonitor hands ``requests.post`` for these logs (``requests`` is not
    installed here, so a stand-in records the calls)."""
    from keras.src.callbacks import remote_monitor as keras_rm
    post = mock.Mock()
    fake = types.SimpleNamespace(post=post, exceptions=types.SimpleNamespace(RequestException=OSError))
    with mock.patch.object(keras_rm, "requests", fake):
        monitor = keras_rm.RemoteMonitor(**kwargs)
        for epoch, logs in enumerate(logs_per_epoch):
            monitor.on_epoch_end(epoch, logs)
    return post.call_args_list


def _fit(monitor, epochs=2):
    hl.utils.set_random_seed(0)
    model = hl.Sequential([hl.Input((3,)), hl.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=8, epochs=epochs, validation_split=0.25, verbose=0, callbacks=[monitor])
    return [{k: v[i] for k, v in history.history.items()} for i in range(epochs)]


@pytest.mark.parametrize("send_as_json", [False, True])
def test_each_epoch_posts_what_keras_posts(server, send_as_json):
    server.received.clear()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    kwargs = dict(root=root, path=f"/json{send_as_json}/", field="payload", headers={"X-Run": "7"},
                  send_as_json=send_as_json)
    logs = _fit(RemoteMonitor(**kwargs))
    assert len(server.received) == 2
    for epoch, ((path, headers, body), call) in enumerate(zip(server.received, _keras_posts(logs, **kwargs))):
        assert call.args[0] == root + path and call.kwargs["headers"] == kwargs["headers"]
        assert headers["X-Run"] == "7"
        if send_as_json:
            assert headers["Content-Type"] == "application/json"
            assert body == json.dumps(call.kwargs["json"]).encode()  # requests' json= body
            sent = json.loads(body)
        else:
            assert headers["Content-Type"] == "application/x-www-form-urlencoded"
            assert body == urllib.parse.urlencode(call.args[1]).encode()  # requests' form body
            sent = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
        assert sent == {"epoch": epoch, **{k: float(v) for k, v in logs[epoch].items()}}
        assert list(sent)[0] == "epoch" and {"loss", "mae", "val_loss", "val_mae"} <= set(sent)


def test_numpy_values_are_sent_as_numbers(server):
    server.received.clear()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    logs = {"loss": np.float32(0.25), "val": np.arange(1), "lr": 0.5}
    for send_as_json in (False, True):
        monitor = RemoteMonitor(root=root, send_as_json=send_as_json)
        monitor.on_epoch_end(3, logs)
        (call,) = _keras_posts([{}] * 3 + [logs], root=root, send_as_json=send_as_json)[3:]
        expected = call.kwargs["json"] if send_as_json else json.loads(call.args[1]["data"])
        body = server.received[-1][2]
        sent = json.loads(body if send_as_json else urllib.parse.parse_qs(body.decode())["data"][0])
        assert sent == expected == {"epoch": 3, "loss": 0.25, "val": 0, "lr": 0.5}


def test_an_unreachable_server_warns_once_and_training_goes_on(server):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.warns(UserWarning, match=f"Could not reach RemoteMonitor root server at http://127.0.0.1:{port}") \
            as record:
        logs = _fit(RemoteMonitor(root=f"http://127.0.0.1:{port}"), epochs=2)
    assert len(logs) == 2 and len([w for w in record if "RemoteMonitor" in str(w.message)]) == 1
    server.received.clear()  # an error status is an answer, as with requests: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RemoteMonitor(root=f"http://127.0.0.1:{server.server_address[1]}", path="/fail").on_epoch_end(0, {})
    assert server.received[0][0] == "/fail"
    assert callback_classes()["RemoteMonitor"] is RemoteMonitor
