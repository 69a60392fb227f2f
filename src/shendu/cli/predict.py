"""``shendu predict RUN_DIR_OR_WEIGHTS IMAGE...``: the top classes of each image, with probabilities."""

from __future__ import annotations

import argparse
import sys

import numpy as np

EXAMPLES = """\
examples:
  shendu predict runs/lenet-mnist-5k my_digit.png photo_of_a_7.jpg
  shendu predict weights.safetensors --model lenet digit.png

Digit pictures are prepared like MNIST's own: grey, dark ink on light paper is inverted, cropped to
the digit, scaled so its longer side is 20 pixels and centred by its centre of mass in 28×28.
A file that cannot be read gets an error line; the other images are still predicted (exit code 1).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="classify image files with trained weights",
        description="Classify PNG or JPEG images with a trained network and print the most likely classes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="RUN_DIR_OR_WEIGHTS",
        help="a run directory of 'shendu train', or a .safetensors weights file",
    )
    p.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ... anything Pillow reads)"
    )
    p.add_argument(
        "--model", metavar="NAME", help="network name, needed for a weights file without config.json"
    )
    p.add_argument(
        "--top", type=int, default=3, metavar="K", help="how many classes to show per image (default: 3)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shendu
    import shendu.nn.functional as F
    from shendu.training.images import ImageError, load_image
    from shendu.training.rundir import RunError, load_model

    try:
        model, config = load_model(args.target, args.model)
    except (RunError, FileNotFoundError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    shape = tuple(config.get("input_shape") or (1, 28, 28))
    classes = config.get("classes") or [str(i) for i in range(int(config.get("num_classes") or 10))]
    norm = config.get("normalize") or {"mean": [0.0] * shape[0], "std": [1.0] * shape[0]}
    mean = np.asarray(norm["mean"], np.float32).reshape(-1, 1, 1)
    std = np.asarray(norm["std"], np.float32).reshape(-1, 1, 1)

    images, names, failed = [], [], 0
    for path in args.images:  # one file at a time: each may fail on its own
        try:
            images.append(
                (load_image(path, shape, digit_style=config.get("digit_style", shape[0] == 1)) - mean) / std
            )
            names.append(path)
        except ImageError as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            failed += 1
    if images:
        with shendu.no_grad():
            logits = model(shendu.from_numpy(np.stack(images).astype(np.float32)))
            probs = F.softmax(logits.double(), dim=1).numpy()
        k = max(1, min(args.top, len(classes)))
        for name, p in zip(names, probs, strict=True):
            top = np.argsort(-p, kind="stable")[:k]
            print(f"{name}: " + "  ".join(f"{classes[i]} {p[i]:.1%}" for i in top))
    if failed:
        print(f"{failed} of {len(args.images)} file(s) could not be read", file=sys.stderr)
    return 1 if failed else 0
