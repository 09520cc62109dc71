"""RemoteMonitor: POSTs each epoch's logs to a server, as Keras's callback, with the standard library."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from highlevel.distribute.processes import is_chief
from highlevel.training.callback import Callback

__all__ = ["RemoteMonitor"]


class RemoteMonitor(Callback):
    """Sends each epoch's logs to a server in an HTTP POST, as Keras's callback.

    The logs, with ``"epoch"`` (0-based) first and NumPy values as plain numbers, are a JSON
    object sent to ``root + path``: as the form field ``field``
    (``application/x-www-form-urlencoded``, the body ``requests.post(url, {field: json})``
    sends), or with ``send_as_json=True`` as the request's JSON body (``application/json``).
    It needs no ``requests`` (Keras's does): it uses ``urllib``. When the server cannot be
    reached it warns once per ``fit`` and training goes on; the server's answer, an
    error status included, is not read, as in Keras. Over several processes only
    process 0 sends.

    Args:
      root: the server's root URL.
      path: the path under ``root`` the logs are posted to.
      field: the form field holding the JSON (not used with ``send_as_json``).
      headers: extra HTTP headers, a dict.
      send_as_json: send the JSON as the body, ``"application/json"``.

    >>> import highlevel as hl
    >>> monitor = hl.callbacks.RemoteMonitor(root="http://localhost:9000", send_as_json=True)
    >>> monitor.root + monitor.path
    'http://localhost:9000/publish/epoch/end/'
    """

    #: seconds to wait for the server before giving up on one epoch's logs
    timeout = 10.0

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: dict | None = None, send_as_json: bool = False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self._warned = False

    def on_train_begin(self, logs=None):
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():
            return
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            # NumPy (and JAX) scalars are not JSON numbers: send their Python values.
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "item") else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            try:
                body = json.dumps(send, allow_nan=False).encode("utf-8")  # as requests' json=
            except ValueError:
                self._warn(f"RemoteMonitor cannot send the logs of epoch {epoch} as JSON: they hold NaN or "
                           "infinity, which JSON cannot; pass send_as_json=False to send them in a form field.")
                return
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("ascii")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as err:  # the server answered: as requests, an error status is no failure
            err.close()
        except (urllib.error.URLError, OSError, ValueError):  # HTTPError is a URLError
            self._warn(f"Could not reach RemoteMonitor root server at {self.root}")

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(message, stacklevel=3)
