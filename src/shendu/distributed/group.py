"""The default group's state (进程组的状态): the MPI communicator, this rank, the world size, the
deadline of every wait, and the NCCL communicators of a "nccl" group. ``init_process_group``
(:mod:`shendu.distributed.process_group`) sets it; the collectives read it.

mpi4py is imported here, on first use only, so ``import shendu`` works without it.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from shendu import parallel

INSTALL_HINT = 'pip install "shendu[distributed]" (mpi4py and an MPI runtime from PyPI)'


class DistBackendError(RuntimeError):
    """A collective could not complete (PyTorch's ``torch.distributed.DistBackendError``)."""


class _Group:
    """The default group: the MPI communicator, this rank, the world size, the timeout."""

    def __init__(self, comm: Any, timeout: float, backend: str = "mpi") -> None:
        self.comm = comm
        self.backend = backend  # "mpi", or "nccl": GPU tensors through NCCL, the rest through MPI
        self.gpus: dict[int, Any] = {}  # GPU number -> its NCCL communicator (shendu.distributed.nccl)
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.timeout = timeout
        self.previous_excepthook = sys.excepthook
        self.ranks_here = 1  # ranks sharing this machine (set by init_process_group)

    @property
    def crowded(self) -> bool:
        """More ranks on this machine than it has cores: a waiting rank must leave its core to
        the others rather than poll MPI without pause."""
        return self.ranks_here > parallel.cores()


_group: _Group | None = None  # set by init_process_group, cleared by destroy_process_group


def _mpi() -> ModuleType:
    """``mpi4py.MPI``, or an ImportError that says how to install it."""
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"shendu.distributed needs mpi4py: {INSTALL_HINT}") from None
    if "mpi4py.MPI" not in sys.modules:
        # One thread calls MPI (PyTorch's backends do the same): cheaper than MPI_THREAD_MULTIPLE.
        mpi4py.rc.thread_level = "funneled"
    from mpi4py import MPI

    return MPI


def default_group() -> _Group:
    """The default group, or PyTorch's error when ``init_process_group`` has not been called."""
    if _group is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call init_process_group."
        )
    return _group
