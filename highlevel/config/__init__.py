"""YAML-configured runs: the schema, loading with overrides, check/train/resume, evaluate/predict."""

from highlevel.config.errors import ConfigError
from highlevel.config.inference import evaluate, predict
from highlevel.config.loading import apply_overrides, load_config, read_yaml, validate
from highlevel.config.run import EXIT_PREEMPTED, check, resume, train
from highlevel.config.schema import RunConfig

__all__ = ["EXIT_PREEMPTED", "ConfigError", "RunConfig", "apply_overrides", "check", "evaluate", "load_config",
           "predict", "read_yaml", "resume", "train", "validate"]
