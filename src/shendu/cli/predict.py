"""``shendu predict RUN_DIR_OR_WEIGHTS IMAGE...``: the top classes of each image, with probabilities."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from shendu.cli.device_option import add_device_option, pick_device
from shendu.cli.options import at_least, positive_number

MAX_MEGAPIXELS = 50.0

EXAMPLES = """\
examples:
  shendu predict runs/lenet-mnist-5k my_digit.png photo_of_a_7.jpg
  shendu predict weights.safetensors --model lenet digit.png

Digit pictures are prepared like MNIST's own: grey, dark ink on light paper is inverted, cropped to
the digit, scaled so its longer side is 20 pixels and centred by its centre of mass in 28×28.
A file that cannot be read (or is larger than --max-pixels) gets an error line; the other images are
still predicted (exit code 1).
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
        "--top",
        type=at_least(1),
        default=3,
        metavar="K",
        help="how many classes to show per image, at least 1 (default: 3)",
    )
    p.add_argument(
        "--max-pixels",
        type=positive_number,
        default=MAX_MEGAPIXELS,
        metavar="MP",
        help="refuse images larger than this many megapixels before decoding them "
        f"(default: {MAX_MEGAPIXELS:g})",
    )
    add_device_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Each image gets a line: its top classes, or its own error (the other images go on).
    Exit code 0 when every image was predicted, 1 when one or more could not be."""
    import shendu
    import shendu.nn.functional as F
    from shendu.training.images import ImageError, load_image
    from shendu.training.rundir import load_model

    model, config = load_model(args.target, args.model)
    device = pick_device(args.device)
    model.to(device)
    shape = tuple(config.get("input_shape") or (1, 28, 28))
    classes = config.get("classes") or [str(i) for i in range(int(config.get("num_classes") or 10))]
    norm = config.get("normalize") or {"mean": [0.0] * shape[0], "std": [1.0] * shape[0]}
    mean = np.asarray(norm["mean"], np.float32).reshape(-1, 1, 1)
    std = np.asarray(norm["std"], np.float32).reshape(-1, 1, 1)
    digit_style = config.get("digit_style", shape[0] == 1)
    k = min(args.top, len(classes))
    failed = 0
    for path in args.images:  # one file at a time: each may fail on its own, memory stays bounded
        try:
            image = load_image(path, shape, digit_style=digit_style, max_pixels=int(args.max_pixels * 1e6))
            with shendu.no_grad():
                x = shendu.from_numpy(((image - mean) / std)[None].astype(np.float32)).to(device)
                p = F.softmax(model(x).double(), dim=1).cpu().numpy()[0]
            if not np.isfinite(p).all():
                raise ImageError(
                    "the model's output is NaN or infinite for this image "
                    "(its weights overflow: train it again)"
                )
        except ImageError as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            failed += 1
            continue
        top = np.argsort(-p, kind="stable")[:k]
        print(f"{path}: " + "  ".join(f"{classes[i]} {p[i]:.1%}" for i in top))
    if failed:
        print(f"{failed} of {len(args.images)} file(s) could not be predicted", file=sys.stderr)
    return 1 if failed else 0
