"""Models: Sequential, functional Model(inputs, outputs), Ensemble, saving and loading, cloning."""

from highlevel.models.cloning import clone_model, model_from_json
from highlevel.models.ensemble import Ensemble
from highlevel.models.exporting import register_exporter
from highlevel.models.model import Model
from highlevel.models.saving import load_model
from highlevel.models.sequential import Sequential

__all__ = ["Ensemble", "Model", "Sequential", "clone_model", "load_model", "model_from_json", "register_exporter"]
