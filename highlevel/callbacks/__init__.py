"""Callbacks: Keras's hooks and callbacks, each in its own module."""

from highlevel.training.callback import Callback, CallbackList, History
from highlevel.training.progress import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger"]
