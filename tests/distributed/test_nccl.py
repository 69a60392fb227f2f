"""The NCCL backend's parts that need no second process: choosing it, and a collective's wait.

The collectives themselves run in real 2-process jobs (test_collectives.py, test_ddp.py, with
``SHENDU_WORKER_BACKEND=nccl`` on the stand-in GPU and NCCL of tests/device/).
"""

import importlib.util
import types

import pytest

import shendu.distributed as dist
from shendu.distributed import group, nccl
from tests.device.conftest import fake_cuda  # noqa: F401  (the stand-in GPU fixture)
from tests.device.fake_nccl import Stream


def test_nccl_without_a_gpu_says_what_is_missing():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here: the message names the GPU or NCCL instead")
    assert not dist.is_nccl_available()
    with pytest.raises(RuntimeError, match=r"backend='nccl'\): a CUDA device was asked for, but CuPy is not"):
        dist.init_process_group(backend="nccl")
    assert not dist.is_initialized()


@pytest.mark.usefixtures("fake_cuda")
def test_nccl_is_available_with_a_gpu_its_bindings_and_mpi():
    assert dist.is_nccl_available() == (importlib.util.find_spec("mpi4py") is not None)


class _Comm:
    def Get_rank(self):
        return 1

    def Get_size(self):
        return 2


def _work(monkeypatch, done: bool, finished: list):
    monkeypatch.setattr(group, "_group", group._Group(_Comm(), 0.05, "nccl"))
    aborted: list = []
    dev = types.SimpleNamespace(comm=types.SimpleNamespace(abort=lambda: aborted.append(True)))
    computing = Stream(0)
    event = types.SimpleNamespace(done=done)
    work = nccl.GpuWork(dev, event, computing, "all_reduce", lambda: finished.append(True), ())
    return work, computing, event, aborted


def test_a_collective_that_never_ends_aborts_nccl_and_says_so(monkeypatch):
    """A rank that died leaves NCCL's kernels waiting forever: the deadline aborts the
    communicator (so the GPU is freed) and names the collective and the rank."""
    finished: list = []
    work, computing, _, aborted = _work(monkeypatch, False, finished)
    assert dist.get_backend() == "nccl"
    assert not work.is_completed()
    with pytest.raises(
        dist.DistBackendError,
        match=r"all_reduce \(NCCL\) on rank 1 of 2 did not complete within 0.05 s; the NCCL communicator "
        "was aborted",
    ):
        work.wait()
    assert aborted == [True] and finished == [] and computing.waited == []


def test_a_finished_collective_orders_the_computation_after_it(monkeypatch):
    finished: list = []
    work, computing, event, aborted = _work(monkeypatch, True, finished)
    assert work.wait() and work.is_completed() and work.wait()
    assert computing.waited == [event]  # later kernels on the computing stream wait for NCCL's
    assert finished == [True] and aborted == []  # the write-back ran once
