"""What the DDP workers and the tests that check them share: models, data, one training loop.

A rank trains on its DistributedSampler shard in batches of ``B``; the reference trains one
process on the same epoch order in batches of ``R·B`` (each the union of the ranks' batches).
"""

import os
import sys
from pathlib import Path

import numpy as np

import shendu
from shendu import nn
from shendu.data.distributed import DistributedSampler
from shendu.models.lenet import lenet
from shendu.nn import functional as F

KINDS = ("mlp", "lenet", "bn")
SEED = 7


def device_from_env() -> str:
    """The device a worker runs on, from $SHENDU_WORKER_DEVICE: "cpu" (default), "cuda", or
    "fake-cuda", the test suite's stand-in GPU (registered here as "cuda")."""
    where = os.environ.get("SHENDU_WORKER_DEVICE", "cpu")
    if where == "fake-cuda":
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
        from shendu import backend
        from tests.device.fake_cuda import FakeCudaBackend

        backend.register(FakeCudaBackend())
        where = "cuda"
    return where


def backend_from_env() -> str:
    """The process group's backend, from $SHENDU_WORKER_BACKEND: "mpi" (default) or "nccl" (on the
    stand-in GPU, NCCL is tests/device/fake_nccl.py)."""
    return os.environ.get("SHENDU_WORKER_BACKEND", "mpi")


def nccl_calls(where: str) -> list:
    """The NCCL calls the stand-in made in this process (empty on a real GPU or with MPI)."""
    if where != "cuda" or os.environ.get("SHENDU_WORKER_DEVICE") != "fake-cuda":
        return []
    from tests.device import fake_nccl

    return fake_nccl.calls


def build(kind: str, dtype) -> nn.Module:
    if kind == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    elif kind == "lenet":
        model = lenet(input_size=16)
    elif kind == "bn":  # BatchNorm after a convolution and after a Linear
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * 7 * 7, 16),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Linear(16, 10),
        )
    else:
        raise ValueError(kind)
    return model.to(dtype)


def data(kind: str, dtype, n: int = 48):
    rng = np.random.default_rng(0)
    side = 8 if kind == "mlp" else 16
    x = rng.standard_normal((n, 1, side, side)).astype(dtype)
    y = rng.integers(0, 10, n)
    return x, y


def optimizer(model: nn.Module):
    return shendu.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)


def shard_batches(n: int, replicas: int, rank: int, batch: int, epochs: int):
    """Index arrays of rank ``rank``'s batches, epoch after epoch."""
    sampler = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=SEED)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        idx = sampler.indices()
        for start in range(0, len(idx), batch):
            yield idx[start : start + batch]


def step(model, opt, x, y) -> float:
    """One SGD step on the batch (x, y), moved to the model's device."""
    where = next(model.parameters()).device
    opt.zero_grad()
    loss = F.cross_entropy(model(shendu.from_numpy(x).to(where)), shendu.from_numpy(y).to(where))
    loss.backward()
    opt.step()
    return loss.item()


def state(model: nn.Module) -> dict:
    return {k: v.cpu().numpy().copy() for k, v in model.state_dict().items()}
