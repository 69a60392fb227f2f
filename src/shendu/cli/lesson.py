"""``shendu lesson [NAME] [--out DIR] [--lang zh|en] [--full]``: run a chapter of the course, or list them."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lesson",
        help="run a lesson of the course (no name: list them)",
        description="Run one chapter of the course: it prints the key numbers and writes its figures as PNG "
        "files. Chinese by default; --lang en (or SHENDU_LANG=en) for English.",
        epilog="Examples:\n  shendu lesson                  # list lessons in course order\n"
        "  shendu lesson backprop         # run one, in Chinese\n"
        "  shendu lesson backprop --lang en\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="lesson name (see the list)")
    p.add_argument("--out", default=None, help="folder for the figures (default: lessons/NAME/)")
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="language of text and figures (default: SHENDU_LANG or zh)",
    )
    p.add_argument("--full", action="store_true", help="the slower, larger version (lessons that have one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shendu import lessons
    from shendu.cli.errors import EXIT_USAGE, CLIError

    try:
        lang = args.lang or lessons.default_lang()
    except ValueError as err:  # a bad SHENDU_LANG
        raise CLIError(f"SHENDU_LANG: {err}", EXIT_USAGE) from None
    if not args.name:
        head = (
            "课程各章（运行：shendu lesson 名称）：\n"
            if lang == "zh"
            else "Lessons, in course order (run: shendu lesson NAME):\n"
        )
        print(head)
        for name in lessons.available():
            info = lessons.LESSONS[name]
            print(f"  {name:<12} {info.title(lang)} — {info.summary(lang)}")
        return 0
    try:
        lessons.get(args.name)
        if args.full and not lessons.has_full(args.name):
            raise ValueError(f"lesson {args.name!r} has no --full version")
    except ValueError as err:
        raise CLIError(str(err), EXIT_USAGE) from None
    if args.out is not None:
        _check_out(args.out)
    lessons.run_lesson(args.name, lang=lang, out_dir=args.out, full=args.full, verbose=True)
    return 0


def _check_out(out: str) -> None:
    """``--out`` must be (or become) a folder this process can write in: one clear error otherwise."""
    import os
    from pathlib import Path

    from shendu.cli.errors import EXIT_USAGE, CLIError
    from shendu.training.rundir import RunError, make_dirs

    try:
        make_dirs(Path(out))
    except RunError as err:
        raise CLIError(f"--out: {err}", EXIT_USAGE) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CLIError(f"--out: no permission to write in {out}; choose another folder", EXIT_USAGE)
