"""``shendu summary MODEL [--input 3x224x224] [--num-classes N]``: the layer table of a zoo network."""

from __future__ import annotations

import argparse
import sys


def parse_input(text: str) -> tuple[int, int, int]:
    """'3x224x224' -> (3, 224, 224): channels × height × width, without the batch."""
    try:
        sizes = tuple(int(s) for s in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--input must look like 3x224x224 (C x H x W), got {text!r}"
        ) from None
    if len(sizes) != 3:
        # '28x28' would otherwise build a 28-channel network and fail deep inside its first layer
        raise argparse.ArgumentTypeError(
            f"--input needs three sizes, channels x height x width (such as 1x28x28), got {len(sizes)}: {text!r}"
        )
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--input sizes must be positive, got {text!r}")
    return sizes


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary",
        help="print a network's layers, output shapes, parameters and multiply-adds",
        description="Build a model of the zoo and print its layer table (like torchinfo), e.g. "
        "'shendu summary resnet18 --input 3x224x224' or 'shendu summary lenet --input 1x28x28'.",
    )
    p.add_argument("model", help="model name (see 'shendu summary --list')", nargs="?")
    p.add_argument(
        "--input",
        type=parse_input,
        default=None,
        metavar="CxHxW",
        help="input size without the batch (default: 1x28x28 for mlp/lenet/lenet5, else 3x224x224)",
    )
    p.add_argument("--num-classes", type=int, default=None, help="number of classes (default: the model's)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--small-input", action="store_true", help="the 28×28/32×32 form of an ImageNet network")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shendu.models import get_model, list_models, summary

    if args.list or not args.model:
        print("\n".join(list_models()))
        return 0
    if args.model not in list_models():
        print(
            f"shendu summary: unknown model {args.model!r}; known: {', '.join(list_models())}",
            file=sys.stderr,
        )
        return 2
    size = args.input or ((1, 28, 28) if args.model in ("mlp", "lenet", "lenet5") else (3, 224, 224))
    kwargs = {"in_channels": size[0], "input_size": size[1]}  # as `shendu train` passes it
    if args.small_input:
        kwargs["small_input"] = True
    if args.num_classes is not None:
        kwargs["num_classes"] = args.num_classes
    try:
        model = get_model(args.model, **kwargs)
        table = summary(model, size, batch_size=args.batch_size)
    except ValueError as err:  # an input the network cannot take (too small, wrong channels): say why
        print(f"shendu summary: {args.model} on input {'x'.join(map(str, size))}: {err}", file=sys.stderr)
        return 2
    print(table)
    return 0
