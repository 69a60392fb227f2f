"""``shendu export RUN --onnx out.onnx``: write a trained run's network as an ONNX file."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained run (or weights file) to ONNX, to run it with onnxruntime and other tools",
        description="Rebuild the network of a run directory (or a .safetensors weights file with --model), "
        "load its weights and write it as an ONNX file: 'shendu export runs/lenet --onnx lenet.onnx'. "
        "The file takes a float32 batch (N, C, H, W) normalised as in training (the mean and std are "
        "printed and stored in the file's metadata) and gives the logits. Needs the onnx package "
        "(pip install 'shendu[onnx]').",
    )
    p.add_argument("target", help="run directory (with config.json) or weights file")
    p.add_argument("--onnx", required=True, metavar="OUT", help="path of the ONNX file to write")
    p.add_argument("--model", help="model name, when TARGET is a bare weights file without config.json")
    p.add_argument("--input", metavar="CxHxW", help="input size without the batch (default: the run's)")
    p.add_argument("--num-classes", type=int, help="number of classes (default: the run's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Errors are one ``error:`` line from shendu.cli.main: exit code 2 for a bad --input, 1 for a
    run or weights file that cannot be used (or onnx missing), 5 for an output that cannot be written."""
    from shendu.cli.errors import EXIT_USAGE, CLIError
    from shendu.cli.summary import parse_input
    from shendu.training.rundir import load_model

    try:
        shape = parse_input(args.input) if args.input else None
    except argparse.ArgumentTypeError as err:
        raise CLIError(str(err), EXIT_USAGE) from None
    try:
        import onnx  # noqa: F401  (fail early with the install hint)
    except ImportError:
        raise CLIError("the onnx package is missing; install it with pip install 'shendu[onnx]'") from None
    model, config = load_model(args.target, args.model, shape, args.num_classes)
    input_shape = tuple(shape or config.get("input_shape") or (1, 28, 28))
    try:
        proto = _export(model, input_shape, config, args.onnx)
    except NotImplementedError as err:  # a layer ONNX export does not cover yet
        raise CLIError(f"cannot export {config.get('model', type(model).__name__)}: {err}") from None
    norm = config.get("normalize")
    print(
        f"wrote {args.onnx}: {config.get('model', type(model).__name__)}, "
        f"input (N, {', '.join(map(str, input_shape))}) float32, {len(proto.graph.node)} nodes"
    )
    if norm:
        print(f"normalise inputs first: (x - {norm['mean']}) / {norm['std']}")
    return 0


def _export(model, input_shape, config, path):
    import numpy as np

    from shendu.onnx import export

    model.eval()
    example = np.zeros((1, *input_shape), np.float32)
    proto = export(model, example, path)
    import onnx

    meta = {
        "shendu.model": str(config.get("model", "")),
        "shendu.normalize": json.dumps(config.get("normalize")),
    }
    onnx.helper.set_model_props(proto, meta)
    from shendu import serialization

    serialization.atomic_write(path, proto.SerializeToString())  # a kill never leaves half a file
    return proto
