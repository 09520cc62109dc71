"""Training: the train state, the pure steps, the one host loop, the Trainer and its public seam."""

from highlevel.training.callback import Callback, CallbackList, History, LazyLogs
from highlevel.training.live import LiveState
from highlevel.training.progress import ProgbarLogger
from highlevel.training.seam import Snapshot, TrainerAPI
from highlevel.training.state import TrainState
from highlevel.training.trainer import Trainer

__all__ = ["Callback", "CallbackList", "History", "LazyLogs", "LiveState", "ProgbarLogger", "Snapshot",
           "TrainState", "Trainer", "TrainerAPI"]
