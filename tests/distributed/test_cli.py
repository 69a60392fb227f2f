"""``shendu train --nproc 2``, interrupted by Ctrl-C and resumed, ends with the weights of one
process trained at twice the batch (the same samples in every step)."""

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from shendu.serialization import load
from tests.distributed.conftest import ROOT, needs_mpi

# the MLP on the 4,500 training digits of mnist-5k, SGD with momentum, no augmentation
# (3 epochs: Ctrl-C lands in epoch 2 or, on a loaded machine, in epoch 3; the resume is checked either way)
OPTIONS = ["mlp", "--data", "mnist-5k", "--optimizer", "momentum", "--no-augment", "--epochs", "3"]


def _train(out, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "shendu.cli.main", "train", *OPTIONS, "--out", str(out), *extra]
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(proc) -> tuple[str, str]:
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"{stdout}\n{stderr}"
    return stdout, stderr


@needs_mpi
def test_interrupted_two_process_run_resumes_to_the_weights_of_one_process(tmp_path):
    one = _train(tmp_path / "one", "--batch-size", "32", "--no-progress")
    two = _train(tmp_path / "two", "--batch-size", "16", "--nproc", "2")
    deadline = time.monotonic() + 240
    while not (tmp_path / "two" / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    two.send_signal(signal.SIGINT)  # Ctrl-C after epoch 1: mpiexec passes it to both ranks
    _, stderr = two.communicate(timeout=120)
    assert two.returncode != 0, f"the run was not interrupted: {stderr}"
    match = re.search(r"training interrupted during epoch (\d)", stderr)
    assert match and match.group(1) in "23", stderr
    epoch = int(match.group(1))

    stdout, stderr = _finish(_train(tmp_path / "two", "--resume", "--nproc", "2"))
    assert "data parallel: 2 processes × batch 16 = 32 samples a step" in stderr
    assert f"after epoch {epoch - 1} of 3" in stderr  # it resumed from rank 0's checkpoint
    assert stdout.count("trained mlp") == 1  # rank 0 alone reports
    _finish(one)
    weights_two, weights_one = (load(str(tmp_path / d / "model.safetensors")) for d in ("two", "one"))
    assert weights_two.keys() == weights_one.keys() and not any(k.startswith("module.") for k in weights_two)
    for key in weights_one:  # float32: the gradient sums are taken in another order
        np.testing.assert_allclose(weights_two[key], weights_one[key], rtol=1e-3, atol=1e-4, err_msg=key)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_nproc_with_a_gpu_that_cannot_be_used_stops_before_mpiexec_with_one_message(tmp_path):
    proc = _train(tmp_path / "run", "--nproc", "2", "--device", "cuda")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, f"{stdout}\n{stderr}"
    assert stderr.count("error:") == 1 and "--device cuda" in stderr and "CuPy is not installed" in stderr
    assert "rank" not in stderr and "MPI_Abort" not in stderr  # no job was started


def test_nccl_without_a_gpu_device_stops_before_mpiexec_with_one_message(tmp_path):
    proc = _train(tmp_path / "run", "--nproc", "2", "--device", "cpu", "--dist-backend", "nccl")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, f"{stdout}\n{stderr}"
    assert stderr.count("error:") == 1
    assert "--dist-backend nccl sums on GPUs: it needs --device cuda" in stderr
    assert "rank" not in stderr  # no job was started
