"""A stand-in for CuPy's NCCL bindings (``cupy.cuda.nccl``) on the stand-in GPU of fake_cuda.py.

Strict where a real NCCL would fail: the communicator is built from the unique id every rank
received (compared across ranks), for the world size and rank MPI gives; a collective reads
and writes exactly ``count`` elements of the NCCL data type at the device addresses it is
given, so a wrong pointer, count or type gives wrong numbers here as it would on a GPU. The
sums themselves are MPI's, on the host memory the fake GPU arrays live in. Every call is
logged in ``calls`` (the tests check that GPU tensors took this path, not MPI's host copies).
"""

from __future__ import annotations

import ctypes

import numpy as np

# ncclDataType_t and ncclRedOp_t, as in nccl.h
NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = 0, 1, 2, 3, 4, 5
NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_BFLOAT16 = 6, 7, 8, 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4
_TYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
          6: np.float16, 7: np.float32, 8: np.float64}  # fmt: skip

available = True
calls: list[tuple] = []
version = 22304  # 2.23.4; below 21000 (2.10) there is no NCCL_AVG


def get_version() -> int:
    return version


def get_unique_id() -> tuple[int, ...]:
    return tuple(int(v) for v in np.random.default_rng().integers(-128, 128, 128))


def _at(ptr: int, count: int, datatype: int) -> np.ndarray:
    """The ``count`` elements of ``datatype`` at address ``ptr`` (a view: writes land there)."""
    dtype = np.dtype(_TYPES[datatype])
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype)


class NcclCommunicator:
    def __init__(self, ndev: int, commId: tuple, rank: int) -> None:
        from mpi4py import MPI

        self.mpi = MPI
        world = MPI.COMM_WORLD
        assert (ndev, rank) == (world.Get_size(), world.Get_rank()), (ndev, rank)
        uid = np.array(commId, dtype=np.int8)
        assert uid.size == 128
        every = np.empty((ndev, 128), dtype=np.int8)
        world.Allgather(uid, every)
        assert (every == every[0]).all(), "the ranks joined NCCL with different unique ids"
        self.world = world
        self.destroyed = False
        calls.append(("init", ndev, rank))

    def _alive(self) -> None:
        assert not self.destroyed, "a collective on a destroyed or aborted NCCL communicator"

    def allReduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int, stream: int) -> None:
        self._alive()
        calls.append(("allReduce", count, datatype, op, stream))
        recv = _at(recvbuf, count, datatype)
        mpi_op = {NCCL_SUM: "SUM", NCCL_AVG: "SUM", NCCL_PROD: "PROD", NCCL_MAX: "MAX", NCCL_MIN: "MIN"}[op]
        send = self.mpi.IN_PLACE if sendbuf == recvbuf else _at(sendbuf, count, datatype)
        self.world.Allreduce(send, recv, getattr(self.mpi, mpi_op))
        if op == NCCL_AVG:
            recv /= self.world.Get_size()

    def bcast(self, buff: int, count: int, datatype: int, root: int, stream: int) -> None:
        self._alive()
        calls.append(("bcast", count, datatype, root, stream))
        self.world.Bcast(_at(buff, count, datatype), root=root)

    def allGather(self, sendbuf: int, recvbuf: int, count: int, datatype: int, stream: int) -> None:
        self._alive()
        calls.append(("allGather", count, datatype, stream))
        size = self.world.Get_size()
        self.world.Allgather(_at(sendbuf, count, datatype), _at(recvbuf, count * size, datatype))

    def destroy(self) -> None:
        self.destroyed = True
        calls.append(("destroy",))

    def abort(self) -> None:
        self.destroyed = True
        calls.append(("abort",))


class Event:
    """A CUDA event; the fake GPU runs every kernel at once, so it is always reached."""

    done = True


class Stream:
    """A CUDA stream of the fake GPU: ``ptr`` tells the streams apart in ``calls``."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr
        self.waited: list[Event] = []

    def record(self) -> Event:
        return Event()

    def wait_event(self, event: Event) -> None:
        self.waited.append(event)
