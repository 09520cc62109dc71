"""The ASGI application (Starlette) answering TF Serving's REST API for one ``Servable``.

Routes: ``GET /v1/models/NAME`` (status), ``GET /v1/models/NAME/metadata``,
``POST /v1/models/NAME:predict`` (also under ``/versions/1``). Every refusal is a JSON
``{"error": "..."}`` with its status (400 bad body, 404 unknown model or path, 405
wrong method, 413 body over the limit, 500 a failure in the model), and the server
goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from highlevel.serving.batching import RequestBatcher
from highlevel.serving.rest import (RequestError, metadata_response, parse_predict_request, predict_response,
                                    status_response)
from highlevel.serving.servable import Servable

__all__ = ["EXTRA", "DEFAULT_MAX_BODY_BYTES", "create_app", "require_stack"]

#: How to install the web stack the server runs on.
EXTRA = 'pip install "highlevel[serve]"'
#: The largest request body the server reads (bytes).
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

# NAME, NAME/metadata, NAME:predict, optionally with /versions/V before the suffix.
_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<action>/metadata|:[A-Za-z]+)?$")


def require_stack() -> None:
    """Raises an ImportError naming the ``serve`` extra when Starlette or uvicorn is missing.

    >>> require_stack()   # both are installed here
    """
    for module in ("starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            raise ImportError(f"highlevel serve runs on Starlette and uvicorn, and {module} is missing: "
                              f"install the 'serve' extra: {EXTRA}") from None


def _json(payload: Any, status: int = 200):
    from starlette.responses import Response
    # allow_nan: a NaN prediction is answered as TF Serving does (NaN), not as a server error.
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def _error(status: int, message: str):
    return _json({"error": message}, status)


async def _read_body(request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"The request body is {int(declared)} bytes, over the server's limit of {limit} "
                                "bytes; send fewer instances per request, or start the server with a larger "
                                "--max-body-bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"The request body is over the server's limit of {limit} bytes; send fewer "
                                    "instances per request, or start the server with a larger --max-body-bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(servable: Servable, batching: bool = True, batch_timeout_s: float = 0.002,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
    """A Starlette application serving ``servable`` with TF Serving's REST API.

    Args:
      servable: the model to serve.
      batching: gather concurrent requests into one model call (``RequestBatcher``).
      batch_timeout_s: how long a batch's first request waits for others.
      max_body_bytes: the largest request body read; larger ones get 413.

    >>> import highlevel as hl
    >>> servable = Servable.from_model(hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)]), name="m")
    >>> [route.path for route in create_app(servable).routes]
    ['/v1/models/{rest:path}']
    """
    require_stack()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route


    @contextlib.asynccontextmanager
    async def lifespan(app):
        if batching:
            app.state.batcher = RequestBatcher(servable.predict, servable.predictor.max_batch_size, batch_timeout_s)
        try:
            yield
        finally:
            # After the server stopped taking requests and those in flight were answered.
            if app.state.batcher is not None:
                await run_in_threadpool(app.state.batcher.close)

    def decode(body: bytes):
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RequestError(400, f"The request body is not valid JSON: {err}.") from None
        arrays, form = parse_predict_request(data, servable.inputs)
        return servable.prepare(arrays), form

    async def predict(request):
        batcher = request.app.state.batcher
        if batcher is None:
            body = await _read_body(request, max_body_bytes)
            arrays, form = await run_in_threadpool(decode, body)
            outputs = await run_in_threadpool(servable.predict, arrays)
        else:
            batcher.announce()   # a batch forming now waits for this request, and only while it is on its way
            try:
                body = await _read_body(request, max_body_bytes)
                arrays, form = await run_in_threadpool(decode, body)
            except BaseException:
                batcher.withdraw()
                raise
            outputs = await asyncio.wrap_future(batcher.submit(arrays))
        return _json(await run_in_threadpool(predict_response, outputs, servable.outputs, form))

    async def models(request):
        match = _PATH.match(request.path_params["rest"])
        if match is None:
            raise RequestError(404, f"No such path: {request.url.path}; the API is GET /v1/models/NAME, "
                                    "GET /v1/models/NAME/metadata and POST /v1/models/NAME:predict.")
        name, version, action = match.group("name", "version", "action")
        if name != servable.name:
            raise RequestError(404, f"Model '{name}' is not served here; this server serves '{servable.name}' "
                                    f"(/v1/models/{servable.name}).")
        if version is not None and version != servable.version:
            raise RequestError(404, f"Model '{name}' has no version {version!r}; it has version "
                                    f"{servable.version!r}.")
        wanted = {None: "GET", "/metadata": "GET", ":predict": "POST"}.get(action)
        if wanted is None:
            raise RequestError(404, f"Model '{name}' has no method {action!r}; it answers :predict.")
        if request.method != wanted:
            raise RequestError(405, f"{request.url.path} takes {wanted} requests, not {request.method}.")
        if action is None:
            return _json(status_response(servable.version))
        if action == "/metadata":
            return _json(metadata_response(servable.name, servable.inputs, servable.outputs, servable.version))
        return await predict(request)

    async def endpoint(request):
        try:
            return await models(request)
        except RequestError as err:
            return _error(err.status, err.message)
        except Exception as err:  # noqa: BLE001  (a failure in the model: answered, and the server goes on)
            return _error(500, f"The model failed on this request: {type(err).__name__}: {err}")

    async def not_found(request, exc):
        return _error(404, f"No such path: {request.url.path}; the API is under /v1/models/{servable.name}.")

    async def wrong_method(request, exc):
        return _error(405, f"{request.url.path} does not take {request.method} requests.")

    app = Starlette(routes=[Route("/v1/models/{rest:path}", endpoint, methods=["GET", "POST"])],
                    lifespan=lifespan, exception_handlers={404: not_found, 405: wrong_method})
    app.state.batcher = None   # the RequestBatcher while the server runs with batching
    app.state.servable = servable
    return app
