"""docs/course-map.md names only things that exist: lessons, commands, modules, tests.

The map is the learner's index from the course to the code; a renamed test or module would leave
it pointing at nothing. Each row's backticked names are checked: commands parse with shendu's own
argument parser, library names import, test files and test functions are found.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from shendu import lessons
from shendu.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "course-map.md"
PLACEHOLDERS = {"NAME": "adam", "RUN": "runs/example", "DIR": "figs"}  # the map's stand-ins for user values


def rows() -> list[list[str]]:
    """The table's body rows, each as its cells."""
    out = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 7 and cells[0] not in ("#", "---"):
            out.append(cells)
    return out


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def anchors() -> list[tuple[str, str, int, str]]:
    """Every ``file:line name`` of the "read the code" column, with its row's chapter."""
    found = []
    for r in rows():
        for a in ticked(r[6]):
            m = re.fullmatch(r"(src/shendu/[\w/]+\.py):(\d+) (\w+)", a)
            assert m, f"{r[1]}: not a file:line name anchor: {a!r}"
            found.append((r[1], m.group(1), int(m.group(2)), m.group(3)))
    return found


@pytest.mark.parametrize("anchor", anchors(), ids=lambda a: f"{a[1]}:{a[2]}")
def test_read_the_code_anchors_point_at_their_definitions(anchor):
    _, path, line, name = anchor
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    assert re.match(rf"\s*(class|def) {name}\b", lines[line - 1]), (
        f"{path}:{line} is {lines[line - 1].strip()!r}, not the definition of {name}"
    )


def test_every_lesson_points_at_code_to_read():
    for r in rows():
        if any(c.startswith("shendu lesson ") for c in ticked(r[2])):
            assert ticked(r[6]), f"{r[1]}: no code to read"


def resolve(name: str, context):
    """A library name from the map: ``shendu.a.b``, ``F.x``, ``Tensor.x``, or a bare name of ``context``.

    Returns (object, the module to read the next bare names from).
    """
    name = re.sub(r"\(.*\)$", "", name)  # mlp(dropout=...) -> mlp
    if name.startswith("F."):
        name = "shendu.nn.functional." + name[2:]
    elif name.startswith("Tensor."):
        name = "shendu.Tensor." + name[7:]
    elif not name.startswith("shendu"):
        assert context is not None, f"{name!r} has no module before it in its cell"
        return getattr(context, name), context
    parts = name.split(".")
    obj = module = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if obj is module:
            try:
                obj = module = importlib.import_module(".".join(parts[: i + 1]))
                continue
            except ModuleNotFoundError:
                pass
        obj = getattr(obj, part)  # AttributeError: the map names something that is not there
    return obj, module  # the next bare names are read from the deepest module named


def test_table_covers_every_lesson_with_both_chapter_names():
    table = rows()
    assert len(table) >= 13
    commands = [c for r in table for c in ticked(r[2])]
    for name in lessons.available():
        assert f"shendu lesson {name}" in commands, name
    for r in table:
        chapter = r[1]
        assert re.search(r"[\u4e00-\u9fff]", chapter), f"no Chinese chapter name: {chapter}"
        assert re.search(r"[A-Za-z]{3,}", chapter), f"no English chapter name: {chapter}"


@pytest.mark.parametrize("row", rows(), ids=lambda r: r[1])
def test_row_names_exist(row):
    parser = build_parser()
    for command in ticked(row[2]):
        words = [PLACEHOLDERS.get(w, w) for w in command.split()]
        if words[0] != "shendu":  # a lesson named in passing ("used by `fitting`")
            assert command in lessons.available(), command
            continue
        if words[1] == "lesson":
            assert words[2] in lessons.available(), command
        parser.parse_args(words[1:])  # SystemExit if the command or an option does not exist

    context = None
    for name in ticked(row[4]):
        _, context = resolve(name, context)

    for name in ticked(row[5]):
        if name.startswith("tests/"):
            path, _, func = name.partition("::")
            assert (ROOT / path).is_file(), name
            if func:
                assert f"def {func}(" in (ROOT / path).read_text(encoding="utf-8"), name
        elif name.startswith("test_"):  # a lesson's own test
            assert f"def {name}(" in (ROOT / "tests/lessons/test_lessons.py").read_text(encoding="utf-8"), (
                name
            )
