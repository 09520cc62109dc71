"""Models: Sequential, functional Model(inputs, outputs), saving and loading."""

from highlevel.models.model import Model
from highlevel.models.saving import load_model
from highlevel.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
