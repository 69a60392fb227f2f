"""``benchmarks/bench_serve.py``, the load test, kept working: a short run against 127.0.0.1 only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.conftest import RUN_NAME

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_serve.py"


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_the_load_test_answers_every_request_on_loopback(runs_root):
    done = _bench(str(runs_root / RUN_NAME), "--clients", "3", "--seconds", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 clients" in done.stdout and "on 127.0.0.1" in done.stdout
    assert " 0 errors" in done.stdout and "latency ms: p50" in done.stdout


@pytest.mark.parametrize(
    "args", [["--clients", "201"], ["--clients", "0"], ["--seconds", "121"], ["--requests", "10001"]]
)
def test_the_load_test_is_bounded(args):
    done = _bench(*args)
    assert done.returncode == 2 and "keep it bounded" in done.stderr


def test_the_round_trip_in_a_browser_is_timed(runs_root):
    from tests.web import browsers

    reason = browsers.missing("chromium")
    if reason:
        pytest.skip(reason)
    done = _bench(str(runs_root / RUN_NAME), "--browser", "chromium", "--requests", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "request 5 times in chromium" in done.stdout and "round trip ms: p50" in done.stdout
