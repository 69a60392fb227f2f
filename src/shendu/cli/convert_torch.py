"""``shendu convert-torch IN.pth OUT.safetensors``: torchvision weights for shendu's zoo."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert-torch",
        help="convert a PyTorch/torchvision .pth state dict to safetensors (needs torch)",
        description="Read a torchvision state dict (.pth, loaded with weights_only=True) and write it as "
        "safetensors with the same keys, for model.load_state_dict in shendu. Needs torch installed.",
    )
    p.add_argument("input", help="the .pth file (a state dict)")
    p.add_argument("output", help="the .safetensors file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shendu.models.convert import convert_torch

    try:
        arrays = convert_torch(args.input, args.output)
    except (ImportError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    # other OSErrors (a read-only folder, a full disk) are reported by shendu.cli.main, exit code 5
    n = sum(int(a.size) for a in arrays.values())
    print(f"wrote {args.output}: {len(arrays)} tensors, {n:,} values")
    return 0
