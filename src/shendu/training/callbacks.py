"""Callbacks: code the :class:`~shendu.training.Trainer` runs at fixed points of training.

A callback overrides some of ``on_train_begin(trainer)``, ``on_epoch_end(trainer, row)`` and
``on_train_end(trainer)``; ``row`` is the epoch's :class:`~shendu.training.History` row. Setting
``trainer.stop_training = True`` ends the run after the current epoch. A callback with state that
must survive a resume (early stopping's best value and patience count) returns it from
``state_dict()`` and takes it back in ``load_state_dict()``; it is stored in the checkpoint and may
nest dicts, lists, tuples, numbers, strings, None, NumPy arrays and Tensors (arrays are stored as
tensors of the checkpoint, the rest as JSON). Checkpoints themselves are the Trainer's job
(``Trainer(out_dir=..., checkpoint_every=...)``), not a callback's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shendu.training.trainer import Trainer


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode`` is ``"min"`` (losses) or ``"max"`` (accuracies); ``"auto"`` picks from the name.

    >>> es = EarlyStopping(monitor="val_loss", patience=1)
    >>> class T: stop_training = False
    >>> t = T()
    >>> for loss in (1.0, 0.9, 0.95, 0.97):
    ...     es.on_epoch_end(t, {"epoch": 0, "val_loss": loss})
    >>> t.stop_training, es.best
    (True, 0.9)
    """

    def __init__(
        self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto"
    ) -> None:
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta, self.mode = (
            monitor,
            int(patience),
            float(min_delta),
            mode,
        )
        self.best: float | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        value = row.get(self.monitor)
        if value is None:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r}, which this run does not record "
                f"(recorded: {', '.join(k for k, v in row.items() if v is not None)}); "
                f"'val_*' needs a validation loader"
            )
        if not math.isnan(value) and self._improved(value):
            self.best, self.wait = float(value), 0
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = row.get("epoch")
            trainer.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait, self.stopped_epoch = state["best"], state["wait"], state["stopped_epoch"]
