"""``shendu train [MODEL] [--data NAME] ...``: train a network and write a run directory."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from shendu.cli.device_option import add_device_option, pick_device
from shendu.cli.options import at_least, positive_number
from shendu.training.runoptions import (
    DEFAULTS,
    LEARNING_RATES,
    OPTIMIZERS,
    RUN_OPTIONS,
    lr_cycles,
    restart_command,
    resume_command,
    run_config,
)

# digits: rotations up to ±10°, shifts up to ±7% of the side (±2 pixels on 28), zoom 0.9–1.1.
# Measured on mnist-5k -> MNIST test: ±2 px beat ±2.8 px (98.4% vs 98.0%, 20 epochs, seed 0).
DIGIT_AUGMENT: dict[str, Any] = {"degrees": 10.0, "translate": (0.07, 0.07), "scale": (0.9, 1.1)}
VAL_FRACTION = 0.1  # held out of 'train' for data sets without a validation split
EXAMPLES = """\
examples:
  shendu train                          # LeNet on the 5,000 embedded MNIST digits (under 2 minutes)
  shendu train mlp --epochs 5           # the course's MLP 784-100-100-10
  shendu train lenet --data mnist --data-dir ~/data/mnist --epochs 3
  shendu train --optimizer sgd --lr 0.1 --out runs/sgd
  shendu train --out runs/sgd --resume  # continue an interrupted run (same result as never stopping)
  shendu train --out runs/sgd --resume --epochs 20   # 5 more epochs after a finished 15-epoch run

then:
  shendu eval runs/lenet-mnist-5k --data mnist --split test
  shendu predict runs/lenet-mnist-5k my_digit.png

The run directory (default runs/MODEL-DATA) gets model.safetensors, checkpoint.safetensors,
config.json, history.json and curves.png.
"""


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
        type=at_least(1),
        metavar="N",
        help=f"passes over the training set (default: {DEFAULTS['epochs']})",
    )
    p.add_argument(
        "--batch-size",
        type=at_least(1),
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
        type=positive_number,
        metavar="LR",
        help="initial learning rate; it follows a cosine curve "
        "to 0 over the epochs (default: " + ", ".join(f"{k} {v}" for k, v in LEARNING_RATES.items()) + ")",
    )
    p.add_argument(
        "--seed",
        type=at_least(0),
        metavar="S",
        help=f"random seed: weights, order, augmentation (default: {DEFAULTS['seed']})",
    )
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/MODEL-DATA)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the run directory from its checkpoint, with its options; with a larger "
        "--epochs, extend it (the added epochs follow a new cosine from the initial learning rate)",
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
        type=at_least(1),
        default=None,
        metavar="T",
        help="threads for shendu's kernels, matrix products included (default: the cores this process "
        "may use, shared among the --nproc processes); results are the same for any T",
    )
    p.add_argument(
        "--nproc",
        type=at_least(1),
        default=1,
        metavar="N",
        help="train in N processes (data parallel over MPI, docs/distributed.md): each takes --batch-size "
        "samples a step (N times as many in all) with --threads threads; rank 0 writes the run directory",
    )
    p.add_argument(
        "--dist-backend",
        choices=("mpi", "nccl"),
        default="mpi",
        help="with --nproc: how the processes average gradients; mpi (default) through host memory, "
        "nccl GPU to GPU (with --device cuda; needs CuPy's NCCL)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    add_device_option(p)
    p.set_defaults(func=run)


# ---- options ------------------------------------------------------------------------------
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

    def part(idx, split):
        return ArrayDataset(train.images[idx], train.labels[idx], train.classes, name=train.name, split=split)

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


# ---- model --------------------------------------------------------------------------------
def _network(opts: dict[str, Any], train, cycles: list[int]):
    """(model, optimizer, scheduler), seeded by ``opts['seed']``."""
    import shendu
    from shendu.models import get_model
    from shendu.training.rundir import RunError
    from shendu.training.schedule import CosineCycles

    shape = tuple(int(s) for s in train.images.shape[1:])
    shendu.manual_seed(opts["seed"])
    try:
        model = get_model(
            opts["model"], num_classes=train.num_classes, in_channels=shape[0], input_size=shape[1]
        )
    except ValueError as err:  # e.g. LeNet's convolutions on the 8×8 digits
        raise RunError(
            f"{err} ({opts['data']} has images of shape {shape} (C, H, W); 'mlp' takes any size)"
        ) from None
    optimizer = _optimizer(opts["optimizer"], model.parameters(), opts["lr"])
    return model, optimizer, CosineCycles(optimizer, cycles)


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


# ---- the command ----------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Exit codes (docs/training.md): 0 done, 1 bad input, 2 usage, 3 diverged, 4 folder in use,
    5 cannot write (disk full: --resume continues), 130 interrupted."""
    if args.nproc > 1:  # one process launches N under mpiexec; each of those is a rank
        from shendu.cli import _distributed

        if not _distributed.in_mpi_job():
            return _distributed.launch(args.nproc, args.device, args.dist_backend)
        rank = _distributed.Rank(args.nproc, args.dist_backend)
        return rank.run(lambda: _run(args, rank))
    return _run(args, None)


def _run(args: argparse.Namespace, rank) -> int:
    from shendu.cli.errors import EXIT_USAGE, CLIError, usage_check
    from shendu.data import dataset_splits
    from shendu.training import runoptions
    from shendu.models import list_models
    from shendu.training.rundir import RunError, RunInUse

    given = {k: getattr(args, k) for k in RUN_OPTIONS if getattr(args, k) is not None}
    try:
        opts, run_dir, previous = runoptions.resolve(given, args.out, args.resume, args.data_dir)
    except runoptions.DamagedRunFile as err:  # a bad input (1)
        raise CLIError(str(err)) from None
    except RunError as err:  # nothing to resume, options that contradict the run
        raise CLIError(str(err), EXIT_USAGE) from None
    if opts["model"] not in list_models():  # before the data loads, which takes a while
        raise CLIError(
            f"unknown model {opts['model']!r}; known models: {', '.join(list_models())}", EXIT_USAGE
        )
    usage_check(lambda: dataset_splits(opts["data"]))
    writer = rank is None or rank.writer  # with --nproc, rank 0 alone owns the run directory
    created = writer and not run_dir.path.exists()
    try:
        if writer:
            run_dir.lock()  # before the data loads: a second run into the folder stops at once
    except RunInUse:
        raise
    except RunError as err:  # --out below a file, in /proc, in a read-only folder
        raise CLIError(str(err), EXIT_USAGE) from None
    with run_dir if writer else contextlib.nullcontext(), _use_threads(args.threads, args.nproc):
        # NumPy's overflow warnings are silenced: the trainer itself stops on a NaN or infinite
        # loss with a message that says what happened and what to do
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return _train(
                    opts,
                    run_dir,
                    previous,
                    progress=not args.no_progress and writer,
                    device=args.device,
                    rank=rank,
                )
        except BaseException:
            if created:  # stopped before its first file (the data could not load): leave no empty folder
                run_dir.discard_if_empty()
            raise


def _use_threads(n: int | None, nproc: int) -> contextlib.AbstractContextManager:
    """Set shendu's threads (shendu.set_num_threads, which also keeps BLAS from adding its own)."""
    from shendu import get_num_threads, set_num_threads

    set_num_threads(n or max(1, get_num_threads() // nproc))
    return contextlib.nullcontext()


def _load_data(opts: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    from shendu.data.transforms import Normalize

    train, val, val_source = _datasets(opts["data"], opts["data_dir"])
    norm = previous["normalize"] if previous else Normalize.stats(train.images)
    train_loader, val_loader, augment, train_tf = _loaders(opts, train, val, norm)
    return {
        "train": train,
        "val": val,
        "val_source": val_source,
        "normalize": norm,
        "augment": augment,
        "train_transform": repr(train_tf),
        "loaders": (train_loader, val_loader),
    }


def _train(
    opts: dict[str, Any],
    run,
    previous: dict[str, Any] | None,
    progress: bool,
    device: str = "cpu",
    rank=None,
) -> int:
    from shendu.training import Trainer

    started = time.perf_counter()
    data = _load_data(opts, previous)
    cycles = lr_cycles(opts, previous)
    model, optimizer, scheduler = _network(opts, data["train"], cycles)
    train_loader, val_loader = data["loaders"]
    resume: Any = previous is not None
    target = pick_device(device)
    if rank is not None:  # --nproc: gradients averaged over the ranks, each on its share of the data
        model, train_loader = rank.wrap(model, target), rank.shard(train_loader)
        resume = resume if rank.writer else run.checkpoint if resume else None
    writer = rank is None or rank.writer
    trainer = Trainer(
        model,
        optimizer,
        train_loader,
        val_loader=val_loader,
        epochs=opts["epochs"],
        scheduler=scheduler,
        out_dir=run if writer else None,
        progress=progress,
        config=run_config(opts, run, data, optimizer, cycles),
        device=target,
    )
    if progress and previous is None:
        _announce(opts, data)
    if progress and rank is not None:
        rank.announce(opts["batch_size"])
    history = _fit(trainer, opts, run, resume=resume)
    if not writer:
        return 0
    if previous is not None and trainer.resumed_from >= opts["epochs"]:
        fixed = f" (repaired: {', '.join(trainer.repaired)})" if trainer.repaired else ""
        print(
            f"{run.path} already finished all {opts['epochs']} epochs: nothing to resume; its files match "
            f"the checkpoint{fixed}. To train more, add --epochs N (N > {opts['epochs']}).",
            file=sys.stderr,
        )
        return 0
    _summary(history, run.path, opts, time.perf_counter() - started)
    return 0


def _fit(trainer, opts: dict[str, Any], run, resume: Any):
    """``trainer.fit`` with its stops turned into one error line each and their exit codes."""
    from shendu.cli.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_IO, CLIError, describe_os_error
    from shendu.training import TrainingDiverged, TrainingInterrupted

    try:
        return trainer.fit(resume=resume)
    except TrainingInterrupted as stop:
        if stop.checkpoint:
            again = f"to resume: {resume_command(opts, run.path)}"
        else:  # nothing to resume from: --resume would only say so
            again = f"to start again: {restart_command(opts, run.path)}"
        raise CLIError(f"{stop}; {again}", EXIT_INTERRUPTED) from None
    except TrainingDiverged as err:
        raise CLIError(str(err), EXIT_DIVERGED) from None
    except OSError as err:
        if err.errno is None:  # a message of shendu's own (a missing data file): passed on as it is
            raise
        if run.checkpoint.is_file():
            again = (
                f"the last completed epoch is kept: free space (or fix the folder) and continue with: "
                f"{resume_command(opts, run.path)}"
            )
        else:  # not even the first epoch's checkpoint was written: --resume would have nothing
            again = (
                f"no epoch was saved: free space (or fix the folder) and start again: "
                f"{restart_command(opts, run.path)}"
            )
        raise CLIError(f"{describe_os_error(err)}; {again}", EXIT_IO) from None


def _announce(opts: dict[str, Any], data: dict[str, Any]) -> None:
    print(
        f"training {opts['model']} on {opts['data']} ({len(data['train'])} images, validation "
        f"{len(data['val'])}: {data['val_source']}) for {_epochs(opts['epochs'])}; {opts['optimizer']} "
        f"lr {opts['lr']}, batch {opts['batch_size']}, augment {'on' if data['augment'] else 'off'}, "
        f"seed {opts['seed']}",
        file=sys.stderr,
    )


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _summary(history, out: Path, opts: dict[str, Any], seconds: float) -> None:
    last = history.rows[-1]
    best = history.best("val_acc")
    lines = [f"trained {opts['model']} on {opts['data']}: {_epochs(len(history))} in {seconds:.0f} s"]
    lines.append(f"  final: train acc {last['train_acc']:.2%}, val acc {last['val_acc']:.2%}")
    if best is not None:
        lines.append(f"  best val acc {best['val_acc']:.2%} (epoch {best['epoch']})")
    from shendu.training import rundir

    files = (rundir.WEIGHTS, rundir.CHECKPOINT, rundir.CONFIG, rundir.HISTORY, rundir.CURVES)
    lines.append(f"  files in {out}/: {', '.join(files)}")
    data = "mnist --split test" if opts["data"] == "mnist-5k" else f"{opts['data']} --split test"
    lines.append(f"next: shendu eval {shlex.quote(str(out))} --data {data}")
    if opts["data"] == "mnist-5k":
        lines.append(
            "      (the official 10,000-digit MNIST test set: downloaded on first use, "
            "or --data-dir DIR where its IDX files are)"
        )
    print("\n".join(lines))
