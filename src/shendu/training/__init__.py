"""Training: the :class:`Trainer` loop, its :class:`History`, callbacks, checkpoints and figures."""

from shendu.training.callbacks import Callback, EarlyStopping
from shendu.training.checkpoint import (
    CheckpointError,
    CheckpointState,
    load_checkpoint,
    save_checkpoint,
    save_weights,
)
from shendu.training.history import History
from shendu.training.plots import plot_confusion_matrix, plot_history
from shendu.training.rundir import RunDir, RunError
from shendu.training.trainer import Trainer, TrainingDiverged, TrainingInterrupted, predict

__all__ = [
    "Callback",
    "CheckpointError",
    "CheckpointState",
    "EarlyStopping",
    "History",
    "RunDir",
    "RunError",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "load_checkpoint",
    "plot_confusion_matrix",
    "plot_history",
    "predict",
    "save_checkpoint",
    "save_weights",
]
