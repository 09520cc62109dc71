"""The HTTP server (uvicorn) around the application: in the foreground with signals, or in a thread.

``serve(run_dir)`` is ``highlevel serve``: it binds to loopback unless told otherwise and
runs until SIGTERM or SIGINT, after which it stops taking connections, answers the
requests in flight, and returns 0. ``ModelServer(...).start()`` runs the same server in a
background thread (notebooks, tests) until ``stop()``.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from pathlib import Path

from highlevel.config import ConfigError
from highlevel.serving.app import DEFAULT_MAX_BODY_BYTES, create_app, require_stack
from highlevel.serving.servable import Servable

__all__ = ["ModelServer", "serve", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost).

    Args:
      host: a host name or address.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise OSError(f"Cannot listen on {host}:{port} ({err.strerror}); choose another --port (or --host).") from None
    sock.listen(2048)
    return sock


class ModelServer:
    """Serves a ``Servable`` over HTTP with TF Serving's REST API (uvicorn and Starlette).

    Args:
      servable: the model to serve (``Servable.from_run(run_dir)`` or ``Servable.from_model(model)``).
      host: the address to listen on; loopback by default.
      port: the port (0: a free one, see ``port`` after ``start()``).
      batching: gather concurrent requests into one model call.
      batch_timeout_s: how long a batch's first request waits for others.
      max_body_bytes: the largest request body read.
      graceful_timeout_s: how long a shutdown waits for the requests in flight.
      warmup: compile every batch-size bucket before taking requests.

    >>> import requests, highlevel as hl, highlevel.serving
    >>> servable = hl.serving.Servable.from_model(hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)]), name="m")
    >>> with ModelServer(servable, port=0) as server:
    ...     reply = requests.post(f"{server.url}/v1/models/m:predict", json={"instances": [[1, 2]]}, timeout=30)
    >>> reply.status_code, len(reply.json()["predictions"])
    (200, 1)
    """

    def __init__(self, servable: Servable, host: str = "127.0.0.1", port: int = 8501, batching: bool = True,
                 batch_timeout_s: float = 0.002, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 graceful_timeout_s: float = 30.0, warmup: bool = False):
        require_stack()
        self.servable = servable
        self.host = host
        self.app = create_app(servable, batching=batching, batch_timeout_s=batch_timeout_s,
                              max_body_bytes=max_body_bytes)
        self.graceful_timeout_s = graceful_timeout_s
        self.warmup = warmup
        self._socket = _bind(host, port)
        self.port = self._socket.getsockname()[1]
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8501``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _uvicorn(self):
        import uvicorn
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=self.graceful_timeout_s)
        return uvicorn.Server(config)

    def start(self, timeout_s: float = 60.0) -> "ModelServer":
        """Runs the server in a background thread; returns once it takes requests.

        Args:
          timeout_s: how long to wait for it to start.
        """
        if self.warmup:
            self.servable.predictor.warm_up()
        self._server = self._uvicorn()
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="highlevel-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The server did not start on {self.url}.")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stops taking connections, answers the requests in flight, and waits for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._socket.close()

    def serve_forever(self) -> None:
        """Runs the server in this (main) thread until SIGTERM or SIGINT, then shuts down cleanly."""
        if self.warmup:
            self.servable.predictor.warm_up()
        self._server = self._uvicorn()
        # uvicorn takes the signals while it runs and, once it has shut down, raises them again
        # with the handlers it found: no-op ones make that a clean exit instead of a kill.
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._server.run(sockets=[self._socket])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._socket.close()

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8501, name: str | None = None,
          checkpoint: str = "best", batching: bool = True, batch_timeout_s: float = 0.002,
          max_batch_size: int = 64, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, warmup: bool = False) -> int:
    """``highlevel serve``: serves a run's model until SIGTERM/SIGINT; returns 0 after a clean shutdown.

    Args:
      run_dir: a run directory written by ``highlevel train``.
      host: the address to listen on (loopback unless told otherwise).
      port: the port.
      name: the model's name in the URLs (default: the config's ``name``).
      checkpoint: ``"best"`` or ``"last"``.
      batching: gather concurrent requests into one model call.
      batch_timeout_s: how long a batch's first request waits for others.
      max_batch_size: the largest batch one compiled call takes.
      max_body_bytes: the largest request body read.
      warmup: compile every batch-size bucket before taking requests.

    >>> serve("no/such/run")
    Traceback (most recent call last):
    ...
    highlevel.config.errors.ConfigError: no/such/run: no config.yaml, so this is not a highlevel run directory.
    """
    try:
        require_stack()
        servable = Servable.from_run(run_dir, name=name, checkpoint=checkpoint, max_batch_size=max_batch_size)
        server = ModelServer(servable, host=host, port=port, batching=batching, batch_timeout_s=batch_timeout_s,
                             max_body_bytes=max_body_bytes, warmup=warmup)
    except (ImportError, OSError) as err:   # the command's errors: one line, no traceback
        raise ConfigError(str(err)) from None
    if not is_loopback(host):
        print(f"warning: listening on {host}, reachable from other machines; the server has no authentication.",
              flush=True)
    print(f"Serving '{servable.name}' ({checkpoint} checkpoint of {run_dir}) at {server.url}/v1/models/"
          f"{servable.name} (POST :predict, GET /metadata); Ctrl-C or SIGTERM stops it.", flush=True)
    server.serve_forever()
    print("Server stopped.", flush=True)
    return 0
