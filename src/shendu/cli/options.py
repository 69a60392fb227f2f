"""argparse value types shared by the subcommands."""

from __future__ import annotations

import argparse


def at_least(low: int):
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


def positive_number(text: str) -> float:
    """argparse type: a positive, finite number (``--lr``, ``--max-pixels``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value
