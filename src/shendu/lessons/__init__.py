"""The course, runnable: one lesson per chapter, in course order.

Each lesson is a module ``shendu.lessons.<name>`` with ``SUMMARY`` (one line) and
``run(out=None, quick=False, verbose=True) -> dict``: it prints a concise explanation with the key
numbers, writes its figures as PNG files into ``out`` (default ``lessons/<name>/``), and
returns its numbers (tests assert them). ``quick=True`` runs at reduced sizes for tests.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

# Course order: (command name, module name).
LESSONS: list[tuple[str, str]] = [
    ("gates", "gates"),
    ("activations", "activations"),
    ("approx", "approx"),
    ("loss", "loss"),
    ("gradient", "gradient"),
    ("gd", "gd"),
    ("backprop", "backprop"),
    ("conv", "conv"),
    ("pooling", "pooling"),
    ("cnn", "cnn"),
    ("classics", "classics"),
    ("dl-vs-ml", "dl_vs_ml"),
    ("fitting", "fitting"),
]


def available() -> list[str]:
    """Lesson names in course order (those whose module exists)."""
    return [name for name, mod in LESSONS if importlib.util.find_spec(f"shendu.lessons.{mod}")]


def get(name: str) -> ModuleType:
    """The lesson module for a command name; ValueError listing the lessons if unknown."""
    mods = dict(LESSONS)
    if name not in mods or name not in available():
        raise ValueError(f"unknown lesson {name!r}; lessons: {', '.join(available())}")
    return importlib.import_module(f"shendu.lessons.{mods[name]}")


def out_dir(name: str, out: str | Path | None) -> Path:
    """The folder a lesson writes its figures to (created)."""
    path = Path(out) if out is not None else Path("lessons") / name
    path.mkdir(parents=True, exist_ok=True)
    return path
