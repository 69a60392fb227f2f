"""The options of a ``shendu train`` run: their defaults, what its config.json holds, how a resumed
run reads them back (checked, then merged with the command line), how ``--epochs`` extends a
finished run (one more cosine cycle), and the command lines that resume or restart a run.

``shendu train`` (``shendu.cli.train``) is a thin command over this module and
:mod:`shendu.training.rundir` (file names, lock, repair, config.json I/O).

>>> opts, run, previous = resolve({"model": "mlp"}, out=None, resume=False)
>>> opts["model"], opts["lr"], str(run.path), previous
('mlp', 0.002, 'runs/mlp-mnist-5k', None)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from shendu.training.rundir import RunDir, RunError

# What a plain ``shendu train`` does. Tuned so LeNet on mnist-5k trains in under 2 minutes on a
# 2-core machine and scores over 97.5% on the official MNIST test set (see docs/training.md).
DEFAULTS: dict[str, Any] = {
    "model": "lenet",
    "data": "mnist-5k",
    "epochs": 15,
    "batch_size": 64,
    "optimizer": "adam",
    "lr": None,  # per optimiser, LEARNING_RATES
    "seed": 0,
    "augment": None,  # per data set: on for digit and photo data sets
}
LEARNING_RATES = {
    "sgd": 0.05,
    "momentum": 0.01,
    "adagrad": 0.01,
    "rmsprop": 0.001,
    "adam": 0.002,
    "adamw": 0.002,
}
OPTIMIZERS = tuple(LEARNING_RATES)
# options that must match the original run when resuming (``epochs`` may grow: the run is extended)
RUN_OPTIONS = ("model", "data", "epochs", "batch_size", "optimizer", "lr", "seed", "augment")


class DamagedRunFile(RunError):
    """A run's config.json that cannot be resumed from (a bad input, not a usage error)."""


def resolve(
    given: dict[str, Any], out: str | None, resume: bool, data_dir: str | None = None
) -> tuple[dict[str, Any], RunDir, dict[str, Any] | None]:
    """(options, run directory, the resumed run's config or None).

    ``given`` holds the options set on the command line (RUN_OPTIONS). A fresh run takes them over
    DEFAULTS; ``resume`` takes the run's own options from its config.json, where a given option must
    agree, except a larger ``epochs`` (an extension). Raises :class:`RunError` for a usage error
    (nothing to resume, options that contradict the run) and :class:`DamagedRunFile` for a
    config.json that cannot be used.
    """
    model = given.get("model", DEFAULTS["model"])
    data = given.get("data", DEFAULTS["data"])
    run = RunDir(out if out else Path("runs") / f"{model}-{data}")
    previous = None
    if resume:
        previous = _resumed_config(run)
        opts = _resumed_options(run, previous, given)
    else:
        opts = {**DEFAULTS, **given}
        if opts["lr"] is None:
            opts["lr"] = LEARNING_RATES[opts["optimizer"]]
    if data_dir is not None:
        opts["data_dir"] = data_dir
    opts.setdefault("data_dir", None)
    return opts, run, previous


def _resumed_config(run: RunDir) -> dict[str, Any]:
    """The run's config.json, with options a resume can use, and a checkpoint beside it."""
    if not run.config.is_file() and not run.checkpoint.is_file():
        raise RunError(
            f"nothing to resume in {run.path}: it holds no run (none was started there, or it was "
            f"stopped before its first file); start again without --resume"
        )
    try:
        previous = run.read_config()
    except RunError as err:
        raise DamagedRunFile(str(err)) from None
    old = previous.get("options")
    if not isinstance(old, dict) or not isinstance(old.get("epochs"), int):
        raise RunError(f"{run.config} has no 'options' of 'shendu train': it cannot be resumed by it")
    check_options(old, run.config)
    if not run.checkpoint.is_file():
        again = {**DEFAULTS, **old, "data_dir": _data_dir(previous)}
        raise RunError(
            f"nothing to resume in {run.path}: no epoch of its run finished (there is no "
            f"{run.checkpoint.name}); start again: {restart_command(again, run.path)}"
        )
    return previous


def _resumed_options(run: RunDir, previous: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    old = previous["options"]
    mismatch = [
        f"--{k.replace('_', '-')} {v} (the run used {old.get(k)})"
        for k, v in given.items()
        if k != "epochs" and old.get(k) != v
    ]
    if mismatch:
        raise RunError(
            "--resume continues the run with its own options; these differ: " + "; ".join(mismatch)
        )
    if given.get("epochs", old["epochs"]) < old["epochs"]:
        raise RunError(
            f"--resume --epochs {given['epochs']}: the run already planned {old['epochs']} epochs; "
            f"--epochs can only extend it"
        )
    return {**old, "epochs": given.get("epochs", old["epochs"]), "data_dir": _data_dir(previous)}


def _data_dir(config: dict[str, Any]) -> str | None:
    return (config.get("data_info") or {}).get("data_dir")


def check_options(options: dict[str, Any], path: Path) -> None:
    """The options a resumed run reads back from config.json: each of the type and range the command
    line would have accepted (a damaged or hand-edited file is a :class:`DamagedRunFile`)."""

    def integer(v: Any, low: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    valid = {
        "model": lambda v: isinstance(v, str),
        "data": lambda v: isinstance(v, str),
        "epochs": lambda v: integer(v, 1),
        "batch_size": lambda v: integer(v, 1),
        "optimizer": lambda v: v in OPTIMIZERS,
        "lr": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 < v < float("inf"),
        "seed": lambda v: integer(v, 0),
        "augment": lambda v: v is None or isinstance(v, bool),
    }
    for key, ok in valid.items():
        if not ok(options.get(key)):
            raise DamagedRunFile(
                f"{path}: options.{key} is {json.dumps(options.get(key))}, not a value 'shendu train' "
                f"writes; restore the file, or start the run again without --resume"
            )


def lr_cycles(opts: dict[str, Any], previous: dict[str, Any] | None) -> list[int]:
    """Cosine cycles of the schedule: one over all epochs, plus one per extension of the run.

    >>> lr_cycles({"epochs": 20}, {"options": {"epochs": 15}})
    [15, 5]
    """
    cycles = list(previous.get("lr_cycles") or [previous["options"]["epochs"]]) if previous else []
    added = opts["epochs"] - sum(cycles)
    return cycles + [added] if added > 0 else cycles


def run_config(
    opts: dict[str, Any], run: RunDir, data: dict[str, Any], optimizer: Any, cycles: list[int]
) -> dict[str, Any]:
    """config.json: what eval/predict need to rebuild the model and its input, and the run's options.

    data: the loaded data (``train``, ``val`` data sets, ``normalize``, ``augment``, ``val_source``,
    ``train_transform``); cycles: the cosine cycles' epochs (:func:`lr_cycles`)."""
    import shendu

    train = data["train"]
    return {
        "model": opts["model"],
        "num_classes": train.num_classes,
        "classes": list(train.classes),
        "input_shape": list(train.images.shape[1:]),
        "normalize": data["normalize"],
        "data": opts["data"],
        "digit_style": opts["data"] in ("mnist-5k", "mnist", "digits"),
        "options": {k: opts[k] for k in RUN_OPTIONS} | {"augment": data["augment"]},
        "data_info": {
            "train": len(train),
            "val": len(data["val"]),
            "val_source": data["val_source"],
            "data_dir": opts["data_dir"],
            "train_transform": data["train_transform"],
        },
        "optimizer": repr(optimizer).replace("\n", " "),
        "scheduler": f"CosineCycles(cycles={cycles}): half cosines from lr to 0; an extension restarts at lr",
        "lr_cycles": cycles,
        "shendu_version": shendu.__version__,
        "resume_command": resume_command(opts, run.path),
    }


def resume_command(opts: dict[str, Any], out: Path) -> str:
    """The ``shendu train`` command line that continues the run in ``out``."""
    words = ["shendu", "train", "--out", str(out), "--resume"]
    if opts["data_dir"]:
        words += ["--data-dir", str(opts["data_dir"])]
    return shlex.join(words)


def restart_command(opts: dict[str, Any], out: Path) -> str:
    """The ``shendu train`` command line that starts this run afresh."""
    words = ["shendu", "train", opts["model"], "--data", opts["data"]]
    for key in ("epochs", "batch_size", "optimizer", "lr", "seed"):
        words += [f"--{key.replace('_', '-')}", str(opts[key])]
    if opts["augment"] is not None:
        words.append("--augment" if opts["augment"] else "--no-augment")
    if opts["data_dir"]:
        words += ["--data-dir", str(opts["data_dir"])]
    return shlex.join(words + ["--out", str(out)])
