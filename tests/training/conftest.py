"""Shared by the tests of the ``shendu`` commands' failures (test_runs.py, test_bad_inputs.py)."""

from __future__ import annotations

import shutil

import pytest

from shendu.cli.main import main

#: a run that trains in seconds: the course's MLP on the 8×8 digits
TRAIN = ["train", "mlp", "--data", "digits", "--batch-size", "256", "--no-progress"]


def one_error_line(err: str) -> str:
    """The one ``error:`` line of a command's stderr (failing if there are more, or a traceback)."""
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 2-epoch digits run (the tests copy it before changing it)."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main([*TRAIN, "--epochs", "2", "--out", str(out)]) == 0
    return out


@pytest.fixture
def copy(run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(run, out)
    return out
