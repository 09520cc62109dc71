"""YAML-configured runs: the schema, loading with overrides, check/train/resume, evaluate/predict."""

from highlevel.config.errors import ConfigError
from highlevel.config.inference import evaluate, predict
from highlevel.config.loading import apply_overrides, load_config, read_yaml, validate
from highlevel.config.run import EXIT_PREEMPTED, check, resume, train
from highlevel.config.schema import RunConfig
from highlevel.config.trained import TrainedRun, check_inputs, export_run, load_run

__all__ = ["EXIT_PREEMPTED", "ConfigError", "RunConfig", "TrainedRun", "apply_overrides", "check", "check_inputs",
           "evaluate", "export_run", "load_config", "load_run", "predict", "read_yaml", "resume", "train", "validate"]
