"""``shendu eval RUN_DIR_OR_WEIGHTS --data NAME``: accuracy, per-class scores, confusion matrix."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from shendu.cli.device_option import add_device_option, pick_device
from shendu.cli.options import at_least

EXAMPLES = """\
examples:
  shendu eval runs/lenet-mnist-5k --data mnist --split test --data-dir ../shared/data/mnist
  shendu eval runs/lenet-mnist-5k                      # the run's own data set (its val split)
  shendu eval weights.safetensors --model lenet --data mnist --json

With --json, stdout is one JSON object: accuracy, macro_f1, n, loss, per_class, confusion_matrix, ...
The confusion matrix is also drawn to confusion-DATA-SPLIT.png in the run directory (or --out).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate trained weights on a data set",
        description="Evaluate a trained network: accuracy, precision, recall and F1 per class, macro F1, "
        "and a confusion-matrix figure.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="RUN_DIR_OR_WEIGHTS",
        help="a run directory of 'shendu train', or a .safetensors weights file",
    )
    p.add_argument("--data", metavar="NAME", help="data set (default: the one the run trained on)")
    p.add_argument("--split", help="split to evaluate (default: test, or val where there is no test split)")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the data set's files")
    p.add_argument(
        "--model", metavar="NAME", help="network name, needed for a weights file without config.json"
    )
    p.add_argument(
        "--batch-size",
        type=at_least(1),
        default=500,
        metavar="B",
        help="images per forward pass (default: 500)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="folder for the confusion-matrix PNG (default: the run directory)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    add_device_option(p)
    p.set_defaults(func=run)


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: undefined numbers become ``null`` (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    return value


def check_finite(outputs: np.ndarray, weights: Path) -> None:
    """Non-finite model outputs are an error (never a NaN accuracy reported as success)."""
    from shendu.training.rundir import RunError

    bad = ~np.isfinite(outputs).all(axis=tuple(range(1, outputs.ndim)))
    if bad.any():
        raise RunError(
            f"the model of {weights} gives NaN or infinite outputs for {int(bad.sum())} of {len(bad)} "
            f"inputs (its weights or the inputs are broken); train it again"
        )


def check_compatible(config: dict[str, Any], dataset, data: str) -> None:
    """Raise RunError when ``dataset``'s images or classes do not fit the model of ``config``."""
    from shendu.training.rundir import RunError

    shape = list(dataset.images.shape[1:])
    if config.get("input_shape") and list(config["input_shape"]) != shape:
        raise RunError(
            f"the model {config['model']!r} takes images of shape {tuple(config['input_shape'])} "
            f"(C, H, W), but {data} has images of shape {tuple(shape)}"
        )
    if config.get("num_classes") and config["num_classes"] != dataset.num_classes:
        raise RunError(
            f"the model {config['model']!r} predicts {config['num_classes']} classes, "
            f"but {data} has {dataset.num_classes}"
        )
    if config.get("classes") and list(config["classes"]) != list(dataset.classes):
        raise RunError(
            f"the model was trained on classes {config['classes']}, but {data} has classes "
            f"{list(dataset.classes)}"
        )


def _split(name: str, requested: str | None) -> str:
    """The split to evaluate; an unknown data set or split is a usage error (exit code 2)."""
    from shendu.cli.errors import EXIT_USAGE, CLIError, usage_check
    from shendu.data import dataset_splits

    splits = usage_check(lambda: dataset_splits(name))
    if requested and requested not in splits:
        raise CLIError(
            f"data set {name!r} has no split {requested!r}; its splits: {', '.join(splits)}", EXIT_USAGE
        )
    if requested:
        return requested
    return "test" if "test" in splits else "val" if "val" in splits else splits[0]


def evaluate_run(args: argparse.Namespace) -> dict[str, Any]:
    import shendu
    import shendu.nn.functional as F
    from shendu import metrics
    from shendu.data import DataLoader, dataset_shape, load_dataset
    from shendu.data import transforms as T
    from shendu.training import plot_confusion_matrix, predict, rundir

    weights, config = rundir.resolve_weights(args.target, args.model)
    data = args.data or config.get("data")
    if not data:
        raise rundir.RunError("say which data set to evaluate on with --data NAME")
    split = _split(data, args.split)
    shape = config.get("input_shape")
    if shape and tuple(shape) != dataset_shape(data):  # before a download that could not help
        raise rundir.RunError(
            f"the model {config['model']!r} takes images of shape {tuple(shape)} (C, H, W), but {data} has "
            f"images of shape {dataset_shape(data)}; evaluate it on the data set it was trained for "
            f"({config.get('data') or 'see its config.json'})"
        )
    dataset = load_dataset(data, split, data_dir=args.data_dir)
    check_compatible(config, dataset, f"{data} ({split})")
    model, config = rundir.load_model(
        args.target, args.model, tuple(dataset.images.shape[1:]), dataset.num_classes
    )
    norm = config.get("normalize")
    if norm is None:
        norm = T.Normalize.stats(dataset.images)
        print(
            f"note: no config.json with the training normalisation; using {data}'s own mean and std",
            file=sys.stderr,
        )
    loader = DataLoader(dataset, batch_size=args.batch_size, transform=T.Normalize(norm["mean"], norm["std"]))
    logits, labels = predict(model.to(pick_device(args.device)), loader)
    check_finite(logits, weights)
    pred = logits.argmax(axis=1)
    with shendu.no_grad():
        loss = F.cross_entropy(shendu.from_numpy(logits.astype(np.float64)), shendu.from_numpy(labels)).item()
    k = dataset.num_classes
    classes = list(dataset.classes)
    p, r, f = (
        np.asarray(fn(labels, pred, average=None, num_classes=k))
        for fn in (metrics.precision, metrics.recall, metrics.f1_score)
    )
    support = np.bincount(labels, minlength=k)
    cm = metrics.confusion_matrix(labels, pred, num_classes=k)
    out_dir = (
        Path(args.out) if args.out else (Path(args.target) if Path(args.target).is_dir() else weights.parent)
    )
    try:
        rundir.make_dirs(out_dir)
    except rundir.RunError as err:  # --out below a file, in /proc, read-only: as train's --out
        from shendu.cli.errors import EXIT_USAGE, CLIError

        raise CLIError(str(err), EXIT_USAGE) from None
    try:
        png = plot_confusion_matrix(
            cm,
            classes,
            out_dir / f"confusion-{data}-{split}.png",
            title=f"{config['model']} on {data} {split}",
        )
    except OSError as err:  # a read-only run directory, a full disk
        from shendu.cli.errors import EXIT_IO, CLIError, describe_os_error

        raise CLIError(
            f"{describe_os_error(err)}; draw the figure elsewhere with --out DIR", EXIT_IO
        ) from None
    return {
        "model": config["model"],
        "weights": str(weights),
        "data": data,
        "split": split,
        "n": int(labels.size),
        "accuracy": float((pred == labels).mean()),
        "loss": loss,
        "macro_f1": float(metrics.f1_score(labels, pred, average="macro", num_classes=k)),
        "macro_precision": float(metrics.precision(labels, pred, average="macro", num_classes=k)),
        "macro_recall": float(metrics.recall(labels, pred, average="macro", num_classes=k)),
        "per_class": {
            c: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion_matrix": cm.astype(int).tolist(),
        "confusion_png": str(png),
    }


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4f}"


def _table(result: dict[str, Any]) -> str:
    width = max(8, *(len(c) for c in result["per_class"]))
    lines = [
        f"{result['model']} ({result['weights']}) on {result['data']} {result['split']}: "
        f"{result['n']} images",
        f"accuracy {result['accuracy']:.2%}   loss {_number(result['loss'])}   "
        f"macro F1 {result['macro_f1']:.4f}",
        "",
        f"{'class':<{width}}  precision  recall      F1  support",
    ]
    for name, s in result["per_class"].items():
        lines.append(
            f"{name:<{width}}  {s['precision']:>9.4f}  {s['recall']:>6.4f}  {s['f1']:.4f}  {s['support']:>7d}"
        )
    lines.append(
        f"{'macro':<{width}}  {result['macro_precision']:>9.4f}  {result['macro_recall']:>6.4f}  "
        f"{result['macro_f1']:.4f}  {result['n']:>7d}"
    )
    lines += ["", f"confusion matrix: {result['confusion_png']}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Errors are raised and reported by ``shendu.cli.main`` (one line, exit code 1)."""
    result = finite_or_none(evaluate_run(args))
    print(json.dumps(result, allow_nan=False) if args.json else _table(result))
    return 0
