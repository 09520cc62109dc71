"""A trained run directory as something to export or serve: its model, checkpoint and preprocessing.

``load_run(run_dir)`` loads a configured run's model from ``checkpoints/best`` (or
``last``) together with what its inputs go through before the model sees them (the
config's ``data.preprocessing`` and the training statistics in ``preprocessing.json``);
``export_run`` writes the model with ``model.export`` and that preprocessing next to it.
``check_inputs`` is the contract raw inputs are held to before that preprocessing, by
``highlevel evaluate``/``predict`` and by the server alike.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from highlevel.config.build import apply_preprocessing
from highlevel.config.errors import ConfigError
from highlevel.config.loading import read_yaml, validate
from highlevel.config.schema import RunConfig

__all__ = ["CHECKPOINTS", "TrainedRun", "check_inputs", "load_run", "export_run"]

#: The checkpoints a run directory keeps: the best by the monitored metric, and the last.
CHECKPOINTS = ("best", "last")

#: The data sources whose inputs a ``hl.datasets`` loader gives (named in the range message).
_LOADERS = ("digits", "mnist", "fashion_mnist", "npz", "csv")


def check_inputs(x, config: RunConfig | None = None, statistics: Mapping[str, Any] | None = None) -> None:
    """Refuses raw inputs unlike the run's training inputs (before its preprocessing) with a ``ValueError``.

    The message is one sentence starting "the inputs". Always: real numbers, at least one
    sample, every value finite (NaN, infinities and values beyond float32's range are refused:
    the model's outputs for them mean nothing). With the run's ``statistics``
    (``preprocessing.json``): each sample of the recorded ``input_shape``, and the values within
    the recorded ``input_range`` give or take half its width (raw 0-16 pixels for a run on
    digits in [0, 1] are refused).

    Args:
      x: a batch of raw inputs (samples first).
      config: the run's config (names its data source in the messages); None for a model alone.
      statistics: the run's ``preprocessing.json``; None or empty checks only the numbers.

    >>> import numpy as np
    >>> check_inputs(np.zeros((2, 3)), statistics={"input_shape": [3], "input_range": [0.0, 1.0]})
    >>> check_inputs(np.full((2, 3), 16.0), statistics={"input_shape": [3], "input_range": [0.0, 1.0]})
    Traceback (most recent call last):
    ...
    ValueError: the inputs range over [16, 16], far outside the [0, 1] of the training inputs (before ...
    >>> check_inputs(np.array([[0.5, np.nan]]))
    Traceback (most recent call last):
    ...
    ValueError: the inputs hold 1 value that is NaN, infinite or beyond float32's range (the first in sample 0); ...
    """
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"the inputs hold {x.dtype} values, not real numbers.")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError("the inputs are empty; give at least one sample.")
    if np.issubdtype(x.dtype, np.inexact):
        with np.errstate(over="ignore", invalid="ignore"):
            bad = ~np.isfinite(x.astype(np.float32))
        if bad.any():
            count, first = int(bad.sum()), int(np.argmax(bad.reshape(len(x), -1).any(axis=1)))
            raise ValueError(f"the inputs hold {count} value{'s' if count > 1 else ''} that "
                             f"{'are' if count > 1 else 'is'} NaN, infinite or beyond float32's range (the first "
                             f"in sample {first}); give finite numbers, as in training (the model's outputs for "
                             "them would mean nothing).")
    statistics = statistics or {}
    source = config.data.source if config is not None else None
    shape = statistics.get("input_shape")
    if shape is not None and list(x.shape[1:]) != list(shape):
        raise ValueError(f"each sample has shape {tuple(x.shape[1:])}, but the run was trained on "
                         f"{source + ' ' if source else ''}inputs of shape {tuple(shape)} per sample (before its "
                         "preprocessing); give inputs in that form.")
    bounds = statistics.get("input_range")
    if bounds is not None:
        low, high = bounds
        margin = 0.5 * ((high - low) or max(abs(high), 1.0))
        got_low, got_high = float(x.min()), float(x.max())
        if got_low < low - margin or got_high > high + margin:
            loader = (f" as hl.datasets.{source}.load_data gives them" if source in _LOADERS
                      else f" as the {source} source gives them" if source else "")
            raise ValueError(f"the inputs range over [{got_low:g}, {got_high:g}], far outside the [{low:g}, "
                             f"{high:g}] of the training inputs{loader} (before the run's "
                             "preprocessing, which is applied here); give inputs in that form (scaled the same "
                             "way).")


@dataclasses.dataclass
class TrainedRun:
    """A configured run's trained model and the preprocessing its inputs need.

    Args:
      run_dir: the run directory.
      config: its resolved config.
      model: the model loaded from the checkpoint.
      checkpoint: ``"best"`` or ``"last"``.
      statistics: the training statistics of the preprocessing (``preprocessing.json``).

    >>> import highlevel as hl
    >>> run = TrainedRun("runs/r", None, hl.Sequential([hl.Input((2,)), hl.layers.Dense(1)]), "best", {})
    >>> run.name
    'r'
    """

    run_dir: Path
    config: RunConfig | None
    model: Any
    checkpoint: str
    statistics: dict[str, Any]

    @property
    def name(self) -> str:
        """The run's config name (its directory's name without a config)."""
        return self.config.name if self.config is not None else Path(self.run_dir).name

    def preprocess(self, x) -> np.ndarray:
        """Raw inputs (as ``highlevel predict`` reads them) as the model takes them.

        Args:
          x: a batch of raw inputs.

        >>> import highlevel as hl
        >>> TrainedRun("r", None, None, "best", {}).preprocess([[1, 2]]).dtype
        dtype('float32')
        """
        if self.config is None:
            return np.asarray(x, np.float32)
        return apply_preprocessing(x, self.config.data.preprocessing, self.statistics)

    def check_inputs(self, x) -> None:
        """Refuses raw inputs unlike the run's training inputs with a one-sentence ``ValueError``.

        ``check_inputs`` with the run's config and statistics: numbers, finite, the per-sample
        shape and the range recorded in ``preprocessing.json``.

        Args:
          x: a batch of raw inputs (samples first).

        >>> import numpy as np
        >>> TrainedRun("r", None, None, "best", {"input_range": [0.0, 1.0]}).check_inputs(np.zeros((1, 2)))
        """
        check_inputs(x, self.config, self.statistics)

    def raw_input_shape(self) -> tuple | None:
        """The shape of raw inputs (batch ``None``): the per-sample shape the run recorded in
        ``preprocessing.json`` (which ``check_inputs`` holds inputs to), else the model's input
        shape undone through the preprocessing, ``None`` where it hides a dimension.

        None (rank unknown too) when the preprocessing flattens the inputs and no shape was recorded.

        >>> import highlevel as hl
        >>> TrainedRun("r", None, hl.Sequential([hl.Input((8, 8, 1))]), "best", {}).raw_input_shape()
        (None, 8, 8, 1)
        >>> TrainedRun("r", None, hl.Sequential([hl.Input((96, 96, 3))]), "best",
        ...            {"input_shape": [28, 28]}).raw_input_shape()
        (None, 28, 28)
        """
        recorded = self.statistics.get("input_shape") if isinstance(self.statistics, dict) else None
        if recorded is not None:
            return (None, *(int(d) for d in recorded))
        shape = tuple(self.model.build_input_shape)
        if self.config is None:
            return shape
        pre = self.config.data.preprocessing
        if pre.flatten:
            return None   # the sample's own shape is gone
        if pre.resize is not None:
            shape = shape[:1] + (None, None) + shape[3:]
        if pre.to_rgb:
            return shape[:3]   # (n, h, w) or (n, h, w, 1): both are made RGB
        if pre.expand_dims:
            shape = shape[:-1]
        return shape

    def preprocessing_record(self) -> dict[str, Any]:
        """What ``preprocessing.json`` next to an export holds: the steps in order, with their numbers.

        Outside highlevel, apply ``steps`` in order to a float32 array of raw inputs.

        >>> import highlevel as hl
        >>> TrainedRun("r", None, hl.Sequential([hl.Input((3,))]), "best", {}).preprocessing_record()["steps"]
        []
        """
        steps: list[dict[str, Any]] = []
        config: dict[str, Any] = {}
        if self.config is not None:
            pre = self.config.data.preprocessing
            config = pre.model_dump(mode="json")
            if pre.rescale is not None:
                steps.append({"rescale": {"multiply_by": pre.rescale}})
            if pre.expand_dims:
                steps.append({"expand_dims": {"axis": -1}})
            if pre.to_rgb:
                steps.append({"to_rgb": {"repeat_channels": 3}})
            if pre.resize is not None:
                steps.append({"resize": {"size": list(pre.resize), "method": "bilinear"}})
            if pre.imagenet_mode is not None:
                steps.append({"imagenet_preprocess_input": {"mode": pre.imagenet_mode}})
            if pre.flatten:
                steps.append({"flatten": {}})
            if "x_mean" in self.statistics:
                steps.append({"standardize": {"subtract": self.statistics["x_mean"],
                                              "divide_by": self.statistics["x_std"]}})
        raw = self.raw_input_shape()
        return {"steps": steps, "input": {"shape": None if raw is None else list(raw), "dtype": "float32"},
                "model_input": {"shape": list(self.model.build_input_shape), "dtype": "float32"},
                "config": config, "statistics": self.statistics, "run_dir": str(self.run_dir),
                "checkpoint": self.checkpoint}


def load_run(run_dir: str | Path, checkpoint: str = "best") -> TrainedRun:
    """A configured run's model from ``checkpoints/<checkpoint>``, with its preprocessing.

    Args:
      run_dir: a run directory written by ``highlevel train``.
      checkpoint: ``"best"`` (the best epoch by the monitored metric) or ``"last"``.

    >>> import tempfile
    >>> load_run(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    highlevel.config.errors.ConfigError: ...: no config.yaml, so this is not a highlevel run directory.
    """
    import highlevel as hl
    run_dir = Path(run_dir)
    if checkpoint not in CHECKPOINTS:
        raise ConfigError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}.")
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no config.yaml, so this is not a highlevel run directory.")
    config = validate(read_yaml(path), source=str(path))
    weights = run_dir / "checkpoints" / checkpoint
    if not weights.exists():
        other = [c for c in CHECKPOINTS if c != checkpoint and (run_dir / "checkpoints" / c).exists()]
        fix = (f"use --checkpoint {other[0]}" if other else "train the run first (highlevel train CONFIG)")
        raise ConfigError(f"{run_dir}: no checkpoints/{checkpoint}; {fix}.")
    stats_path = run_dir / "preprocessing.json"
    statistics = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    return TrainedRun(run_dir, config, hl.models.load_model(weights), checkpoint, statistics)


def export_run(run_dir: str | Path, format: str, output: str | Path | None = None, checkpoint: str = "best",
               verbose: bool = True) -> Path:
    """Exports a run's model (``model.export``) and writes ``preprocessing.json`` next to the file.

    Args:
      run_dir: a run directory written by ``highlevel train``.
      format: ``"onnx"`` or ``"jax"``.
      output: the file to write (default: ``RUN_DIR/export/NAME.onnx`` or ``NAME.jax``).
      checkpoint: ``"best"`` or ``"last"``.
      verbose: print what was written.

    >>> export_run("no/such/run", "onnx")
    Traceback (most recent call last):
    ...
    highlevel.config.errors.ConfigError: no/such/run: no config.yaml, so this is not a highlevel run directory.
    """
    run = load_run(run_dir, checkpoint)
    path = Path(output) if output is not None else Path(run_dir) / "export" / f"{run.name}.{format}"
    try:
        path = Path(run.model.export(path, format=format, verbose=verbose))
    except (ValueError, ImportError) as err:
        raise ConfigError(f"export: {err}") from None
    record = path.parent / "preprocessing.json"
    record.write_text(json.dumps(run.preprocessing_record(), indent=2))
    if verbose:
        print(f"Preprocessing of its inputs: {record}")
    return path
