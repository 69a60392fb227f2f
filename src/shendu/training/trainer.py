"""The training loop: epochs of mini-batch gradient descent, validation, history, checkpoints.

One epoch, for each mini-batch ``(x, y)`` of the training loader::

    logits = model(x)                 # forward: (N, C, H, W) -> (N, num_classes)
    loss = loss_fn(logits, y)         # the batch's mean loss
    optimizer.zero_grad()
    loss.backward()                   # backprop: d loss / d every parameter
    optimizer.step()                  # e.g. w <- w - lr * grad for plain SGD

then the validation pass (no gradients, ``model.eval()``), ``scheduler.step()`` once, one
:class:`~shendu.training.History` row, the callbacks (early stopping), and — with ``out_dir`` —
the epoch's files, committed in the order :mod:`shendu.training.rundir` fixes.

Other batches (``(x, y, w)``, dicts) go through ``step_fn(model, batch) -> (loss, outputs, targets)``.
Metrics follow the task: accuracy for class labels (integer targets of shape ``(N,)`` and outputs
``(N, C)``), nothing but the loss otherwise (a regression), or the ``metrics`` given.

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
from typing import Any, Callable, Iterable, Sequence, Sized

import numpy as np
from tqdm import tqdm

from shendu import backend
from shendu.autograd.grad_mode import no_grad
from shendu.device import CPU
from shendu.tensor import Tensor
from shendu.training.callbacks import Callback
from shendu.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_checkpoint,
    save_checkpoint,
    save_weights,
)
from shendu.training.history import History
from shendu.training.rundir import RunDir, RunError, new_run_id, state_misfit


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


def _array(value: Any) -> np.ndarray:
    """A host array: metrics are computed with NumPy, whatever device trained."""
    return backend.to_host(value._data) if isinstance(value, Tensor) else np.asarray(value)


def _model_device(model) -> Any:
    """The device of the model's first parameter (the CPU for a model without parameters)."""
    first = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    return CPU if first is None else first.device


def accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    """Fraction of rows whose largest output is at the target class: mean(argmax(outputs) == targets)."""
    return float((outputs.argmax(axis=1) == targets).mean())


#: built-in metrics by name: (column suffix in the history, function of (outputs, targets) arrays)
METRICS: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], float]]] = {"accuracy": ("acc", accuracy)}


def _is_classification(outputs: np.ndarray, targets: np.ndarray | None) -> bool:
    """Class labels: integer targets (N,) beside outputs (N, C) with C > 1."""
    return (
        targets is not None
        and targets.dtype.kind in "iu"
        and targets.ndim == 1
        and outputs.ndim == 2
        and outputs.shape[0] == targets.shape[0]
        and outputs.shape[1] > 1
    )


def _metric_table(metrics: Any) -> dict[str, tuple[str, Callable]] | None:
    """``metrics`` argument -> {name: (column suffix, fn)}; None means "decide from the first batch"."""
    if isinstance(metrics, str) and metrics == "auto":
        return None
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    items = metrics.items() if isinstance(metrics, dict) else ((m, m) for m in metrics)
    table = {}
    for name, fn in items:
        if isinstance(fn, str):
            if fn not in METRICS:
                raise ValueError(
                    f"Trainer: unknown metric {fn!r}; known: {', '.join(METRICS)} (or a function)"
                )
            table[fn if isinstance(name, str) else name] = METRICS[fn]
        elif callable(fn):
            label = name if isinstance(name, str) else getattr(fn, "__name__", "metric")
            table[label] = (label, fn)
        else:
            raise TypeError(f"Trainer: a metric must be a name or a function, got {type(fn).__name__}")
    return table


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

    Returns ``(logits (N, num_classes), labels (N,))`` as NumPy arrays. Each batch goes to the
    model's device (the loader yields CPU tensors, as in PyTorch).
    """
    was_training = getattr(model, "training", False)
    model.eval()
    outs, labels = [], []
    device = _model_device(model)
    try:
        with no_grad():
            for x, y in loader:
                outs.append(backend.to_host(model(x.to(device))._data))
                labels.append(backend.to_host(y._data))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: the loader yielded no batches")
    return np.concatenate(outs), np.concatenate(labels)


def _normalization(loader: Any, channels: int) -> dict[str, list[float]]:
    """The loader's ``Normalize`` (alone or last in a ``Compose``), else the identity: what
    ``shendu predict`` must apply to an image before the model sees it."""
    from shendu.data.transforms import Compose, Normalize

    t = getattr(loader, "transform", None)
    if isinstance(t, Compose):
        t = next((u for u in reversed(t.transforms) if isinstance(u, Normalize)), None)
    if isinstance(t, Normalize):
        mean, std = (np.broadcast_to(v, (channels,)).tolist() for v in (t.mean, t.std))
        return {"mean": mean, "std": std}
    return {"mean": [0.0] * channels, "std": [1.0] * channels}


class Trainer:
    """Train ``model`` with ``optimizer`` on ``train_loader`` for ``epochs`` epochs.

    Args:
        model: a :class:`shendu.nn.Module` mapping inputs to outputs (logits ``(N, C)`` for classes).
        optimizer: a :mod:`shendu.optim` optimiser over ``model.parameters()``.
        train_loader: yields batches, ``(x, y)`` unless ``step_fn`` says otherwise; a
            :class:`~shendu.data.DataLoader` is told its epoch (``set_epoch``) before each epoch, so
            shuffling and augmentation depend only on ``(seed, epoch)`` and a resumed run sees the
            same batches.
        loss_fn: ``loss_fn(outputs, y) -> scalar Tensor``; default ``F.cross_entropy``.
        val_loader: evaluated after every epoch (``val_loss`` and the metrics).
        epochs: total number of epochs (a resumed run counts the ones already done).
        scheduler: a learning-rate scheduler, stepped once per epoch.
        callbacks: :class:`~shendu.training.callbacks.Callback` objects.
        out_dir: a run directory (:mod:`shendu.training.rundir`): locked while ``fit`` runs; after every
            ``checkpoint_every`` epochs ``model.safetensors``, ``history.json`` and then
            ``checkpoint.safetensors`` are written there, ``config.json`` before the first, and
            ``curves.png`` at the end. ``shendu eval`` and ``shendu predict`` read the folder.
        progress: show a tqdm bar per epoch (only on a terminal) and print one line per epoch.
        metrics: ``"auto"`` (accuracy for class labels, none for other targets), ``None`` (loss
            only), names of built-in metrics (``"accuracy"``), or ``{name: fn(outputs, targets)}``
            on NumPy arrays returning a batch mean. History columns are ``train_<name>`` and
            ``val_<name>`` (``acc`` for accuracy).
        step_fn: ``step_fn(model, batch) -> (loss, outputs, targets)`` for batches other than
            ``(x, y)`` (``(x, y, w)`` with a weighted loss, dicts); ``targets`` may be None (no metrics).
        checkpoint_every: epochs between checkpoints (the last epoch is always checkpointed).
        device: where to train (``"cpu"``, ``"cuda"``, ``"cuda:1"``): the model is moved there (in
            place, so an optimiser built before keeps working) and each ``(x, y)`` batch is moved
            there as it comes from the loader. Default: wherever the model's parameters are.
        config: what ``config.json`` records (``{"model": zoo name, "model_options": {...}, ...}``);
            by default it is filled from a zoo model's name and the first batch's shapes.

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
        out_dir: str | os.PathLike | RunDir | None = None,
        progress: bool = True,
        metrics: Any = "auto",
        step_fn: Callable | None = None,
        checkpoint_every: int = 1,
        config: dict[str, Any] | None = None,
        device: Any = None,
    ) -> None:
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"Trainer: epochs must be a positive integer, got {epochs!r}")
        if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ValueError(
                f"Trainer: checkpoint_every must be a positive integer, got {checkpoint_every!r}"
            )
        if device is not None:
            model.to(device)
        self.model = model
        self.device = _model_device(model)
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.loss_fn = loss_fn or _default_loss()
        self.val_loader = val_loader
        self.epochs = epochs
        self.scheduler = scheduler
        self.progress = progress
        self.step_fn = step_fn
        self.metrics = _metric_table(metrics)
        self.checkpoint_every = checkpoint_every
        self.config = dict(config) if config is not None else None
        self.run = (
            out_dir if isinstance(out_dir, RunDir) else RunDir(out_dir) if out_dir is not None else None
        )
        self.callbacks: list[Callback] = list(callbacks)
        self.history = History()
        self.completed_epochs = 0
        self.checkpointed_epoch: int | None = None  # epochs held by the last checkpoint written
        self.stop_training = False
        self.run_id: str | None = None
        self.repaired: list[str] = []  # files a resume rewrote to match the checkpoint
        self.resumed_from: int | None = None  # epochs the resumed checkpoint held
        self._config_written = False
        self._shapes: dict[str, Any] = {}

    # ---- paths -----------------------------------------------------------------------
    @property
    def out_dir(self) -> Path | None:
        return self.run.path if self.run is not None else None

    @property
    def checkpoint_path(self) -> Path | None:
        return self.run.checkpoint if self.run is not None else None

    def _last_checkpoint(self) -> Path | None:
        if self.checkpointed_epoch is None or self.run is None:  # an earlier run's file is not ours
            return None
        return self.run.checkpoint if self.run.checkpoint.is_file() else None

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
            extra={"run_id": self.run_id},
        )
        self.checkpointed_epoch = self.completed_epochs

    def save_weights(self, path: str | os.PathLike) -> None:
        save_weights(path, self.model, metadata=self._tags())

    def _tags(self) -> dict[str, str]:
        return {"run_id": self.run_id or "", "epoch": str(self.completed_epochs)}

    def load_checkpoint(self, path: str | os.PathLike) -> int:
        """Restore model, optimiser, scheduler, RNG, history and callbacks; returns completed epochs."""
        state = load_checkpoint(path)
        self._check_same_run(state.extra.get("run_id"), Path(path))
        try:
            restore_checkpoint(state, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler)
        except (KeyError, ValueError, RuntimeError) as err:  # another network's or optimiser's state
            reason = state_misfit(self.model.state_dict(), state.model) or str(err).strip().splitlines()[0]
            raise CheckpointError(
                f"{path} does not fit this run: {reason}; start the run again without --resume, "
                f"or restore the file"
            ) from None
        train_state = state.loaders.get("train", {})
        seed = getattr(self.train_loader, "seed", None)
        if train_state.get("seed") != seed:
            raise CheckpointError(
                f"{path}: the checkpoint's training loader used seed {train_state.get('seed')}, "
                f"this one uses {seed}: the resumed run would not match"
            )
        self.history = History(state.history)
        for i, c in enumerate(self.callbacks):
            if str(i) in state.callbacks:
                c.load_state_dict(state.callbacks[str(i)])
        self.completed_epochs = self.checkpointed_epoch = state.epoch
        self.run_id = state.extra.get("run_id") or self.run_id
        return state.epoch

    def _check_same_run(self, run_id: str | None, path: Path) -> None:
        """Refuse the run directory's checkpoint when config.json names another run (checked before
        the checkpoint is loaded into the model, which another network's weights would not fit)."""
        run = self.run
        if run is None or not run_id or path != run.checkpoint or not run.config.is_file():
            return
        stored = run.read_config().get("run_id")
        if stored and stored != run_id:
            raise RunError(
                f"{run.checkpoint} belongs to another run than {run.config}: the folder mixes two "
                f"runs; start again without --resume"
            )

    def _start(self, resume: str | os.PathLike | bool | None) -> None:
        """Take the run directory and bring it to a consistent state before the first epoch."""
        run = self.run
        if run is not None:
            run.lock()
            run.remove_temp_files()
        if not resume:
            self.run_id = new_run_id()
            if run is not None:
                run.clear()  # an earlier run's files would otherwise sit beside this run's
                if self.config is not None:
                    self._write_config()
            return
        path = self.checkpoint_path if resume is True else Path(resume)
        if path is None:
            raise ValueError("fit(resume=True) needs out_dir (or pass the checkpoint path)")
        if not path.is_file():
            raise RunError(f"no checkpoint to resume from at {path} (no epoch finished): start again")
        self.load_checkpoint(path)
        if run is not None and path == run.checkpoint:
            stored = run.read_config().get("run_id") if run.config.is_file() else None
            self.run_id = self.run_id or stored or new_run_id()
            if self.config is not None:
                self._write_config()
            self.repaired = run.repair(self.model, self.history.to_list(), self._tags())
        self.resumed_from = self.completed_epochs
        if self.progress and self.completed_epochs < self.epochs:
            fixed = f" (rewrote {', '.join(self.repaired)} to match it)" if self.repaired else ""
            self._log(f"resuming from {path} after epoch {self.completed_epochs} of {self.epochs}{fixed}")

    def _write_config(self) -> None:
        assert self.run is not None
        config = dict(self.config or {})
        config.update({k: v for k, v in self._shapes.items() if config.get(k) is None})
        if config.get("normalize") is None and config.get("input_shape"):
            config["normalize"] = _normalization(self.train_loader, int(config["input_shape"][0]))
        config["run_id"] = self.run_id
        self.run.write_config(config)
        self._config_written = True

    def _default_config(self) -> dict[str, Any]:
        """What a run made from Python records: the zoo model's name and options, if it is one."""
        built = getattr(self.model, "zoo_config", None) or {}
        options = {
            k: v for k, v in built.items() if k not in ("model", "num_classes", "in_channels", "input_size")
        }
        return {
            "model": built.get("model"),
            "model_class": type(self.model).__name__,
            "model_options": options,
            "epochs": self.epochs,
            "optimizer": repr(self.optimizer).replace("\n", " "),
            "scheduler": type(self.scheduler).__name__ if self.scheduler is not None else None,
        }

    def _commit(self) -> None:
        """The epoch's files: config (once), weights, history, then the checkpoint (the commit point)."""
        assert self.run is not None
        if not self._config_written:
            if self.config is None:
                self.config = self._default_config()
            self._write_config()
        self.run.commit_epoch(self.model, self.history.to_list(), self.save_checkpoint, self._tags())

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, resume: str | os.PathLike | bool | None = None) -> History:
        """Train for the remaining epochs; returns the :class:`History` of the whole run.

        ``resume``: a checkpoint path (or True for ``out_dir/checkpoint.safetensors``) to continue
        from; the result is bit-for-bit the run that was never interrupted. Resuming into
        ``out_dir`` also rewrites weights and history where a kill left them out of step with the
        checkpoint (listed in ``self.repaired``).
        """
        owner = self.run is not None and not self.run.locked  # release only a lock taken here
        try:
            self._start(resume)
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
        finally:
            if owner and self.run is not None:
                self.run.unlock()
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
        train, n, train_seconds = self._train_epoch(epoch)
        row: dict[str, Any] = {"epoch": epoch, **{f"train_{k}": v for k, v in train.items()}}
        row.setdefault("train_acc", None)
        row.update({"val_loss": None, "val_acc": None})
        if self.val_loader is not None:
            val = self.evaluate(self.val_loader)
            if not math.isfinite(val["loss"]):
                raise self._diverged(epoch, 0, val["loss"], "validation loss")
            for name, (column, _) in (self.metrics or {}).items():
                row[f"val_{column}"] = val[name]
            row["val_loss"] = val["loss"]
        row["lr"] = self._lr()
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
        if self.run is not None:
            last = self.stop_training or epoch == self.epochs
            if epoch % self.checkpoint_every == 0 or last:
                self._commit()
            else:
                self.history.save(self.run.history)

    def _step(self, batch: Any) -> tuple[Tensor, Any, Any]:
        """(loss, outputs, targets) of one batch: ``step_fn`` or the plain ``(x, y)`` path."""
        if self.step_fn is not None:
            result = self.step_fn(self.model, batch)
            if not (isinstance(result, tuple) and len(result) == 3):
                raise TypeError("Trainer: step_fn must return (loss, outputs, targets)")
            return result
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            got = (
                f"a dict with keys {list(batch)}"
                if isinstance(batch, dict)
                else (f"{len(batch)} items" if isinstance(batch, (tuple, list)) else type(batch).__name__)
            )
            raise TypeError(
                f"Trainer: a batch must be (inputs, targets), got {got}; for other batches pass "
                f"step_fn=lambda model, batch: (loss, outputs, targets)"
            )
        x, y = batch
        if isinstance(x, Tensor) and isinstance(y, Tensor):
            x, y = x.to(self.device), y.to(self.device)  # the loader yields CPU tensors
        outputs = self.model(x)
        return self.loss_fn(outputs, y), outputs, y

    def _measure(self, outputs: Any, targets: Any) -> dict[str, float]:
        """Batch values of the metrics (chosen from the first batch when ``metrics="auto"``)."""
        out = _array(outputs)
        tgt = _array(targets) if targets is not None else None
        if "num_classes" not in self._shapes:
            self._shapes["num_classes"] = int(out.shape[1]) if out.ndim == 2 else None
        if self.metrics is None:
            self.metrics = {"accuracy": METRICS["accuracy"]} if _is_classification(out, tgt) else {}
        if tgt is None:
            return {}
        return {name: float(fn(out, tgt)) for name, (_, fn) in self.metrics.items()}

    def _train_epoch(self, epoch: int) -> tuple[dict[str, float], int, float]:
        """One pass over the training loader: ({"loss": mean, column: metric}, samples, seconds)."""
        loader = self.train_loader
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch - 1)  # order and augmentation depend on (seed, epoch) alone
        self.model.train()
        sums: dict[str, float] = {}
        seen = 0
        start = time.perf_counter()
        n_batches = len(loader) if isinstance(loader, Sized) else None
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
            for batch_no, batch in enumerate(loader, start=1):
                if "input_shape" not in self._shapes and isinstance(batch, (tuple, list)) and batch:
                    shape = getattr(batch[0], "shape", None)
                    self._shapes["input_shape"] = list(shape[1:]) if shape is not None else None
                loss, outputs, targets = self._step(batch)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise self._diverged(epoch, batch_no, value, "training loss")
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                size = int(_array(outputs).shape[0]) if np.ndim(_array(outputs)) else 1
                values = {"loss": value, **self._measure(outputs, targets)}
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v * size
                seen += size
                elapsed = time.perf_counter() - start
                bar.update(1)
                shown = {"loss": f"{sums['loss'] / seen:.4f}"}
                if "accuracy" in sums:
                    shown["acc"] = f"{sums['accuracy'] / seen:.3f}"
                shown["img/s"] = f"{seen / elapsed:.0f}" if elapsed > 0 else "-"
                bar.set_postfix(shown, refresh=False)
        finally:
            bar.close()
        if seen == 0:
            raise ValueError("Trainer: the training loader yielded no batches")
        columns = {"loss": "loss", **{name: col for name, (col, _) in (self.metrics or {}).items()}}
        means = {columns[k]: v / seen for k, v in sums.items()}
        return means, seen, time.perf_counter() - start

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
        """Mean loss and metrics of the model on ``loader`` (eval mode, no gradients).

        Returns ``{"loss": ..., "n": ...}`` plus one entry per metric (``"accuracy"`` for classes).
        """
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        sums: dict[str, float] = {}
        seen = 0
        try:
            with no_grad():
                for batch in loader:
                    loss, outputs, targets = self._step(batch)
                    size = int(_array(outputs).shape[0]) if np.ndim(_array(outputs)) else 1
                    values = {"loss": float(loss.item()), **self._measure(outputs, targets)}
                    for k, v in values.items():
                        sums[k] = sums.get(k, 0.0) + v * size
                    seen += size
        finally:
            self.model.train(was_training)
        if seen == 0:
            raise ValueError("evaluate: the loader yielded no batches")
        return {**{k: v / seen for k, v in sums.items()}, "n": seen}

    # ---- reporting ---------------------------------------------------------------------
    def _lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    def _epoch_line(self, row: dict[str, Any]) -> str:
        line = f"epoch {row['epoch']:>{len(str(self.epochs))}}/{self.epochs}  loss {row['train_loss']:.4f}"
        columns = [col for _, (col, _) in (self.metrics or {}).items()]
        line += "".join(
            f"  {c} {row[f'train_{c}']:.4f}" for c in columns if row.get(f"train_{c}") is not None
        )
        if row["val_loss"] is not None:
            line += f"  val_loss {row['val_loss']:.4f}"
            line += "".join(
                f"  val_{c} {row[f'val_{c}']:.4f}" for c in columns if row.get(f"val_{c}") is not None
            )
        return line + f"  {row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s"

    def _log(self, message: str) -> None:
        tqdm.write(message, file=sys.stderr)

    def _write_summary_files(self) -> None:
        """history.json and curves.png of the whole run (left as they are when already current)."""
        if self.run is None or not len(self.history):
            return
        if self.completed_epochs == self.resumed_from:  # a resume with nothing (yet) trained
            if self.run.curves_current(len(self.history)):
                return  # the files were checked and repaired
            self.repaired.append(self.run.curves.name)
        self.history.save(self.run.history)
        from shendu.training.plots import plot_history

        try:
            plot_history(self.history, self.run.curves)
        except Exception as err:  # a figure must not hide why training stopped
            self._log(f"warning: could not draw {self.run.curves}: {err}")
