"""``shendu summary MODEL [--input 3x224x224] [--num-classes N]``: the layer table of a zoo network."""

from __future__ import annotations

import argparse

from shendu.cli.options import at_least


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
            "--input needs three sizes, channels x height x width (such as 1x28x28), "
            f"got {len(sizes)}: {text!r}"
        )
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--input sizes must be positive, got {text!r}")
    return sizes


def _weights_bytes(name: str, kwargs: dict, size: tuple[int, int, int]) -> float:
    """Weights of ``name`` built for ``size``, extrapolated from builds at 64 and 128 pixels: an MLP's
    first layer grows with the image's area, a convolutional network's weights do not."""
    from shendu.models import get_model

    counts = []
    for side in (64, 128):
        net = get_model(name, **{**kwargs, "input_size": side})
        counts.append(sum(p._data.nbytes for p in net.parameters()))
    per_area = (counts[1] - counts[0]) / (128 * 128 - 64 * 64)
    return counts[0] + per_area * (size[1] * size[2] - 64 * 64)


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
    p.add_argument(
        "--num-classes", type=at_least(1), default=None, help="number of classes (default: the model's)"
    )
    p.add_argument("--batch-size", type=at_least(1), default=1)
    p.add_argument(
        "--max-memory",
        type=float,
        default=2.0,
        metavar="GB",
        help="refuse inputs whose forward pass would need more memory than this (default: 2)",
    )
    p.add_argument("--small-input", action="store_true", help="the 28×28/32×32 form of an ImageNet network")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Errors are one ``error:`` line from shendu.cli.main, exit code 2 (the input or model asked for)."""
    from shendu.cli.errors import EXIT_USAGE, CLIError
    from shendu.models import get_model, list_models, summary

    if args.list or not args.model:
        print("\n".join(list_models()))
        return 0
    if args.model not in list_models():
        raise CLIError(
            f"unknown model {args.model!r}; known: {', '.join(list_models())}",
            EXIT_USAGE,
        )
    size = args.input or ((1, 28, 28) if args.model in ("mlp", "lenet", "lenet5") else (3, 224, 224))
    kwargs = {"in_channels": size[0], "input_size": size[1]}  # as `shendu train` passes it
    if args.small_input:
        kwargs["small_input"] = True
    if args.num_classes is not None:
        kwargs["num_classes"] = args.num_classes
    limit = int(args.max_memory * 1024**3)
    if max(size[1:]) > 64 and _weights_bytes(args.model, kwargs, size) > limit:
        raise CLIError(
            f"{args.model} for input {'x'.join(map(str, size))} would hold about "
            f"{_weights_bytes(args.model, kwargs, size) / 1024**3:.1f} GB of weights, more than "
            f"--max-memory {args.max_memory:g} GB; use a smaller input",
            EXIT_USAGE,
        )
    try:
        model = get_model(args.model, **kwargs)
        table = summary(model, size, batch_size=args.batch_size, max_bytes=limit)
    except MemoryError:  # the weights alone (an MLP's first layer grows with the image's area)
        raise CLIError(
            f"{args.model} for input {'x'.join(map(str, size))} does not fit in memory; use a smaller input",
            EXIT_USAGE,
        ) from None
    except ValueError as err:  # an input the network cannot take (too small, wrong channels): say why
        raise CLIError(
            f"{args.model} on input {'x'.join(map(str, size))}: {err}",
            EXIT_USAGE,
        ) from None
    print(table)
    return 0
