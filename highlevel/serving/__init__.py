"""``highlevel serve``: a trained model over HTTP, answering TF Serving's REST API.

``GET /v1/models/NAME`` (status), ``GET /v1/models/NAME/metadata`` (inputs and outputs
with shapes and dtypes) and ``POST /v1/models/NAME:predict`` with ``{"instances": [...]}``
(rows) or ``{"inputs": ...}`` (columns), answered ``{"predictions": ...}`` or
``{"outputs": ...}`` as TF Serving answers them. A configured run's inputs are
preprocessed as in training; the model is compiled once per batch-size bucket (requests
are padded up to one); concurrent requests are batched within a few milliseconds. It
runs on Starlette and uvicorn (``pip install "highlevel[serve]"``), imported only when a
server is made.

>>> import requests, highlevel as hl, highlevel.serving
>>> model = hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)], name="tiny")
>>> with hl.serving.ModelServer(hl.serving.Servable.from_model(model), port=0) as server:
...     status = requests.get(f"{server.url}/v1/models/tiny", timeout=30).json()
>>> status["model_version_status"][0]["state"]
'AVAILABLE'
"""

from highlevel.serving.app import create_app
from highlevel.serving.batching import RequestBatcher
from highlevel.serving.predictor import BucketedPredictor, default_buckets
from highlevel.serving.rest import (RequestError, metadata_response, parse_predict_request, predict_response,
                                    status_response)
from highlevel.serving.servable import Servable
from highlevel.serving.server import ModelServer, is_loopback, serve

__all__ = ["BucketedPredictor", "ModelServer", "RequestBatcher", "RequestError", "Servable", "create_app",
           "default_buckets", "is_loopback", "metadata_response", "parse_predict_request", "predict_response",
           "serve", "status_response"]
