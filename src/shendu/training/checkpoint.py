"""Training checkpoints in one safetensors file: weights, optimiser, scheduler, epoch, RNG state.

A checkpoint is what :meth:`Trainer.fit(resume=...) <shendu.training.Trainer.fit>` needs to go on
as if the run had never stopped: the model's weights, the optimiser's state (Adam's moments,
momentum buffers, step counts), the scheduler's position, the number of completed epochs, the state
of shendu's random generator, the data loaders' epoch, the history so far and the callbacks' state.

Layout of ``checkpoint.safetensors`` (never pickle: loading a checkpoint cannot run code):

- tensors ``model.<name>``: the model's ``state_dict()``;
- tensors ``optimizer.state.<i>.<name>``: the optimiser's state arrays, and ``callbacks.<i>.<...>``
  the arrays of callbacks' states (both through :func:`shendu.serialization.flatten_state_dict`);
- string metadata (JSON): ``format``, ``epoch``, ``optimizer`` (class and hyper-parameters),
  ``scheduler``, ``rng_state``, ``loaders``, ``history``, ``callbacks``, ``extra``.

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

from shendu import backend
from shendu import random as _random
from shendu import serialization
from shendu.tensor import Tensor
from shendu.serialization import flatten_state_dict, unflatten_state_dict

FORMAT = "shendu.checkpoint/2"
_MODEL = "model."
_OPTIM = "optimizer."
_CALLBACKS = "callbacks."


class CheckpointError(ValueError):
    """A file that is not a complete shendu training checkpoint; the message names it."""


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


def state_arrays(state_dict: dict[str, Any]) -> dict[str, np.ndarray]:
    """``{name: ndarray}`` of a ``state_dict()`` whose values are Tensors or arrays."""
    # Host arrays: a checkpoint written on a GPU loads on a CPU-only machine.
    return {
        k: backend.to_host(v._data) if isinstance(v, Tensor) else np.asarray(v) for k, v in state_dict.items()
    }


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
    ``callbacks`` maps names to any nested state of dicts, lists, numbers, strings, arrays and Tensors.
    """
    tensors = {_MODEL + k: v for k, v in state_arrays(model.state_dict()).items()}
    meta: dict[str, str] = {"format": FORMAT, "epoch": str(int(epoch)), "rng_state": _random.get_rng_state()}
    if optimizer is not None:
        arrays, opt_meta = flatten_state_dict(optimizer.state_dict(), prefix=_OPTIM)
        tensors.update(arrays)
        meta["optimizer"] = json.dumps({"class": type(optimizer).__name__, "state": opt_meta})
    if scheduler is not None:
        meta["scheduler"] = json.dumps({"class": type(scheduler).__name__, "state": scheduler.state_dict()})
    arrays, cb_meta = flatten_state_dict(callbacks or {}, prefix=_CALLBACKS)
    tensors.update(arrays)
    meta["callbacks"] = json.dumps(cb_meta)
    meta["loaders"] = json.dumps(loaders or {})
    meta["history"] = json.dumps(history or [])
    meta["extra"] = json.dumps(extra or {})
    serialization.save(tensors, path, metadata=meta)


def model_state(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's weights among a checkpoint's tensors (the ``model.`` prefix removed)."""
    return {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}


def load_checkpoint(path: str | os.PathLike) -> CheckpointState:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (a ``ValueError``
    naming the file and the part that is wrong) for anything else: another format, corrupt
    metadata, missing optimiser tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        tensors, meta = serialization.load_with_metadata(path)
    except ValueError as err:  # not a safetensors file, or a truncated one
        raise CheckpointError(
            f"{str(err).split('. Expected')[0]}; the checkpoint is damaged: start the run again without "
            f"--resume, or restore the file"
        ) from None
    meta = meta or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a shendu training checkpoint (metadata format={meta.get('format')!r}, "
            f"expected {FORMAT!r}); a weights-only file such as model.safetensors cannot resume a run"
        )
    try:
        return _decode(tensors, meta)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        what = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise CheckpointError(
            f"{path} is damaged: {what} (its metadata or tensors are not what shendu wrote); "
            f"start the run again without --resume, or restore the file"
        ) from None


def _json(meta: dict[str, str], key: str, default: str) -> Any:
    try:
        return json.loads(meta.get(key, default))
    except json.JSONDecodeError as err:
        raise ValueError(f"metadata {key!r} is not valid JSON ({err})") from None


def _decode(tensors: dict[str, np.ndarray], meta: dict[str, str]) -> CheckpointState:
    optimizer = optimizer_class = None
    if "optimizer" in meta:
        opt_meta = _json(meta, "optimizer", "{}")
        optimizer_class = opt_meta["class"]
        optimizer = unflatten_state_dict(tensors, opt_meta["state"], prefix=_OPTIM)
        if not isinstance(optimizer, dict) or not {"state", "param_groups"} <= optimizer.keys():
            raise ValueError("the optimiser state lacks 'state' or 'param_groups'")
    scheduler = _json(meta, "scheduler", "null")
    callbacks = unflatten_state_dict(tensors, _json(meta, "callbacks", "{}"), prefix=_CALLBACKS)
    history = _json(meta, "history", "[]")
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise ValueError("metadata 'history' is not a list of epoch rows")
    return CheckpointState(
        epoch=int(meta["epoch"]),
        model=model_state(tensors),
        optimizer=optimizer,
        optimizer_class=optimizer_class,
        scheduler=scheduler["state"] if scheduler is not None else None,
        rng_state=meta.get("rng_state"),
        loaders=dict(_json(meta, "loaders", "{}")),
        history=history,
        callbacks=dict(callbacks),
        extra=dict(_json(meta, "extra", "{}")),
    )


def restore_checkpoint(state: CheckpointState, *, model, optimizer=None, scheduler=None) -> None:
    """Load ``state`` into the model, optimiser, scheduler and shendu's random generator."""
    model.load_state_dict(state.model)
    if optimizer is not None:
        if state.optimizer is None:
            raise CheckpointError("the checkpoint holds no optimiser state")
        if state.optimizer_class and state.optimizer_class != type(optimizer).__name__:
            raise CheckpointError(
                f"the checkpoint was written by a {state.optimizer_class} optimiser, "
                f"but this run uses {type(optimizer).__name__}"
            )  # Trainer.load_checkpoint names the file and says what to do
        optimizer.load_state_dict(state.optimizer)
    if scheduler is not None and state.scheduler is not None:
        scheduler.load_state_dict(state.scheduler)
    if state.rng_state:
        _random.set_rng_state(state.rng_state)


def save_weights(path: str | os.PathLike, model, metadata: dict[str, str] | None = None) -> None:
    """Write the model's ``state_dict()`` alone (``model.safetensors``), atomically."""
    serialization.save(state_arrays(model.state_dict()), path, metadata=metadata)
