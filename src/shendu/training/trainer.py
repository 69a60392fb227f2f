"""The training loop: epochs of mini-batch gradient descent, validation, history, checkpoints.

One epoch, for each mini-batch ``(x, y)`` of the training loader::

    logits = model(x)                 # forward: (N, C, H, W) -> (N, num_classes)
    loss = loss_fn(logits, y)         # the batch's mean loss
    optimizer.zero_grad()
    loss.backward()                   # backprop: d loss / d every parameter
    optimizer.step()                  # e.g. w <- w - lr * grad for plain SGD

then the validation pass (no gradients, ``model.eval()``), ``scheduler.step()`` once, one
:class:`~shendu.training.History` row, and the callbacks (early stopping, checkpoints).

Stops that are not the end of the plan raise: :class:`TrainingDiverged` when a loss becomes NaN or
infinite (the last good checkpoint is left as it was), :class:`TrainingInterrupted` on Ctrl-C (the
checkpoint of the last completed epoch is on disk, so ``fit(resume=...)`` continues exactly).
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from shendu.autograd.grad_mode import no_grad
from shendu.tensor import Tensor
from shendu.training.callbacks import Callback, Checkpoint
from shendu.training.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint, save_weights
from shendu.training.history import History


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. ``epoch`` and ``batch`` count from 1; ``checkpoint`` is the
    last good checkpoint on disk (or None)."""

    def __init__(self, message: str, *, epoch: int, batch: int, loss: float, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.loss, self.checkpoint = epoch, batch, loss, checkpoint


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`Trainer.fit`. ``completed_epochs`` finished; ``checkpoint`` holds them."""

    def __init__(self, message: str, *, completed_epochs: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.completed_epochs, self.checkpoint = completed_epochs, checkpoint


def _default_loss() -> Callable:
    from shendu.nn import functional as F

    return F.cross_entropy


def _count_correct(logits: Tensor, y: Tensor) -> int:
    return int((logits.data.argmax(axis=1) == y.data).sum())


# tqdm's default without its batches/s: images per second in the postfix says the same
_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def _bar_width() -> dict[str, Any]:
    """tqdm's width options: follow the terminal, or 80 columns where it reports no size.

    A terminal of unknown size (a pseudo-terminal without a window: ``script``, some CI runners
    and editors) reports 0 columns and 0 rows, and tqdm then draws nothing at all.
    """
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return {"dynamic_ncols": True} if min(size) > 0 else {"ncols": 80, "nrows": 24}


def predict(model, loader: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` (in eval mode, without gradients) over ``loader``.

    Returns ``(logits (N, num_classes), labels (N,))`` as NumPy arrays.
    """
    was_training = getattr(model, "training", False)
    model.eval()
    outs, labels = [], []
    try:
        with no_grad():
            for x, y in loader:
                outs.append(model(x).data)
                labels.append(y.data)
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: the loader yielded no batches")
    return np.concatenate(outs), np.concatenate(labels)


class Trainer:
    """Train ``model`` with ``optimizer`` on ``train_loader`` for ``epochs`` epochs.

    Args:
        model: a :class:`shendu.nn.Module` mapping ``x: (N, ...)`` to logits ``(N, num_classes)``.
        optimizer: a :mod:`shendu.optim` optimiser over ``model.parameters()``.
        train_loader: yields ``(x, y)`` batches; a :class:`~shendu.data.DataLoader` is told its epoch
            (``set_epoch``) before each epoch, so shuffling and augmentation depend only on
            ``(seed, epoch)`` and a resumed run sees the same batches.
        loss_fn: ``loss_fn(logits, y) -> scalar Tensor``; default ``F.cross_entropy``.
        val_loader: evaluated after every epoch (``val_loss``, ``val_acc``).
        epochs: total number of epochs (a resumed run counts the ones already done).
        scheduler: a learning-rate scheduler, stepped once per epoch.
        callbacks: :class:`~shendu.training.callbacks.Callback` objects.
        out_dir: if given, ``checkpoint.safetensors``, ``model.safetensors`` and ``history.json`` are
            written there after every epoch, and ``curves.png`` at the end.
        progress: show a tqdm bar per epoch (only on a terminal) and print one line per epoch.

    >>> import numpy as np, shendu
    >>> from shendu import nn, optim
    >>> from shendu.data import DataLoader, TensorDataset
    >>> _ = shendu.manual_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = nn.Linear(2, 2)
    >>> trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.5),
    ...                   DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=0),
    ...                   epochs=5, progress=False)
    >>> history = trainer.fit()
    >>> len(history), history["train_acc"][-1] > 0.9
    (5, True)
    """

    def __init__(
        self,
        model,
        optimizer,
        train_loader: Iterable,
        *,
        loss_fn: Callable | None = None,
        val_loader: Iterable | None = None,
        epochs: int = 10,
        scheduler=None,
        callbacks: Sequence[Callback] = (),
        out_dir: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> None:
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"Trainer: epochs must be a positive integer, got {epochs!r}")
        self.model = model
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.loss_fn = loss_fn or _default_loss()
        self.val_loader = val_loader
        self.epochs = epochs
        self.scheduler = scheduler
        self.progress = progress
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.callbacks: list[Callback] = list(callbacks)
        if self.out_dir is not None and not any(isinstance(c, Checkpoint) for c in self.callbacks):
            self.callbacks.append(Checkpoint(self.checkpoint_path, self.out_dir / "model.safetensors"))
        # checkpoints last: what they save includes the other callbacks' decisions for the epoch
        self.callbacks.sort(key=lambda c: isinstance(c, Checkpoint))
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.history = History()
        self.completed_epochs = 0
        self.checkpointed_epoch: int | None = None  # epochs held by the last checkpoint written
        self.stop_training = False

    # ---- paths -----------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.out_dir / "checkpoint.safetensors" if self.out_dir is not None else None

    def _last_checkpoint(self) -> Path | None:
        if self.checkpointed_epoch is None:  # a file from an earlier run is not this run's
            return None
        paths = [c.path for c in self.callbacks if isinstance(c, Checkpoint)]
        return next((p for p in paths if p.is_file()), None)

    # ---- saving and resuming ---------------------------------------------------------
    def _loader_state(self) -> dict[str, Any]:
        state = {}
        for name, loader in (("train", self.train_loader), ("val", self.val_loader)):
            if loader is not None and hasattr(loader, "epoch"):
                state[name] = {"epoch": int(loader.epoch), "seed": getattr(loader, "seed", None)}
        return state

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write everything needed to resume after ``self.completed_epochs`` epochs."""
        save_checkpoint(
            path,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            epoch=self.completed_epochs,
            loaders=self._loader_state(),
            history=self.history.to_list(),
            callbacks={str(i): c.state_dict() for i, c in enumerate(self.callbacks)},
        )
        self.checkpointed_epoch = self.completed_epochs

    def save_weights(self, path: str | os.PathLike) -> None:
        save_weights(path, self.model)

    def load_checkpoint(self, path: str | os.PathLike) -> int:
        """Restore model, optimiser, scheduler, RNG, history and callbacks; returns completed epochs."""
        state = load_checkpoint(path)
        restore_checkpoint(state, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler)
        train_state = state.loaders.get("train", {})
        seed = getattr(self.train_loader, "seed", None)
        if train_state.get("seed") != seed:
            raise ValueError(
                f"the checkpoint's training loader used seed {train_state.get('seed')}, "
                f"this one uses {seed}: the resumed run would not match"
            )
        self.history = History(state.history)
        for i, c in enumerate(self.callbacks):
            if str(i) in state.callbacks:
                c.load_state_dict(state.callbacks[str(i)])
        self.completed_epochs = self.checkpointed_epoch = state.epoch
        return state.epoch

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, resume: str | os.PathLike | bool | None = None) -> History:
        """Train for the remaining epochs; returns the :class:`History` of the whole run.

        ``resume``: a checkpoint path (or True for ``out_dir/checkpoint.safetensors``) to continue
        from; the result is bit-for-bit the run that was never interrupted.
        """
        if resume:
            path = self.checkpoint_path if resume is True else Path(resume)
            if path is None:
                raise ValueError("fit(resume=True) needs out_dir (or pass the checkpoint path)")
            self.load_checkpoint(path)
        self.stop_training = False
        for c in self.callbacks:
            c.on_train_begin(self)
        try:
            while self.completed_epochs < self.epochs and not self.stop_training:
                self._run_epoch(self.completed_epochs + 1)
        except KeyboardInterrupt:
            raise self._interrupted() from None
        finally:
            self._write_summary_files()
        for c in self.callbacks:
            c.on_train_end(self)
        return self.history

    def _interrupted(self) -> TrainingInterrupted:
        ckpt = self._last_checkpoint()
        done = self.checkpointed_epoch if ckpt else self.completed_epochs
        where = f"; {ckpt} holds them" if ckpt else " (no checkpoint was written)"
        return TrainingInterrupted(
            f"training interrupted during epoch {self.completed_epochs + 1}: "
            f"{done} epoch(s) completed{where}",
            completed_epochs=done or 0,
            checkpoint=ckpt,
        )

    def _run_epoch(self, epoch: int) -> None:
        start = time.perf_counter()
        train_loss, train_acc, n, train_seconds = self._train_epoch(epoch)
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": None,
            "val_acc": None,
            "lr": self._lr(),
        }
        if self.val_loader is not None:
            val = self.evaluate(self.val_loader)
            row["val_loss"], row["val_acc"] = val["loss"], val["accuracy"]
            if not math.isfinite(val["loss"]):
                raise self._diverged(epoch, 0, val["loss"], "validation loss")
        if self.scheduler is not None:
            self.scheduler.step()
        row["seconds"] = time.perf_counter() - start
        row["images_per_s"] = n / train_seconds if train_seconds > 0 else float("nan")
        self.history.append(**row)
        self.completed_epochs = epoch
        if self.progress:
            self._log(self._epoch_line(row))
        for c in self.callbacks:
            c.on_epoch_end(self, row)
        if self.out_dir is not None:
            self.history.save(self.out_dir / "history.json")

    def _train_epoch(self, epoch: int) -> tuple[float, float, int, float]:
        """One pass over the training loader: (mean loss, accuracy, images, seconds)."""
        loader = self.train_loader
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch - 1)  # order and augmentation depend on (seed, epoch) alone
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        start = time.perf_counter()
        n_batches = len(loader) if hasattr(loader, "__len__") else None
        bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch}/{self.epochs}",
            unit="batch",
            leave=False,
            bar_format=_BAR_FORMAT,
            file=sys.stderr,
            disable=not (self.progress and sys.stderr.isatty()),
            **_bar_width(),
        )
        try:
            for batch, (x, y) in enumerate(loader, start=1):
                logits = self.model(x)
                loss = self.loss_fn(logits, y)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise self._diverged(epoch, batch, value, "training loss")
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                size = int(y.shape[0])
                total_loss += value * size
                correct += _count_correct(logits, y)
                seen += size
                elapsed = time.perf_counter() - start
                bar.update(1)
                bar.set_postfix(
                    {
                        "loss": f"{total_loss / seen:.4f}",
                        "acc": f"{correct / seen:.3f}",
                        "img/s": f"{seen / elapsed:.0f}" if elapsed > 0 else "-",
                    },
                    refresh=False,
                )
        finally:
            bar.close()
        if seen == 0:
            raise ValueError("Trainer: the training loader yielded no batches")
        return total_loss / seen, correct / seen, seen, time.perf_counter() - start

    def _diverged(self, epoch: int, batch: int, value: float, what: str) -> TrainingDiverged:
        ckpt = self._last_checkpoint()
        where = f"batch {batch} of epoch {epoch}" if batch else f"epoch {epoch}"
        keep = (
            f"the last good checkpoint ({self.checkpointed_epoch} epoch(s)) is kept at {ckpt}"
            if ckpt
            else "no checkpoint was written before it"
        )
        return TrainingDiverged(
            f"the {what} became {value} at {where}; training stopped and {keep}. "
            f"A lower learning rate usually helps.",
            epoch=epoch,
            batch=batch,
            loss=value,
            checkpoint=ckpt,
        )

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss and accuracy of the model on ``loader`` (eval mode, no gradients).

        Returns ``{"loss": ..., "accuracy": ..., "n": ...}``.
        """
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        try:
            with no_grad():
                for x, y in loader:
                    logits = self.model(x)
                    size = int(y.shape[0])
                    total_loss += float(self.loss_fn(logits, y).item()) * size
                    correct += _count_correct(logits, y)
                    seen += size
        finally:
            self.model.train(was_training)
        if seen == 0:
            raise ValueError("evaluate: the loader yielded no batches")
        return {"loss": total_loss / seen, "accuracy": correct / seen, "n": seen}

    # ---- reporting ---------------------------------------------------------------------
    def _lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    def _epoch_line(self, row: dict[str, Any]) -> str:
        line = (
            f"epoch {row['epoch']:>{len(str(self.epochs))}}/{self.epochs}  "
            f"loss {row['train_loss']:.4f}  acc {row['train_acc']:.4f}"
        )
        if row["val_loss"] is not None:
            line += f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_acc']:.4f}"
        return line + f"  {row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s"

    def _log(self, message: str) -> None:
        tqdm.write(message, file=sys.stderr)

    def _write_summary_files(self) -> None:
        if self.out_dir is None or not len(self.history):
            return
        self.history.save(self.out_dir / "history.json")
        from shendu.training.plots import plot_history

        try:
            plot_history(self.history, self.out_dir / "curves.png")
        except Exception as err:  # a figure must not hide why training stopped
            self._log(f"warning: could not draw curves.png: {err}")
