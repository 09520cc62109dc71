"""A trained run directory as something to export or serve: its model, checkpoint and preprocessing.

``load_run(run_dir)`` loads a configured run's model from ``checkpoints/best`` (or
``last``) together with what its inputs go through before the model sees them (the
config's ``data.preprocessing`` and the training statistics in ``preprocessing.json``);
``export_run`` writes the model with ``model.export`` and that preprocessing next to it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from highlevel.config.build import apply_preprocessing
from highlevel.config.errors import ConfigError
from highlevel.config.loading import read_yaml, validate
from highlevel.config.schema import RunConfig

__all__ = ["CHECKPOINTS", "TrainedRun", "load_run", "export_run"]

#: The checkpoints a run directory keeps: the best by the monitored metric, and the last.
CHECKPOINTS = ("best", "last")


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

    def raw_input_shape(self) -> tuple | None:
        """The shape of raw inputs (batch ``None``); ``None`` where the preprocessing hides a dimension.

        None (rank unknown too) when the preprocessing flattens the inputs.

        >>> import highlevel as hl
        >>> TrainedRun("r", None, hl.Sequential([hl.Input((8, 8, 1))]), "best", {}).raw_input_shape()
        (None, 8, 8, 1)
        """
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
