"""Callbacks: Keras's hooks and callbacks, and schedules Keras cannot run without recompiling.

One callback per module; the protocol (``Callback``, ``History``, ``ProgbarLogger``)
lives with the trainer in ``highlevel.training``.
"""

from highlevel.callbacks.backup_and_restore import BackupAndRestore
from highlevel.callbacks.backup_on_signal import BackupOnSignal, TrainingPreempted
from highlevel.callbacks.batch_norm_momentum_scheduler import BatchNormMomentumScheduler
from highlevel.callbacks.csv_logger import CSVLogger
from highlevel.callbacks.dropout_scheduler import DropoutScheduler
from highlevel.callbacks.early_stopping import EarlyStopping
from highlevel.callbacks.freeze_batch_norm import FreezeBatchNorm
from highlevel.callbacks.lambda_callback import LambdaCallback
from highlevel.callbacks.learning_rate_scheduler import LearningRateScheduler
from highlevel.callbacks.mlflow_logger import MLflowLogger
from highlevel.callbacks.model_checkpoint import ModelCheckpoint
from highlevel.callbacks.orbax_checkpoint import OrbaxCheckpoint
from highlevel.callbacks.precise_batch_norm import PreciseBatchNorm
from highlevel.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from highlevel.callbacks.remote_monitor import RemoteMonitor
from highlevel.callbacks.swap_ema_weights import SwapEMAWeights
from highlevel.callbacks.tensorboard import TensorBoard
from highlevel.callbacks.terminate_on_nan import TerminateOnNaN
from highlevel.training.callback import Callback, CallbackList, History
from highlevel.training.progress import ProgbarLogger

__all__ = ["BackupAndRestore", "BackupOnSignal", "BatchNormMomentumScheduler", "CSVLogger", "Callback", "CallbackList",
           "DropoutScheduler", "EarlyStopping", "FreezeBatchNorm", "History", "LambdaCallback",
           "LearningRateScheduler", "MLflowLogger", "ModelCheckpoint", "OrbaxCheckpoint", "PreciseBatchNorm",
           "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
           "TrainingPreempted"]
