"""Training checkpoints in one safetensors file: weights, optimiser, scheduler, epoch, RNG state.

A checkpoint is what :meth:`Trainer.fit(resume=...) <shendu.training.Trainer.fit>` needs to go on
as if the run had never stopped: the model's weights, the optimiser's state (Adam's moments,
momentum buffers, step counts), the scheduler's position, the number of completed epochs, the state
of shendu's random generator, the data loaders' epoch, the history so far and the callbacks' state.

Layout of ``checkpoint.safetensors`` (never pickle: loading a checkpoint cannot run code):

- tensors ``model.<name>``: the model's ``state_dict()``;
- tensors ``optimizer.state.<i>.<name>``: the optimiser's state arrays (``flatten_state_dict``);
- string metadata (JSON): ``format``, ``epoch``, ``optimizer`` (class and hyper-parameters),
  ``scheduler``, ``rng_state``, ``loaders``, ``history``, ``callbacks``.

Files are written atomically (a temporary file, then a rename), so a crash while saving leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shendu import random as _random
from shendu import serialization
from shendu.tensor import Tensor
from shendu.optim.optimizer import flatten_state_dict, unflatten_state_dict

FORMAT = "shendu.checkpoint/1"
_MODEL = "model."
_OPTIM = "optimizer."


@dataclass
class CheckpointState:
    """What :func:`load_checkpoint` read: arrays as NumPy, the rest decoded from JSON."""

    epoch: int
    model: dict[str, np.ndarray]
    optimizer: dict[str, Any] | None
    optimizer_class: str | None
    scheduler: dict[str, Any] | None
    rng_state: str | None
    loaders: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    callbacks: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _arrays(state_dict: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: v.data if isinstance(v, Tensor) else np.asarray(v) for k, v in state_dict.items()}


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model,
    optimizer=None,
    scheduler=None,
    epoch: int,
    loaders: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    callbacks: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a checkpoint of the state after ``epoch`` completed epochs (atomically).

    Captures shendu's global random generator as it is now, so call it at the epoch boundary.
    """
    tensors = {_MODEL + k: v for k, v in _arrays(model.state_dict()).items()}
    meta: dict[str, str] = {"format": FORMAT, "epoch": str(int(epoch)), "rng_state": _random.get_rng_state()}
    if optimizer is not None:
        arrays, opt_meta = flatten_state_dict(optimizer.state_dict(), prefix=_OPTIM)
        tensors.update(arrays)
        meta["optimizer"] = json.dumps({"class": type(optimizer).__name__, **opt_meta})
    if scheduler is not None:
        meta["scheduler"] = json.dumps({"class": type(scheduler).__name__, "state": scheduler.state_dict()})
    meta["loaders"] = json.dumps(loaders or {})
    meta["history"] = json.dumps(history or [])
    meta["callbacks"] = json.dumps(callbacks or {})
    meta["extra"] = json.dumps(extra or {})
    serialization.save(tensors, path, metadata=meta)


def model_state(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's weights among a checkpoint's tensors (the ``model.`` prefix removed)."""
    return {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}


def load_checkpoint(path: str | os.PathLike) -> CheckpointState:
    """Read a checkpoint written by :func:`save_checkpoint`; clear errors for other files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    tensors, meta = serialization.load_with_metadata(path)
    meta = meta or {}
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a shendu training checkpoint (metadata format={meta.get('format')!r}, "
            f"expected {FORMAT!r}); a weights-only file such as model.safetensors cannot resume a run"
        )
    model = model_state(tensors)
    optimizer = optimizer_class = None
    if "optimizer" in meta:
        opt_meta = json.loads(meta["optimizer"])
        optimizer_class = opt_meta.pop("class", None)
        opt_arrays = {k: v for k, v in tensors.items() if k.startswith(_OPTIM)}
        optimizer = unflatten_state_dict(opt_arrays, opt_meta, prefix=_OPTIM)
    scheduler = json.loads(meta["scheduler"])["state"] if "scheduler" in meta else None
    return CheckpointState(
        epoch=int(meta["epoch"]),
        model=model,
        optimizer=optimizer,
        optimizer_class=optimizer_class,
        scheduler=scheduler,
        rng_state=meta.get("rng_state"),
        loaders=json.loads(meta.get("loaders", "{}")),
        history=json.loads(meta.get("history", "[]")),
        callbacks=json.loads(meta.get("callbacks", "{}")),
        extra=json.loads(meta.get("extra", "{}")),
    )


def restore_checkpoint(state: CheckpointState, *, model, optimizer=None, scheduler=None) -> None:
    """Load ``state`` into the model, optimiser, scheduler and shendu's random generator."""
    model.load_state_dict(state.model)
    if optimizer is not None:
        if state.optimizer is None:
            raise ValueError("the checkpoint holds no optimiser state")
        if state.optimizer_class and state.optimizer_class != type(optimizer).__name__:
            raise ValueError(
                f"the checkpoint was written by a {state.optimizer_class} optimiser, "
                f"but this run uses {type(optimizer).__name__}"
            )
        optimizer.load_state_dict(state.optimizer)
    if scheduler is not None and state.scheduler is not None:
        scheduler.load_state_dict(state.scheduler)
    if state.rng_state:
        _random.set_rng_state(state.rng_state)


def save_weights(path: str | os.PathLike, model, metadata: dict[str, str] | None = None) -> None:
    """Write the model's ``state_dict()`` alone (``model.safetensors``), atomically."""
    serialization.save(_arrays(model.state_dict()), path, metadata=metadata)
