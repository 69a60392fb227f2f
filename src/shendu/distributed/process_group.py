"""The default process group (进程组): which process am I, and how many are we.

Data-parallel training runs the same script in N processes, started by an MPI launcher
(``mpirun -n 2 python train.py``, or ``shendu train --nproc 2``). Each process is a *rank*
``0 … N−1`` of the *world*; ``init_process_group(backend="mpi")`` joins them, as in PyTorch.

Nothing here hangs forever: every collective waits with a deadline (``timeout``, default 5
minutes, or ``$SHENDU_DIST_TIMEOUT`` seconds), and an exception that reaches the top of any rank
aborts the whole job (``MPI_Abort``), so the other ranks stop too instead of waiting for it.

The group's state lives in :mod:`shendu.distributed.group`, which the collectives read.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from types import TracebackType
from typing import Any

from shendu import parallel
from shendu.distributed import group as state
from shendu.distributed.group import _Group, _mpi, default_group
from shendu.distributed.work import Work

DEFAULT_TIMEOUT = timedelta(minutes=5)


def is_available() -> bool:
    """True if the MPI backend can be used (mpi4py is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    """True if the NCCL backend can be used: mpi4py, a GPU, and CuPy's NCCL bindings."""
    return is_available() and _nccl_problem() is None


def _nccl_problem() -> str | None:
    """Why NCCL cannot be used here, or None."""
    from shendu import backend
    from shendu.device import device

    try:
        backend.backend_for(device("cuda")).nccl()
    except RuntimeError as err:
        return str(err)
    return None


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return state._group is not None


def _seconds(timeout: timedelta | float | None) -> float:
    if timeout is None:
        env = os.environ.get("SHENDU_DIST_TIMEOUT")
        if env is None:
            return DEFAULT_TIMEOUT.total_seconds()
        try:
            seconds = float(env)
        except ValueError:
            raise ValueError(f"SHENDU_DIST_TIMEOUT must be a number of seconds, got {env!r}") from None
    elif isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    else:
        seconds = float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(
    backend: str | None = "mpi",
    init_method: str | None = None,
    timeout: timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the processes started by the MPI launcher into the default group.

    Args:
        backend: ``"mpi"`` (``None`` means the same), or ``"nccl"``: GPU tensors summed GPU to GPU
            by NCCL, host tensors still by MPI (see :mod:`shendu.distributed.nccl`). Gloo is
            PyTorch's; MPI plays its part here.
        init_method, store: not needed with MPI (the launcher does the rendezvous); must be None
            or ``"env://"``.
        timeout: how long any collective may wait for the other ranks (timedelta or seconds).
        world_size, rank: optional; if given they must agree with the launcher's.

    Without a launcher (``python train.py``) the world has one process, rank 0. Ranks that share
    a machine split its cores (``cores // ranks`` threads each) unless ``set_num_threads`` or
    ``$OMP_NUM_THREADS`` chose their threads.
    """
    if state._group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    kind = "mpi" if backend is None else str(backend).lower()
    if kind not in ("mpi", "nccl"):
        raise ValueError(
            f"init_process_group: shendu has the 'mpi' and 'nccl' backends, got backend={backend!r} "
            "(Gloo is PyTorch's; use backend='mpi', or 'nccl' for GPUs, and launch with mpirun)"
        )
    if kind == "nccl":
        problem = _nccl_problem()
        if problem is not None:
            raise RuntimeError(f"init_process_group(backend='nccl'): {problem}")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError(
            "init_process_group: with the MPI backend the launcher (mpirun) connects the processes; "
            f"leave init_method and store unset, got init_method={init_method!r}, store={store!r}"
        )
    seconds = _seconds(timeout)
    comm = _mpi().COMM_WORLD
    group = _Group(comm, seconds, kind)
    for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given not in (-1, None) and given != actual:
            raise ValueError(
                f"init_process_group: {name}={given} but the MPI launcher gives {actual} "
                f"(started with {group.size} process(es)); omit {name} or launch with mpirun -n {world_size}"
            )
    state._group = group
    if group.size > 1:
        sys.excepthook = _abort_on_uncaught
        # ranks on one machine share its cores, unless the user chose the threads
        group.ranks_here = _ranks_on_this_machine(comm)
        parallel.share_cores(group.ranks_here)
    Work([comm.Ibarrier()], "barrier").wait()  # every rank has joined (or the deadline names who is missing)


def _ranks_on_this_machine(comm: Any) -> int:
    """How many ranks of ``comm`` share this machine's memory (MPI's shared-memory split)."""
    local = comm.Split_type(_mpi().COMM_TYPE_SHARED)
    try:
        return int(local.Get_size())
    finally:
        local.Free()


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group (the MPI runtime itself finalises at interpreter exit)."""
    if group is not None:
        raise ValueError("destroy_process_group: shendu has only the default group; call it with no argument")
    current = state._group
    if current is None:
        raise ValueError("destroy_process_group: the default process group is not initialized")
    sys.excepthook = current.previous_excepthook
    for gpu in current.gpus.values():
        gpu.comm.destroy()
    state._group = None


def get_rank(group: Any = None) -> int:
    """This process's number, ``0 … world_size − 1`` (rank 0 usually writes files and logs)."""
    return default_group().rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the default group."""
    return default_group().size


def get_backend(group: Any = None) -> str:
    """``"mpi"`` or ``"nccl"``, as given to ``init_process_group``."""
    return default_group().backend


def _abort_on_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` while the group lives: report, then abort every rank.

    Without it the other ranks would wait in their next collective until the timeout.
    """
    group = state._group
    if group is None:  # pragma: no cover - the hook is removed with the group
        sys.__excepthook__(kind, value, tb)
        return
    group.previous_excepthook(kind, value, tb)
    sys.stderr.write(
        f"shendu.distributed: rank {group.rank} of {group.size} stopped with {kind.__name__}; "
        "aborting all ranks (MPI_Abort) so that none waits for it\n"
    )
    sys.stderr.flush()
    # mpiexec forwards a rank's output through its proxy, which the abort kills at once: give it a
    # moment, or the report above reaches the user cut off (seen about one run in four).
    time.sleep(0.5)
    group.comm.Abort(1)
