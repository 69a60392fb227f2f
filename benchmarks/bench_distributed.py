"""Data-parallel training throughput: shendu's DDP on MPI against PyTorch's DDP on Gloo.

For each network, process count P and threads per process T, both libraries train the same
network with ``DistributedDataParallel`` in P processes started by the same launcher (the
``mpiexec`` of the ``mpich`` wheel; PyTorch's ranks read their number from the launcher's
``PMI_RANK``/``PMI_SIZE`` and meet over TCP on localhost), each rank on its own batch of B random
samples (weak scaling: the global batch is P·B). Reported: samples per second over all ranks, the
ratio shendu / PyTorch, and the scaling efficiency ``throughput(P) / (P · throughput(1))``.

    python benchmarks/bench_distributed.py                          # LeNet and ResNet-18, 1 and 2 processes
    python benchmarks/bench_distributed.py --models lenet --procs 1 2 4 --threads 1 2
    python benchmarks/bench_distributed.py --models resnet18 --batch 16 --steps 3

Networks: the course's LeNet on 28×28 MNIST-shaped input (batch 64 a rank), and ResNet-18 with
the CIFAR stem (3×3 conv1, no max-pool) on 32×32×3 input (batch 32 a rank). The machine may be
shared with other work: run it on an idle machine for figures to quote, and repeat it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = {"lenet": (1, 28, 28), "resnet18": (3, 32, 32)}
BATCHES = {"lenet": 64, "resnet18": 32}


# ---- one rank -----------------------------------------------------------------------------
def _shendu_rank(args: argparse.Namespace) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, os.path.join(ROOT, "src"))
    import shendu
    import shendu.distributed as dist
    from shendu.models.lenet import lenet
    from shendu.models.resnet import resnet18
    from shendu.nn import functional as F
    from shendu.nn.parallel import DistributedDataParallel as DDP

    threadpool_limits(args.threads)
    shendu.set_num_threads(args.threads)  # shendu's own threads: without this each rank takes every core
    dist.init_process_group(backend="mpi")
    model = lenet() if args.model == "lenet" else resnet18(num_classes=10, small_input=True)
    ddp = DDP(model)
    opt = shendu.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(dist.get_rank())
    x = shendu.from_numpy(rng.standard_normal((args.batch, *SHAPES[args.model])).astype(np.float32))
    y = shendu.from_numpy(rng.integers(0, 10, args.batch))

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()

    return _time(step, args, dist.barrier, dist.get_rank(), dist.get_world_size())


def _torch_rank(args: argparse.Namespace) -> dict:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch import nn

    sys.path.insert(0, ROOT)
    from tests.models import torch_reference

    torch.set_num_threads(args.threads)
    rank, world = int(os.environ["PMI_RANK"]), int(os.environ["PMI_SIZE"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=world)
    if args.model == "lenet":
        model: nn.Module = nn.Sequential(
            nn.Conv2d(1, 20, 5),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(20, 50, 5),
            nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(800, 500),
            nn.ReLU(),
            nn.Linear(500, 10),
        )
    else:
        model = torch_reference.build("resnet18", num_classes=10, small_input=True)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(rank)
    x = torch.randn(args.batch, *SHAPES[args.model], generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()

    result = _time(step, args, dist.barrier, rank, world)
    dist.destroy_process_group()
    return result


def _time(step, args: argparse.Namespace, barrier, rank: int, world: int) -> dict:
    """Warm up, then time ``args.steps`` steps between two barriers (the slowest rank counts)."""
    for _ in range(args.warmup):
        step()
    barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    barrier()
    seconds = time.perf_counter() - start
    return {"rank": rank, "samples_per_s": world * args.batch * args.steps / seconds, "seconds": seconds}


# ---- the driver ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(lib: str, model: str, procs: int, threads: int, args: argparse.Namespace) -> float:
    """samples/s of ``lib`` training ``model`` in ``procs`` processes of ``threads`` threads."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from shendu.distributed.launch import mpiexec_command

    batch = args.batch or BATCHES[model]
    worker = [__file__, "--worker", lib, "--model", model, "--threads", str(threads), "--batch", str(batch)]
    worker += ["--steps", str(args.steps), "--warmup", str(args.warmup), "--port", str(_free_port())]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        mpiexec_command(procs, worker), capture_output=True, text=True, env=env, timeout=args.timeout
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{lib} {model} P={procs} T={threads} failed:\n{proc.stdout}\n{proc.stderr}")
    return lines[0]["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--procs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--threads", nargs="+", type=int, default=[1])
    parser.add_argument(
        "--batch", type=int, default=None, help="samples per rank (default: 64 LeNet, 32 ResNet)"
    )
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--worker", choices=["shendu", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=list(SHAPES), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.threads = args.threads[0]
        result = (_shendu_rank if args.worker == "shendu" else _torch_rank)(args)
        if result["rank"] == 0:
            print(json.dumps(result), flush=True)
        return
    print(
        f"{os.cpu_count()} cores; samples/s over all ranks (each its own batch); on a shared machine: noisy"
    )
    columns = ("shendu", "torch", "ratio", "eff shendu", "eff torch")
    print(f"{'model':9} {'P':>2} {'T':>2} " + " ".join(f"{c:>10}" for c in columns))
    for model in args.models:
        for threads in args.threads:
            base: dict[str, float] = {}
            for procs in args.procs:
                rates = {lib: _launch(lib, model, procs, threads, args) for lib in ("shendu", "torch")}
                if procs == 1:
                    base = rates
                eff = {lib: rates[lib] / (procs * base[lib]) if base else float("nan") for lib in rates}
                print(
                    f"{model:9} {procs:>2} {threads:>2} {rates['shendu']:>10.1f} {rates['torch']:>10.1f} "
                    f"{rates['shendu'] / rates['torch']:>10.2f} {eff['shendu']:>10.2f} {eff['torch']:>10.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
