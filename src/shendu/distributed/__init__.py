"""``shendu.distributed``: data-parallel training across processes and machines, on MPI.

PyTorch's names and semantics (``torch.distributed``), on MPI (mpi4py); GPU tensors may go GPU
to GPU through NCCL instead (``init_process_group("nccl")``, :mod:`shendu.distributed.nccl`)::

    import shendu.distributed as dist
    dist.init_process_group(backend="mpi")   # launched by: mpirun -n 2 python train.py
    rank, world = dist.get_rank(), dist.get_world_size()
    t = shendu.tensor([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # every rank: 0 + 1 + … + (world − 1)

See docs/distributed.md, and :class:`shendu.nn.parallel.DistributedDataParallel`.
mpi4py is imported on first use: install it with ``pip install "shendu[distributed]"``.
"""

from shendu.distributed.collectives import all_gather, all_reduce, barrier, broadcast
from shendu.distributed.group import DistBackendError
from shendu.distributed.process_group import (
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)
from shendu.distributed.reduce_op import ReduceOp
from shendu.distributed.work import Work

__all__ = [
    "DistBackendError",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
]
