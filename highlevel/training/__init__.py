"""Training: the train state, the pure steps, the host loop and the Trainer."""

from highlevel.training.callback import Callback, CallbackList, History, LazyLogs
from highlevel.training.progress import ProgbarLogger
from highlevel.training.state import TrainState
from highlevel.training.trainer import Trainer

__all__ = ["Callback", "CallbackList", "History", "LazyLogs", "ProgbarLogger", "TrainState", "Trainer"]
