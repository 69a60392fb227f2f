"""DDP on R processes at per-rank batch B = one process at batch R·B, step for step.

The reference is computed here, in one process, from the initial weights the DDP job saved.
BatchNorm normalises each rank's batch separately in DDP (as in PyTorch), so for the BatchNorm
network the reference runs each rank's half-batch through the model separately and averages the
two losses; its running statistics follow rank 0's halves only, since DDP broadcasts rank 0's
buffers before every forward.
"""

import numpy as np
import pytest

import shendu
from tests.device.conftest import fake_cuda  # noqa: F401  (the stand-in GPU fixture)
from tests.distributed.conftest import NCCL_WORKERS, WORKER_GPU, mpirun, needs_mpi
from tests.distributed.workers import common
from shendu.nn import functional as F

BATCH, EPOCHS = 4, 2  # 48 samples: 6 steps an epoch on 2 ranks, 12 steps in all
JOBS = ["mlp:float64", "lenet:float64", "bn:float64", "mlp:float32", "lenet:float32"]


def _load(path) -> dict:
    with np.load(path) as f:
        return dict(f)


def _reference(kind: str, dtype, initial: dict, replicas: int, epochs: int = EPOCHS) -> dict:
    """One process, batches of R·B; with BatchNorm, R separate forwards as on the R ranks."""
    model = common.build(kind, dtype)
    model.load_state_dict(initial)
    opt = common.optimizer(model)
    x, y = common.data(kind, dtype)
    for idx in common.shard_batches(len(x), 1, 0, replicas * BATCH, epochs):
        if kind != "bn":
            common.step(model, opt, x[idx], y[idx])
            continue
        opt.zero_grad()
        losses = []
        for r in range(replicas):
            part = idx[r::replicas]  # rank r's batch
            saved = [b.numpy().copy() for b in model.buffers()]
            losses.append(F.cross_entropy(model(shendu.from_numpy(x[part])), shendu.from_numpy(y[part])))
            if r > 0:  # DDP keeps rank 0's running statistics: undo the other ranks' updates
                for b, s in zip(model.buffers(), saved, strict=True):
                    b.data[...] = s
        (sum(losses[1:], losses[0]) / replicas).backward()
        opt.step()
    return common.state(model)


@needs_mpi
def test_two_processes_train_as_one_with_twice_the_batch(tmp_path):
    mpirun(2, "ddp_train.py", str(tmp_path), str(BATCH), str(EPOCHS), *JOBS, timeout=120).check()
    for job in JOBS:
        kind, dtype = job.split(":")
        dtype = np.dtype(dtype)
        expected = _reference(kind, dtype, _load(tmp_path / f"{kind}-{dtype}-initial.npz"), 2)
        ranks = [_load(tmp_path / f"{kind}-{dtype}-rank{r}.npz") for r in range(2)]
        for key, want in expected.items():
            for r, got in enumerate(ranks):
                if key.endswith("num_batches_tracked"):
                    assert got[key] == want, (job, key, r)
                    continue
                if r == 1 and "running_" in key:
                    continue  # rank 1's own running statistics: updated by its last batch
                if dtype == np.float64:
                    np.testing.assert_allclose(
                        got[key], want, rtol=0, atol=1e-10, err_msg=f"{job} {key} rank {r}"
                    )
                else:  # float32: the sums are taken in another order
                    np.testing.assert_allclose(
                        got[key], want, rtol=1e-4, atol=1e-5, err_msg=f"{job} {key} rank {r}"
                    )
            if "running_" not in key:
                np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=f"{job} {key}")
        assert not np.allclose(ranks[0][key], _load(tmp_path / f"{kind}-{dtype}-initial.npz")[key])


def _float64_ranks_equal_the_reference(tmp_path, jobs: list[str], replicas: int) -> None:
    """Every rank's weights after one epoch = one process's at batch R·B, within 1e-10 (the
    running statistics: rank 0's, which DDP broadcasts)."""
    for job in jobs:
        kind, _ = job.split(":")
        initial = _load(tmp_path / f"{kind}-float64-initial.npz")
        expected = _reference(kind, np.float64, initial, replicas, epochs=1)
        for r in range(replicas):
            got = _load(tmp_path / f"{kind}-float64-rank{r}.npz")
            for key, want in expected.items():
                if "running_" in key and r > 0 or key.endswith("num_batches_tracked"):
                    continue
                np.testing.assert_allclose(
                    got[key], want, rtol=0, atol=1e-10, err_msg=f"{job} {key} rank {r}"
                )


@needs_mpi
@pytest.mark.parametrize("where, kind", [(WORKER_GPU, "mpi"), NCCL_WORKERS])
def test_two_processes_on_the_gpu_train_as_one_on_the_cpu(tmp_path, where, kind):
    """Models on the (stand-in) GPU: buckets there, all-reduced through host memory (MPI) or GPU
    to GPU (NCCL); the weights equal one CPU process's at twice the batch (float64, 1e-10)."""
    jobs = ["mlp:float64", "lenet:float64", "bn:float64"]
    env = {"SHENDU_WORKER_DEVICE": where, "SHENDU_WORKER_BACKEND": kind}
    job = mpirun(2, "ddp_train.py", str(tmp_path), str(BATCH), "1", *jobs, timeout=120, env=env).check()
    _float64_ranks_equal_the_reference(tmp_path, jobs, 2)
    if kind == "nccl" and WORKER_GPU == "fake-cuda":  # the stand-in logs its calls
        assert "nccl all-reduces rank 0" in job.stdout and "nccl all-reduces rank 1" in job.stdout


@needs_mpi
def test_four_processes_train_as_one_with_four_times_the_batch(tmp_path):
    """Four ranks on two cores (oversubscribed, but the waits sleep between polls)."""
    jobs = ["mlp:float64", "bn:float64"]
    mpirun(4, "ddp_train.py", str(tmp_path), str(BATCH), "1", *jobs, timeout=120).check()
    _float64_ranks_equal_the_reference(tmp_path, jobs, 4)


@needs_mpi
@pytest.mark.parametrize("device, kind", [("cpu", "mpi"), (WORKER_GPU, "mpi"), NCCL_WORKERS])
def test_no_sync_unused_parameters_and_model_mismatch(device, kind):
    env = {"SHENDU_WORKER_DEVICE": device, "SHENDU_WORKER_BACKEND": kind}
    job = mpirun(2, "ddp_api.py", env=env).check()
    assert "ok rank 0" in job.stdout and "ok rank 1" in job.stdout


def test_ddp_needs_a_process_group():
    from shendu import nn
    from shendu.nn.parallel import DistributedDataParallel

    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))


@pytest.mark.usefixtures("fake_cuda")
def test_ddp_names_a_model_split_over_devices_and_device_ids_that_are_not_its_own():
    from shendu import nn
    from shendu.nn.parallel import DistributedDataParallel as DDP

    split = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2).to("cuda"))
    with pytest.raises(ValueError, match=r"one device, found 0.weight on cpu, 1.weight on cuda"):
        DDP(split)
    on_gpu = nn.Linear(2, 2).to("cuda")
    for bad in ([1], [0, 1], "cpu", ["cuda:1"]):
        with pytest.raises(ValueError, match=r"device_ids=.* must be None or the model's device \(cuda"):
            DDP(on_gpu, device_ids=bad)
    with pytest.raises(ValueError, match="output_device=1 must be None"):
        DDP(on_gpu, output_device=1)
    with pytest.raises(ValueError, match="device_ids=\\[0\\] must be None or the model's device \\(cpu"):
        DDP(nn.Linear(2, 2), device_ids=[0])
    for good in ([0], ["cuda:0"], None, []):  # accepted: the next error is the missing process group
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            DDP(on_gpu, device_ids=good, output_device=0 if good else None)
