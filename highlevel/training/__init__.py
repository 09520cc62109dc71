"""Training: the train state, the pure steps, the one host loop, the Trainer and its public seam.

``model.trainer`` (a ``Trainer``) is the one public way into training for callbacks,
saving and ensembles: ``TrainerAPI`` lists what it answers. A ``LiveState`` owns the
train state between compiled calls and keeps it in step with the module. ``Throughput``
measures each epoch (``model.trainer.throughput``); ``find_learning_rate`` (also
``hl.utils.find_learning_rate``) sweeps the learning rate on a copy of the train state.
"""

from highlevel.training.callback import Callback, CallbackList, History, LazyLogs
from highlevel.training.grain_adapter import GrainAdapter, GrainData
from highlevel.training.live import LiveState
from highlevel.training.lr_finder import LearningRateFinder, find_learning_rate
from highlevel.training.progress import ProgbarLogger
from highlevel.training.seam import Snapshot, TrainerAPI
from highlevel.training.state import TrainState
from highlevel.training.throughput import Throughput
from highlevel.training.trainer import Trainer

__all__ = ["GrainAdapter", "GrainData", "LearningRateFinder", "LiveState", "Snapshot", "Throughput", "Trainer",
           "TrainerAPI", "find_learning_rate"]
