"""NCCL (GPU 集合通信): GPU tensors reduced GPU to GPU, never through host memory.

With ``init_process_group(backend="nccl")`` MPI still starts the ranks and connects them: rank 0
asks NCCL for a unique id, MPI broadcasts it, and every rank joins NCCL's communicator for its
GPU (the first time a tensor of that GPU takes part in a collective). From then on
``all_reduce``, ``broadcast`` and ``all_gather`` of a GPU tensor are NCCL kernels (CuPy's
``cupy.cuda.nccl`` bindings); host tensors and ``barrier()`` still go through MPI, as PyTorch's
``"cpu:gloo,cuda:nccl"``.

A collective runs on a stream of its own, after everything the computing stream had queued
(an event marks that point), so DDP's all-reduces overlap the rest of backward. ``wait()``
polls the collective's end until the group's deadline — a rank that died makes the others
abort their communicator and raise :class:`DistBackendError`, never hang — and then queues
the rest of the computation after it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from shendu import backend
from shendu.distributed.group import DistBackendError, default_group
from shendu.distributed.reduce_op import ReduceOp
from shendu.distributed.work import SPIN_SECONDS, Work, bump, chain, poll, scatter, wait_all
from shendu.tensor import Tensor

UNIQUE_ID_BYTES = 128  # ncclUniqueId
AVG_SINCE = 21000  # NCCL 2.10 added ncclAvg; older versions sum, then divide

_DATATYPES = {
    "int8": "NCCL_INT8",
    "uint8": "NCCL_UINT8",
    "bool": "NCCL_UINT8",
    "int32": "NCCL_INT32",
    "uint32": "NCCL_UINT32",
    "int64": "NCCL_INT64",
    "uint64": "NCCL_UINT64",
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
}
_OPS = {
    ReduceOp.SUM: "NCCL_SUM",
    ReduceOp.PRODUCT: "NCCL_PROD",
    ReduceOp.MIN: "NCCL_MIN",
    ReduceOp.MAX: "NCCL_MAX",
    ReduceOp.AVG: "NCCL_AVG",
}
_BOOL_OPS = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}  # logical or / and


class _Device:
    """One GPU's NCCL communicator and the stream its collectives run on."""

    def __init__(self, gpu: backend.Backend, index: int) -> None:
        group = default_group()
        self.gpu = gpu
        self.index = index
        self.nccl = gpu.nccl()
        uid = np.zeros(UNIQUE_ID_BYTES, dtype=np.int8)
        if group.rank == 0:
            uid[:] = self.nccl.get_unique_id()
        wait_all([group.comm.Ibcast(uid, root=0)], "NCCL's rendezvous (broadcast of the unique id)")
        self.comm = gpu.nccl_communicator(group.size, tuple(int(v) for v in uid), group.rank, index)
        self.stream = gpu.new_stream(index)
        self.averages = self.nccl.get_version() >= AVG_SINCE


def _device(arr: Any) -> _Device:
    where = backend.device_of(arr)
    index = where.index or 0
    devices = default_group().gpus
    if index not in devices:
        devices[index] = _Device(backend.backend_for(where), index)
    return devices[index]


def _datatype(dev: _Device, dtype: np.dtype, what: str) -> int:
    name = _DATATYPES.get(np.dtype(dtype).name)
    if name is None:
        raise TypeError(
            f"{what}: NCCL has no {dtype} type (it reduces {', '.join(sorted(_DATATYPES))}); "
            "cast the tensor, or move it to the CPU, where MPI takes any dtype"
        )
    return int(getattr(dev.nccl, name))


class GpuWork(Work):
    """An NCCL collective in flight: ``done`` is the event recorded after it on the NCCL stream."""

    def __init__(self, dev: _Device, done: Any, computing: Any, what: str, finish: Any, keep: tuple) -> None:
        super().__init__([], what, finish)
        self.dev = dev
        self.done = done
        self.computing = computing  # the stream the tensors were made on: it goes on after this
        self.keep = keep  # the buffers the kernel reads and writes stay alive until it ends

    def is_completed(self) -> bool:
        if not self._done and self.done.done:
            self._complete()
        return self._done

    def wait(self, timeout: float | None = None) -> bool:
        if self._done:
            return True
        group = default_group()
        seconds = group.timeout if timeout is None else timeout
        if not poll(lambda: self.done.done, seconds, SPIN_SECONDS):
            self.dev.comm.abort()  # its kernels would wait for the missing rank forever
            raise DistBackendError(
                f"shendu.distributed: {self.what} (NCCL) on rank {group.rank} of {group.size} did "
                f"not complete within {seconds:g} s; the NCCL communicator was aborted. Another rank "
                "has stopped or is stuck: it died, finished early, or is not calling the same "
                "collectives in the same order. (timeout: init_process_group(timeout=...))"
            )
        self._complete()
        return True

    def _complete(self) -> None:
        self.computing.wait_event(self.done)
        self.keep = ()
        super()._complete()


def _launch(arr: Any, what: str, call: Callable[[_Device, int], None], finish: Any, keep: tuple) -> GpuWork:
    """Queue ``call(device, stream)`` on the NCCL stream after the work queued so far on ``arr``'s."""
    dev = _device(arr)
    computing = dev.gpu.current_stream(dev.index)
    dev.stream.wait_event(computing.record())
    call(dev, dev.stream.ptr)
    return GpuWork(dev, dev.stream.record(), computing, what, finish, keep)


def _contiguous(tensor: Tensor) -> tuple[Any, Any]:
    """A C-contiguous array of the tensor's values on its GPU, and how to write it back if a copy."""
    arr = tensor._data
    if arr.flags.c_contiguous:
        return arr, None
    buf = arr.copy()

    def write_back() -> None:
        arr[...] = buf

    return buf, write_back


def all_reduce(tensor: Tensor, op: ReduceOp) -> GpuWork:
    buf, write_back = _contiguous(tensor)
    dev = _device(buf)
    kind = _datatype(dev, buf.dtype, "all_reduce")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        raise ValueError(
            f"all_reduce: NCCL has no bitwise reductions (got {op}), nor has PyTorch's NCCL backend; "
            "move the tensor to the CPU, where MPI does them"
        )
    op = _BOOL_OPS.get(op, op) if buf.dtype == np.bool_ else op
    divide = op is ReduceOp.AVG and not dev.averages
    nccl_op = int(getattr(dev.nccl, _OPS[ReduceOp.SUM if divide else op]))

    def call(dev: _Device, stream: int) -> None:
        ptr = dev.gpu.pointer(buf)
        dev.comm.allReduce(ptr, ptr, buf.size, kind, nccl_op, stream)

    average = None
    if divide:

        def average() -> None:
            np.divide(buf, default_group().size, out=buf)

    return _launch(buf, "all_reduce", call, chain(average, write_back, bump(tensor)), (buf,))


def broadcast(tensor: Tensor, src: int) -> GpuWork:
    buf, write_back = _contiguous(tensor)
    dev = _device(buf)
    kind = _datatype(dev, buf.dtype, "broadcast")

    def call(dev: _Device, stream: int) -> None:
        dev.comm.bcast(dev.gpu.pointer(buf), buf.size, kind, src, stream)

    return _launch(buf, "broadcast", call, chain(write_back, bump(tensor)), (buf,))


def all_gather(tensor_list: list[Tensor], tensor: Tensor) -> GpuWork:
    send, _ = _contiguous(tensor)
    dev = _device(send)
    kind = _datatype(dev, send.dtype, "all_gather")
    recv = backend.full((len(tensor_list),) + send.shape, 0, send.dtype, backend.device_of(send))

    def call(dev: _Device, stream: int) -> None:
        dev.comm.allGather(dev.gpu.pointer(send), dev.gpu.pointer(recv), send.size, kind, stream)

    return _launch(send, "all_gather", call, scatter(tensor_list, recv), (send, recv))
