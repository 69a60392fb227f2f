"""Launch real multi-process MPI jobs on this machine (skipped where the MPI extra is absent)."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"


def _launcher() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return None
    from shendu.distributed.launch import find_mpiexec

    try:
        return find_mpiexec()
    except FileNotFoundError:
        return None


MPIEXEC = _launcher()
# the GPU the multi-process GPU tests use: the stand-in of tests/device/fake_cuda.py, or a real
# one with SHENDU_TEST_WORKER_GPU=cuda (benchmarks/gpu_check.sh; the ranks then share GPU 0)
WORKER_GPU = os.environ.get("SHENDU_TEST_WORKER_GPU", "fake-cuda")
# NCCL refuses two ranks on one GPU, and the workers put every rank on cuda:0: on a real GPU the
# 2-rank NCCL jobs are skipped (benchmarks/gpu_check.sh runs NCCL there with one rank)
NCCL_WORKERS = pytest.param(
    WORKER_GPU,
    "nccl",
    marks=pytest.mark.skipif(WORKER_GPU == "cuda", reason="NCCL needs a GPU per rank; ranks share cuda:0"),
    id=f"{WORKER_GPU}-nccl",
)
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None, reason='the MPI extra is absent: pip install "shendu[distributed]" (mpi4py, mpich)'
)


class Job:
    def __init__(self, proc: subprocess.CompletedProcess, seconds: float) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds

    def check(self) -> "Job":
        assert self.returncode == 0, f"MPI job failed ({self.returncode}):\n{self.stdout}\n{self.stderr}"
        return self


def mpirun(nproc: int, worker: str, *args: str, timeout: float = 60, env: dict | None = None) -> Job:
    """Run ``tests/distributed/workers/<worker>`` in ``nproc`` processes; one BLAS thread each."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **(env or {}),
    }
    command = [MPIEXEC, "-n", str(nproc), sys.executable, str(WORKERS / worker), *args]
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT)
    return Job(proc, time.monotonic() - start)
