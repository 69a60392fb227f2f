"""The README and docs/training.md state one set of figures for the main job (issue 14, item 8:
they once disagreed on its accuracy, time and duration)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _row(text: str, start: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(start)]
    assert len(rows) == 1, (start, rows)
    return rows[0]


def _figures(row: str) -> set[str]:
    """Percentages and durations in seconds of a table row (``98.18 %``, ``50 s``)."""
    return set(re.findall(r"\d+\.\d+ %", row)) | set(re.findall(r"\b\d+ s\b", row))


def test_readme_and_training_doc_state_the_same_figures():
    readme = (ROOT / "README.md").read_text()
    doc = (ROOT / "docs" / "training.md").read_text()
    measured = doc[doc.index("## Measured") :]
    train = _figures(_row(readme, "| `shendu train` (LeNet"))
    evaluation = _figures(_row(readme, "| its accuracy on the official"))
    assert train and evaluation
    assert train <= _figures(_row(measured, "| `shendu train` (LeNet")), train
    assert evaluation <= _figures(_row(measured, "| `shendu eval runs/lenet-mnist-5k")), evaluation
    # each figure comes with the command that reproduces it
    assert "shendu eval runs/lenet-mnist-5k --data mnist --split test" in _row(readme, "| its accuracy")


def test_the_documented_exit_codes_are_the_commands_codes():
    from shendu.cli import errors

    doc = (ROOT / "docs" / "training.md").read_text()
    table = doc[doc.index("### Exit codes and errors") :].split("\n## ")[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert documented == codes, (documented, codes)
    assert errors.DEBUG_VAR in table
