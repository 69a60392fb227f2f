"""Run under mpiexec: train each test model with DDP at per-rank batch B; save the weights.

argv: OUT_DIR BATCH EPOCHS KIND:DTYPE ...  Writes OUT_DIR/KIND-DTYPE-initial.npz (rank 0's weights
after DDP's broadcast) and OUT_DIR/KIND-DTYPE-rankR.npz (the weights after training).
With SHENDU_WORKER_DEVICE=fake-cuda the models train on the test suite's stand-in GPU (DDP then
sends every bucket through host memory), with =cuda on the real one.
"""

import sys

import numpy as np


def main(out: str, batch: int, epochs: int, jobs: list[str]) -> None:
    import common

    import shendu
    import shendu.distributed as dist
    from shendu.nn.parallel import DistributedDataParallel as DDP

    where = common.device_from_env()
    dist.init_process_group(backend=common.backend_from_env(), timeout=60)
    rank, world = dist.get_rank(), dist.get_world_size()
    for job in jobs:
        kind, dtype = job.split(":")
        shendu.manual_seed(100 + rank)  # different initial weights on each rank: DDP must broadcast rank 0's
        model = common.build(kind, np.dtype(dtype)).to(where)
        ids = None if where == "cpu" else [0]  # PyTorch's usual DDP(model, device_ids=[local_rank])
        ddp = DDP(model, device_ids=ids, bucket_cap_mb=0.05)  # small buckets: several all-reduces
        assert all(k.startswith("module.") for k in ddp.state_dict())
        on_host = [type(b.flat) is np.ndarray for b in ddp._reducer.buckets]
        assert on_host == [where == "cpu"] * len(on_host), (where, on_host)  # buckets beside the model
        if rank == 0:
            np.savez(f"{out}/{kind}-{dtype}-initial.npz", **common.state(model))
        opt = common.optimizer(ddp)
        x, y = common.data(kind, np.dtype(dtype))
        for idx in common.shard_batches(len(x), world, rank, batch, epochs):
            common.step(ddp, opt, x[idx], y[idx])
        np.savez(f"{out}/{kind}-{dtype}-rank{rank}.npz", **common.state(ddp.module))
    if common.backend_from_env() == "nccl" and common.nccl_calls(where):  # the buckets went by NCCL
        reduced = [c for c in common.nccl_calls(where) if c[0] == "allReduce"]
        assert reduced and all(c[-1] != 0 for c in reduced), "all-reduces on the computing stream"
        print(f"nccl all-reduces rank {rank}: {len(reduced)}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
