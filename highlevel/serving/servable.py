"""What a server serves: a named model, the inputs requests send, its preprocessing and its predictor."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from highlevel.config import check_inputs, load_run
from highlevel.export import InferenceFunction, TensorSpec
from highlevel.serving.predictor import BucketedPredictor
from highlevel.serving.rest import RequestError

__all__ = ["Servable"]


@dataclasses.dataclass
class Servable:
    """A model to serve: its name, what requests send, how that becomes the model's input, and its predictor.

    Build one with ``Servable.from_model(model)`` or ``Servable.from_run(run_dir)``.

    Args:
      name: the model's name in the URLs (``/v1/models/NAME``).
      inputs: what requests send, per input (shape ``None`` when the preprocessing hides it).
      outputs: the model's outputs.
      predictor: runs the model on batches (``BucketedPredictor``).
      preprocess: raw request arrays -> the model's inputs (None: the arrays as they are).
      version: the version label in status and metadata answers.
      check: raises ``ValueError`` (one sentence) for a raw request array outside the inputs'
        contract (None: ``highlevel.config.check_inputs`` without a run: real, finite numbers).

    >>> import numpy as np, highlevel as hl
    >>> servable = Servable.from_model(hl.Sequential([hl.Input((3,), name="x"), hl.layers.Dense(2)]), name="tiny")
    >>> servable.name, [s.name for s in servable.inputs]
    ('tiny', ['x'])
    >>> servable.predict(servable.prepare([np.ones((4, 3), "float32")]))[0].shape
    (4, 2)
    """

    name: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    predictor: BucketedPredictor
    preprocess: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None
    version: str = "1"
    check: Callable[[np.ndarray], None] | None = None

    @classmethod
    def from_model(cls, model, name: str | None = None, preprocess=None, inputs: Sequence[TensorSpec] | None = None,
                   max_batch_size: int = 64) -> "Servable":
        """Serves ``model`` (its latest weights, in inference mode).

        Args:
          model: a built ``hl.Model``.
          name: the name in the URLs (default: the model's name).
          preprocess: raw request arrays -> the model's inputs (default: none).
          inputs: what requests send, when ``preprocess`` changes it (default: the model's inputs).
          max_batch_size: the largest batch one compiled call takes.

        >>> import highlevel as hl
        >>> Servable.from_model(hl.Sequential([hl.Input((3,)), hl.layers.Dense(2)], name="m")).name
        'm'
        """
        function = InferenceFunction(model)
        predictor = BucketedPredictor(function, max_batch_size=max_batch_size)
        return cls(name or model.name, list(inputs) if inputs is not None else list(function.inputs),
                   list(function.outputs), predictor, preprocess)

    @classmethod
    def from_run(cls, run_dir: str | Path, name: str | None = None, checkpoint: str = "best",
                 max_batch_size: int = 64) -> "Servable":
        """Serves a configured run's model, its inputs checked and preprocessed as ``highlevel predict`` does.

        Requests are held to ``TrainedRun.check_inputs`` (the shape and range recorded in
        ``preprocessing.json``, finite numbers), then preprocessed with its statistics.

        Args:
          run_dir: a run directory written by ``highlevel train``.
          name: the name in the URLs (default: the config's ``name``).
          checkpoint: ``"best"`` or ``"last"``.
          max_batch_size: the largest batch one compiled call takes.

        >>> Servable.from_run("no/such/run")
        Traceback (most recent call last):
        ...
        highlevel.config.errors.ConfigError: no/such/run: no config.yaml, so this is not a highlevel run directory.
        """
        run = load_run(run_dir, checkpoint)
        function = InferenceFunction(run.model)
        (model_input,) = function.inputs   # configured runs have one input
        raw = run.raw_input_shape()
        spec = TensorSpec(model_input.name, None if raw is None else tuple(raw), "float32")
        return cls(name or run.name, [spec], list(function.outputs),
                   BucketedPredictor(function, max_batch_size=max_batch_size),
                   lambda arrays: [run.preprocess(arrays[0])], check=run.check_inputs)

    def prepare(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Request arrays -> the model's inputs: checked, preprocessed, then checked against the model's shapes.

        A bad request raises ``RequestError`` (400) saying what is wrong: first ``check`` on each
        raw array, then the shapes after preprocessing.

        Args:
          arrays: one array per input, as ``rest.parse_predict_request`` gives them.
        """
        for array, spec in zip(arrays, self.inputs):
            try:
                (self.check or check_inputs)(array)
            except ValueError as err:
                text = str(err)
                raise RequestError(400, text[:1].upper() + text[1:] if len(self.inputs) == 1
                                   else f"Input '{spec.name}': {text}") from None
        if self.preprocess is not None:
            try:
                arrays = self.preprocess(arrays)
            except (ValueError, TypeError, IndexError) as err:
                raise RequestError(400, f"The inputs could not be preprocessed as in training: {err}") from None
        checked = []
        for array, spec in zip(arrays, self.predictor.function.inputs):
            array = np.asarray(array)
            want = spec.shape
            if array.ndim != len(want) or any(w is not None and g != w for g, w in zip(array.shape, want)):
                raise RequestError(400, f"Input '{spec.name}' is of shape {tuple(array.shape)} after preprocessing, "
                                        f"but the model takes {tuple(want)}; send inputs of the shape in "
                                        f"GET /v1/models/{self.name}/metadata.")
            checked.append(array.astype(spec.dtype))
        return checked

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The model's outputs for prepared inputs (``prepare``'s), one array per output.

        Args:
          arrays: one array per input, as the model takes them.
        """
        return self.predictor.predict(arrays)
