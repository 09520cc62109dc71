"""YAML-configured runs: the schema, loading with overrides, and train/evaluate/predict."""

from highlevel.config.errors import ConfigError
from highlevel.config.loading import apply_overrides, load_config, read_yaml, validate
from highlevel.config.run import evaluate, predict, resume, train
from highlevel.config.schema import RunConfig
from highlevel.config.trained import TrainedRun, export_run, load_run

__all__ = ["ConfigError", "RunConfig", "apply_overrides", "evaluate", "load_config", "predict", "read_yaml",
           "resume", "train", "validate", "TrainedRun", "export_run", "load_run"]
