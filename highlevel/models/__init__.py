"""Models: Sequential, functional Model(inputs, outputs), Ensemble, saving and loading."""

from highlevel.models.ensemble import Ensemble
from highlevel.models.exporting import register_exporter
from highlevel.models.model import Model
from highlevel.models.saving import load_model
from highlevel.models.sequential import Sequential

__all__ = ["Ensemble", "Model", "Sequential", "load_model", "register_exporter"]
