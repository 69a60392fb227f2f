"""``shendu convert-torch IN.pth OUT.safetensors``: torchvision weights for shendu's zoo."""

from __future__ import annotations

import argparse


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
    """Errors (a bad .pth, an output that cannot be written) are one line from shendu.cli.main:
    exit code 1 for a bad input, 5 for a write that failed (read-only folder, full disk)."""
    from shendu.models.convert import convert_torch

    arrays = convert_torch(args.input, args.output)
    n = sum(int(a.size) for a in arrays.values())
    print(f"wrote {args.output}: {len(arrays)} tensor{'s' if len(arrays) != 1 else ''}, {n:,} values")
    return 0
