"""Collectives (集合通信): operations every rank calls together, in the same order.

- ``all_reduce(t)``: every rank ends with the element-wise sum (or max, min, …) of all ranks' ``t``;
- ``broadcast(t, src)``: every rank ends with rank ``src``'s ``t``;
- ``all_gather(list, t)``: every rank ends with the list of all ranks' ``t``;
- ``barrier()``: no rank leaves before every rank has arrived.

With the MPI backend a GPU tensor goes through host memory: copied to the host, sent by MPI,
copied back (as PyTorch's Gloo backend does; the MPI wheels are not CUDA-aware). With the NCCL
backend it stays on its GPU (:mod:`shendu.distributed.nccl`).

Each is a non-blocking MPI request polled until a deadline (the group's ``timeout``): a rank that
died, left early or took another path makes the others raise :class:`DistBackendError` instead
of hanging. ``async_op=True`` returns a :class:`Work` whose ``wait()`` does that polling later,
so communication can overlap computation (as DistributedDataParallel does).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from shendu import backend
from shendu.distributed import nccl
from shendu.distributed.group import _mpi, default_group
from shendu.distributed.reduce_op import ReduceOp
from shendu.distributed.work import Work, bump, chain, scatter, store, wait_all
from shendu.tensor import Tensor

_LOGICAL = {
    ReduceOp.SUM: "LOR",
    ReduceOp.MAX: "LOR",
    ReduceOp.BOR: "LOR",
    ReduceOp.PRODUCT: "LAND",
    ReduceOp.MIN: "LAND",
    ReduceOp.BAND: "LAND",
    ReduceOp.BXOR: "LXOR",
}


def _check_tensor(tensor: Any, what: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a shendu Tensor, got {type(tensor).__name__}")
    return tensor


def _nccl(tensor: Tensor) -> bool:
    """Whether ``tensor``'s collective goes through NCCL (a GPU tensor in an NCCL group)."""
    return default_group().backend == "nccl" and backend.device_of(tensor._data).type == "cuda"


def _buffer(tensor: Tensor) -> tuple[np.ndarray, Any]:
    """A contiguous, writable host array over the tensor's values, and how to copy it back if it
    is a copy (always for a GPU tensor: MPI sends host memory)."""
    arr = tensor._data
    if type(arr) is np.ndarray and arr.flags.c_contiguous and arr.flags.writeable:
        return arr, None
    buf = np.array(backend.to_host(arr), order="C", copy=True)

    def write_back() -> None:
        store(tensor, buf)

    return buf, write_back


def _run(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False):
    """Replace ``tensor`` on every rank by the reduction of all ranks' tensors, in place.

    >>> # two ranks holding [1, 2] and [3, 4]: after all_reduce both hold [4, 6]
    """
    _check_tensor(tensor, "all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a shendu.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got {tensor.dtype}")
    if _nccl(tensor):
        return _run(nccl.all_reduce(tensor, op), async_op)
    group = default_group()
    MPI = _mpi()
    buf, write_back = _buffer(tensor)
    name = "SUM" if op is ReduceOp.AVG else op.value
    if buf.dtype == np.bool_:  # MPI reduces booleans by logic only: SUM is "or", PRODUCT "and" (PyTorch's)
        name = _LOGICAL[op]
    mpi_op = getattr(MPI, name)
    request = group.comm.Iallreduce(MPI.IN_PLACE, buf, mpi_op)
    average = None
    if op is ReduceOp.AVG:

        def average() -> None:
            np.divide(buf, group.size, out=buf)

    return _run(Work([request], "all_reduce", chain(average, write_back, bump(tensor))), async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank (same shape and dtype)."""
    _check_tensor(tensor, "broadcast")
    group = default_group()
    _check_rank(src, group.size, "broadcast", "src")
    if _nccl(tensor):
        return _run(nccl.broadcast(tensor, int(src)), async_op)
    buf, write_back = _buffer(tensor)
    request = group.comm.Ibcast(buf, root=src)
    return _run(Work([request], "broadcast", chain(write_back, bump(tensor))), async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor``, on every rank.

    ``tensor_list`` holds ``world_size`` tensors of ``tensor``'s shape and dtype, as in PyTorch.
    """
    _check_tensor(tensor, "all_gather")
    group = default_group()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != group.size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must hold world_size={group.size} tensors, got {got}")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, f"all_gather: tensor_list[{i}]")
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(
                f"all_gather: tensor_list[{i}] has shape {t.shape} and dtype {t.dtype}; "
                f"expected those of the input, {tensor.shape} and {tensor.dtype}"
            )
    if _nccl(tensor):
        return _run(nccl.all_gather(list(tensor_list), tensor), async_op)
    send = np.ascontiguousarray(backend.to_host(tensor._data))
    recv = np.empty((group.size,) + send.shape, dtype=send.dtype)
    request = group.comm.Iallgather(send, recv)

    return _run(Work([request], "all_gather", scatter(tensor_list, recv)), async_op)


def barrier(group: Any = None, async_op: bool = False):
    """Wait until every rank has called ``barrier()``."""
    comm = default_group().comm
    return _run(Work([comm.Ibarrier()], "barrier"), async_op)


def _check_rank(value: Any, size: int, what: str, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise ValueError(f"{what}: {name} must be a rank in [0, {size - 1}], got {value!r}")


def all_gather_json(obj: Any, what: str = "all_gather_json") -> list[Any]:
    """Every rank's JSON-serialisable ``obj``, as a list by rank (no pickle: JSON text over MPI).

    Used to compare model structure across ranks; PyTorch's ``all_gather_object`` uses pickle.
    """
    import json

    group = default_group()
    data = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)
    sizes = np.empty(group.size, dtype=np.int64)
    wait_all([group.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes)], what)
    recv = np.empty(int(sizes.sum()), dtype=np.uint8)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    wait_all([group.comm.Iallgatherv(data, [recv, sizes, displs, _mpi().BYTE])], what)
    return [json.loads(recv[a : a + n].tobytes()) for a, n in zip(displs, sizes, strict=True)]


def broadcast_arrays(arrays: Sequence[np.ndarray], src: int = 0, what: str = "broadcast") -> None:
    """Broadcast many arrays from ``src`` in place, all requests in flight at once."""
    comm = default_group().comm
    wait_all([comm.Ibcast(a, root=src) for a in arrays], what)
