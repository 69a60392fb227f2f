"""``shendu`` — one command, a subcommand per job (train, eval, predict, summary, lesson, ...)."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each subcommand lives in shendu/cli/<module>.py and provides register(subparsers).
SUBCOMMANDS = ["train", "eval", "predict", "summary", "convert_torch", "lesson", "serve", "export"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shendu",
        description="shendu (深度): deep learning from scratch on NumPy — "
        "train, evaluate and explore networks.",
        epilog="Run 'shendu COMMAND --help' for the options of one command.",
    )
    from shendu import __version__

    parser.add_argument("--version", action="version", version=f"shendu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"shendu.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"shendu.cli.{name}":
                raise
            continue  # subcommand not written yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; every failure is one ``error:`` line and an exit code (shendu.cli.errors)."""
    from shendu.cli import errors

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with errors.quiet_warnings():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return errors.EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the one place that turns exceptions into messages
        if errors.debug():
            raise
        message, code = errors.classify(err)
        print(errors.format_error(message), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
