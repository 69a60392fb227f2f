"""``shendu lesson [NAME] [--out DIR]``: run one chapter of the course, or list them."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lesson",
        help="run a lesson of the course (no name: list them)",
        description="Run one chapter of the course: it prints the key numbers and writes its figures as PNG files.",
        epilog="Examples:\n  shendu lesson            # list lessons in course order\n  shendu lesson backprop   # run one\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="lesson name (see the list)")
    p.add_argument("--out", default=None, help="folder for the figures (default: lessons/NAME/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shendu import lessons

    if not args.name:
        print("Lessons, in course order (run: shendu lesson NAME):\n")
        for name in lessons.available():
            print(f"  {name:<12} {lessons.get(name).SUMMARY}")
        return 0
    try:
        lesson = lessons.get(args.name)
    except ValueError as err:
        print(f"shendu lesson: {err}", file=sys.stderr)
        return 2
    lesson.run(out=args.out)
    return 0
