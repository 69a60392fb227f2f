"""Training: the :class:`Trainer` loop, its :class:`History`, callbacks, checkpoints and figures."""

from shendu.training.callbacks import Callback, Checkpoint, EarlyStopping
from shendu.training.checkpoint import CheckpointState, load_checkpoint, save_checkpoint, save_weights
from shendu.training.history import History
from shendu.training.plots import plot_confusion_matrix, plot_history
from shendu.training.trainer import Trainer, TrainingDiverged, TrainingInterrupted, predict

__all__ = [
    "Callback",
    "Checkpoint",
    "CheckpointState",
    "EarlyStopping",
    "History",
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
