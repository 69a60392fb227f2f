"""Collectives in real 2-process MPI jobs, and what happens when a rank dies or hangs."""

import pytest

import shendu.distributed as dist
from tests.distributed.conftest import NCCL_WORKERS, WORKER_GPU, mpirun, needs_mpi


@needs_mpi
@pytest.mark.parametrize("device, kind", [("cpu", "mpi"), (WORKER_GPU, "mpi"), NCCL_WORKERS])
def test_collectives_in_two_processes(device, kind):
    """On the CPU; on the stand-in GPU with MPI (tensors go through host memory and come back
    there) and with NCCL (tests/device/fake_nccl.py: GPU to GPU, host tensors still by MPI)."""
    env = {"SHENDU_WORKER_DEVICE": device, "SHENDU_WORKER_BACKEND": kind}
    job = mpirun(2, "collectives.py", env=env).check()
    assert "ok rank 0 of 2" in job.stdout and "ok rank 1 of 2" in job.stdout


@needs_mpi
@pytest.mark.parametrize(
    "mode, message",
    [
        ("exit", "all_reduce on rank 0 of 2 did not complete within 2 s"),
        ("hang", "all_reduce on rank 0 of 2 did not complete within 2 s"),
        ("raise", "rank 1 of 2 stopped with ValueError; aborting all ranks"),
        ("kill", "signal 9"),
    ],
)
def test_a_failing_rank_stops_the_job_with_a_clear_message(mode, message):
    job = mpirun(2, "failures.py", mode, timeout=30)
    assert job.returncode != 0
    assert message in job.stdout + job.stderr
    assert "rank 0 finished" not in job.stdout
    assert job.seconds < 20  # the deadline is 2 s: never a hang


def test_without_a_process_group_pytorch_error():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()


def test_the_mpi_and_nccl_backends_only():
    with pytest.raises(ValueError, match="'mpi' and 'nccl' backends, got backend='gloo'"):
        dist.init_process_group(backend="gloo")
    with pytest.raises(ValueError, match="leave init_method and store unset"):
        dist.init_process_group(init_method="tcp://10.0.0.1:23456")


@needs_mpi
@pytest.mark.parametrize("omp, expected", [("", None), ("3", 3)])
def test_ranks_on_one_machine_share_its_cores_unless_told(omp, expected):
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    job = mpirun(2, "threads.py", env={"OMP_NUM_THREADS": omp}).check()
    want = expected if expected is not None else max(1, cores // 2)
    for rank in (0, 1):
        assert f"threads rank {rank}: {want}" in job.stdout


def test_a_crowded_machine_makes_waits_sleep_from_the_start():
    """More ranks on a machine than cores: a wait must not spin (it would take a core another
    rank needs); as many or fewer: it polls without pausing first."""
    from shendu import parallel
    from shendu.distributed.group import _Group

    class Comm:
        def Get_rank(self):
            return 0

        def Get_size(self):
            return 4

    group = _Group(Comm(), timeout=5.0)
    group.ranks_here = parallel.cores()
    assert not group.crowded
    group.ranks_here = parallel.cores() + 1
    assert group.crowded
