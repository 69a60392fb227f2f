"""Kill -9 at every file-commit point of a short ``shendu train`` run, resume, and require the result
of the run that was never stopped: bit-identical weights, the same history, a complete curves.png.

The killed process runs the real command with :func:`shendu.serialization.atomic_write` wrapped:
at its K-th call it writes half of the bytes to a temporary file beside the target (as a write cut
short by the kill would) and sends itself SIGKILL ("mid"), or lets the write finish and then kills
itself ("after"). Every file of a run goes through that one writer, so K = 1, 2, ... visits every
commit point. CI kills mid-write at every point plus after the last write; SHENDU_LONG_TESTS=1 also
kills after every write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shendu import serialization

SRC = str(Path(__file__).resolve().parents[2] / "src")
RUNNER = r"""
import os, signal, sys
from shendu import serialization
kill_at, mode = int(os.environ["KILL_AT"]), os.environ["KILL_MODE"]
real, calls = serialization.atomic_write, [0]
def wrapped(path, data):
    calls[0] += 1
    if calls[0] == kill_at and mode == "mid":
        folder, name = os.path.split(os.path.abspath(os.fspath(path)))
        with open(os.path.join(folder, "." + name + ".killed.tmp"), "wb") as f:
            f.write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
serialization.atomic_write = wrapped
from shendu.cli.main import main
code = main(sys.argv[1:])
sys.stderr.write(f"\nWRITES {calls[0]}\n")
sys.exit(code)
"""
TRAIN = [
    "train",
    "mlp",
    "--data",
    "mnist-5k",
    "--no-augment",
    "--epochs",
    "2",
    "--batch-size",
    "500",
    "--no-progress",
]
LONG = os.environ.get("SHENDU_LONG_TESTS", "") not in ("", "0")


def _shendu(args: list[str], kill_at: int = 0, mode: str = "mid") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "KILL_AT": str(kill_at), "KILL_MODE": mode}
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args], env=env, capture_output=True, text=True, timeout=300
    )


def _weights(path: Path) -> dict[str, np.ndarray]:
    return serialization.load(path)


def _history(run: Path) -> list[dict]:
    rows = json.loads((run / "history.json").read_text())["epochs"]
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("kill") / "reference"
    done = _shendu([*TRAIN, "--out", str(out)])
    assert done.returncode == 0, done.stderr
    writes = int(done.stderr.rsplit("WRITES ", 1)[1])
    return out, writes


def _points(writes: int) -> list[tuple[int, str]]:
    points = [(k, "mid") for k in range(1, writes + 1)] + [(writes, "after")]
    if LONG:
        points += [(k, "after") for k in range(1, writes)]
    return points


def test_the_reference_run_commits_every_file_through_the_writer(reference):
    out, writes = reference
    # config, then (weights, history, checkpoint) per epoch, then history and curves at the end
    assert writes == 1 + 3 * 2 + 2
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".lock", "checkpoint.safetensors", "config.json", "curves.png", "history.json", "model.safetensors"]
    )


def test_kill_anywhere_then_resume_gives_the_uninterrupted_run(reference, tmp_path):
    from PIL import Image

    from shendu.training.plots import EPOCHS_KEY

    ref, writes = reference
    ref_weights, ref_history = _weights(ref / "model.safetensors"), _history(ref)
    outcomes = []
    for kill_at, mode in _points(writes):
        out = tmp_path / f"k{kill_at}-{mode}"
        killed = _shendu([*TRAIN, "--out", str(out)], kill_at, mode)
        assert killed.returncode == -signal.SIGKILL, (kill_at, mode, killed.stderr)
        resumed = _shendu(["train", "--out", str(out), "--resume", "--no-progress"])
        if resumed.returncode != 0:  # killed before the first checkpoint: nothing to resume
            errors = [line for line in resumed.stderr.splitlines() if line.strip() and "WRITES" not in line]
            assert len(errors) == 1 and "start again" in errors[0], resumed.stderr
            resumed = _shendu([*TRAIN, "--out", str(out)])
        assert resumed.returncode == 0, (kill_at, mode, resumed.stderr)
        outcomes.append((kill_at, mode, "repaired" if "repaired" in resumed.stderr else "ok"))
        weights = _weights(out / "model.safetensors")
        assert weights.keys() == ref_weights.keys()
        for name, value in ref_weights.items():
            assert np.array_equal(weights[name], value), (kill_at, mode, name)
        assert _history(out) == ref_history, (kill_at, mode)
        checkpoint = serialization.load_with_metadata(out / "checkpoint.safetensors")[1]
        assert checkpoint["epoch"] == "2"
        with Image.open(out / "curves.png") as png:
            png.load()  # a truncated PNG fails here
            assert png.text.get(EPOCHS_KEY) == "2", (kill_at, mode)
        assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp")), (kill_at, mode)
        config = json.loads((out / "config.json").read_text())
        meta = serialization.load_with_metadata(out / "model.safetensors")[1]
        assert meta["run_id"] == config["run_id"] and meta["epoch"] == "2"
    assert len(outcomes) == len(_points(writes))
