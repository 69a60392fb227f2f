"""Which array library holds a tensor's values: NumPy on the CPU, CuPy on an NVIDIA GPU.

The ops are written as plain NumPy array code (``x.sum(axis=1)``, ``np.exp(x)``, ``a @ b``).
That code runs on GPU arrays unchanged, because NumPy hands a call on a CuPy array over to
CuPy (``__array_ufunc__`` / ``__array_function__``, NEP 13 and NEP 18). Only code that makes a
new array from nothing (``zeros``, ``arange``, an index array) must ask which library to use::

    xp = get_array_module(x)        # numpy for a CPU array, cupy for a GPU one
    mask = xp.zeros(x.shape, dtype=bool)

That is DeZero's ``get_array_module`` idea, without a global switch: the library always follows
the arrays. This module is the only place that knows about CuPy; ``import cupy`` happens here,
the first time a GPU is asked for, never at ``import shendu``.

A backend is registered per device type ("cpu" is NumPy; "cuda" is CuPy, loaded on first use).
Tests register a stand-in "cuda" backend built on NumPy (``register``) to exercise the
device-moving code on machines without a GPU.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable

import numpy as np

from shendu.device import CPU, device

INSTALL_HINT = (
    'install CuPy with `pip install "shendu[cuda]"` (the cupy-cuda12x wheel, for NVIDIA drivers of '
    'CUDA 12 and 13) or `pip install "shendu[cuda13]"` (cupy-cuda13x, for CUDA 13 drivers)'
)
NCCL_HINT = (
    "CuPy finds NCCL in the nvidia-nccl-cu12 wheel (`pip install nvidia-nccl-cu12`, nvidia-nccl-cu13 "
    "beside cupy-cuda13x; PyTorch's CUDA wheels bring it too) or through "
    "`python -m cupyx.tools.install_library --library nccl --cuda 12.x`"
)


class Backend:
    """One array library behind one device type.

    ``xp`` is the array module (numpy, cupy); ``array_type`` the class of its arrays.
    Subclasses say how arrays move between the host and their devices.
    """

    type: str
    xp: Any  # a module (numpy, cupy) or a stand-in with the same functions
    array_type: Any

    def device_index(self, arr: Any) -> int | None:
        """The GPU number ``arr`` lives on (None for the CPU)."""
        return None

    def from_host(self, arr: np.ndarray, index: int) -> Any:
        """A copy of the host array ``arr`` on device ``index``."""
        raise NotImplementedError

    def to_host(self, arr: Any) -> np.ndarray:
        """A NumPy copy of the device array ``arr``."""
        raise NotImplementedError

    def to_index(self, arr: Any, index: int) -> Any:
        """``arr`` copied to another device of the same type."""
        return self.from_host(self.to_host(arr), index)

    def full(self, shape: tuple[int, ...], value: Any, dtype: np.dtype, index: int) -> Any:
        """An array of ``shape`` filled with ``value`` on device ``index``."""
        return self.from_host(np.full(shape, value, dtype=dtype), index)

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        return "CPU"

    def synchronize(self, index: int | None = None) -> None:
        """Wait until every queued kernel on the device has finished (for timing)."""

    def manual_seed(self, seed: int) -> None:
        """Seed the device's own generator, if it has one."""

    def set_tf32(self, on: bool) -> None:
        """Let float32 matrix products run in TF32 on tensor cores (GPU only)."""

    def as_strided(self, arr: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
        """A view of ``arr`` with the given shape and byte strides (no copy)."""
        return self.xp.lib.stride_tricks.as_strided(arr, shape, strides)

    # -- what shendu.distributed's NCCL backend needs (GPU to GPU collectives) --------------------
    def nccl(self) -> Any:
        """The NCCL bindings (CuPy's ``cupy.cuda.nccl``), or a RuntimeError saying why not."""
        raise RuntimeError(f"NCCL sums arrays on NVIDIA GPUs only, not on the {self.type}")

    def nccl_communicator(self, world: int, unique_id: tuple[int, ...], rank: int, index: int) -> Any:
        """Join NCCL's communicator ``unique_id`` as ``rank`` of ``world``, for device ``index``
        (blocks until every rank has joined)."""
        raise NotImplementedError

    def pointer(self, arr: Any) -> int:
        """The device address of ``arr``'s first element."""
        raise NotImplementedError

    def current_stream(self, index: int) -> Any:
        """The stream device ``index``'s kernels are queued on now: ``.ptr``, ``.record()`` (an
        event, ``.done`` once reached) and ``.wait_event(event)``."""
        raise NotImplementedError

    def new_stream(self, index: int) -> Any:
        """A stream of its own on device ``index`` (for collectives beside the computation)."""
        raise NotImplementedError


class NumpyBackend(Backend):
    type = "cpu"
    xp = np
    array_type = np.ndarray

    def from_host(self, arr: np.ndarray, index: int) -> np.ndarray:
        return arr

    def to_host(self, arr: Any) -> np.ndarray:
        return arr

    def full(self, shape: tuple[int, ...], value: Any, dtype: np.dtype, index: int) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)


class CupyBackend(Backend):
    """CuPy arrays on NVIDIA GPUs (``cupy.ndarray``; ``arr.device.id`` is the GPU number)."""

    type = "cuda"

    def __init__(self, cupy: ModuleType) -> None:
        self.xp = cupy
        self.array_type = cupy.ndarray
        self._count = cupy.cuda.runtime.getDeviceCount()
        self._nccl: ModuleType | None = None  # cupy.cuda.nccl, once loaded

    def device_index(self, arr: Any) -> int:
        return arr.device.id

    def from_host(self, arr: np.ndarray, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.xp.asarray(arr)

    def to_host(self, arr: Any) -> np.ndarray:
        return arr.get()

    def to_index(self, arr: Any, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.xp.asarray(arr)  # a device-to-device copy

    def full(self, shape: tuple[int, ...], value: Any, dtype: np.dtype, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.xp.full(shape, value, dtype=dtype)

    def device_count(self) -> int:
        return self._count

    def device_name(self, index: int) -> str:
        name = self.xp.cuda.runtime.getDeviceProperties(index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def synchronize(self, index: int | None = None) -> None:
        with self.xp.cuda.Device(0 if index is None else index) as d:
            d.synchronize()

    def manual_seed(self, seed: int) -> None:
        for i in range(self._count):
            with self.xp.cuda.Device(i):
                self.xp.random.seed(seed)

    def set_tf32(self, on: bool) -> None:
        # CuPy picks cuBLAS' compute type per dtype; TF32 is its COMPUTE_TYPE_TF32 for float32.
        from cupy._core import _routines_linalg as linalg

        linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if on else linalg.COMPUTE_TYPE_DEFAULT)

    def nccl(self) -> Any:
        if self._nccl is not None:
            return self._nccl
        _preload_nccl_wheel()
        try:
            module = importlib.import_module("cupy.cuda.nccl")  # available=False if libnccl is missing
        except ImportError:
            module = None
        if module is None or not getattr(module, "available", False):
            raise RuntimeError(f"NCCL was asked for, but CuPy cannot load it: {NCCL_HINT}")
        self._nccl = module
        return module

    def nccl_communicator(self, world: int, unique_id: tuple[int, ...], rank: int, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.nccl().NcclCommunicator(world, unique_id, rank)

    def pointer(self, arr: Any) -> int:
        return int(arr.data.ptr)

    def current_stream(self, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.xp.cuda.get_current_stream()

    def new_stream(self, index: int) -> Any:
        with self.xp.cuda.Device(index):
            return self.xp.cuda.Stream(non_blocking=True)


def _preload_nccl_wheel() -> None:
    """Load ``libnccl.so.2`` from the nvidia-nccl wheel, if one is installed, so that CuPy's NCCL
    module (linked against that name) finds it: CuPy looks in its own folders only."""
    import ctypes
    import importlib.util
    import os

    for package in ("nvidia.nccl", "nvidia.cu13"):  # the CUDA 12 and CUDA 13 wheel layouts
        try:
            spec = importlib.util.find_spec(package)
        except ImportError:
            spec = None
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            path = os.path.join(folder, "lib", "libnccl.so.2")
            if os.path.exists(path):
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return


def _load_cupy() -> Backend:
    """Import CuPy and check that a GPU answers; a clear error says which of the two is missing."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as e:
        raise RuntimeError(
            f"a CUDA device was asked for, but CuPy is not installed ({e}); {INSTALL_HINT}"
        ) from None
    except Exception as e:  # installed but broken (a CUDA library it links to is missing)
        raise RuntimeError(
            f"a CUDA device was asked for, but CuPy could not be imported ({type(e).__name__}: {e}); "
            f"{INSTALL_HINT}"
        ) from None
    try:
        backend = CupyBackend(cupy)
    except Exception as e:  # cupy's CUDARuntimeError when there is no driver or no GPU
        raise RuntimeError(
            f"a CUDA device was asked for, but no NVIDIA GPU can be used: {e}. "
            "Check `nvidia-smi`, or train on the CPU with device 'cpu'"
        ) from None
    if backend.device_count() == 0:
        raise RuntimeError(
            "a CUDA device was asked for, but CuPy finds no NVIDIA GPU. Train on the CPU with device 'cpu'"
        )
    return backend


_backends: dict[str, Backend] = {"cpu": NumpyBackend()}
_loaders: dict[str, Callable[[], Backend]] = {"cuda": _load_cupy}
# Array classes of the loaded non-NumPy backends, for the fast checks in the hot path.
_device_array_types: tuple[type, ...] = ()


def register(backend: Backend) -> None:
    """Use ``backend`` for its device type (tests register a stand-in "cuda" backend)."""
    global _device_array_types
    _backends[backend.type] = backend
    _device_array_types = tuple(b.array_type for t, b in _backends.items() if t != "cpu")


def unregister(device_type: str) -> None:
    """Forget the backend of ``device_type`` (it is loaded again on next use)."""
    if device_type == "cpu":
        raise ValueError("the NumPy backend of the CPU cannot be unregistered")
    global _device_array_types
    _backends.pop(device_type, None)
    _device_array_types = tuple(b.array_type for t, b in _backends.items() if t != "cpu")


def backend_for(d: device) -> Backend:
    """The backend of device ``d``, loading it on first use; checks that ``d``'s index exists."""
    b = _backends.get(d.type)
    if b is None:
        register(_loaders[d.type]())
        b = _backends[d.type]
    if d.index is not None and d.index >= b.device_count():
        raise RuntimeError(
            f"device {d} was asked for, but only {b.device_count()} {d.type} device(s) are present "
            f"(valid: {', '.join(f'{d.type}:{i}' for i in range(b.device_count()))})"
        )
    return b


def is_available(device_type: str) -> bool:
    """Whether ``device_type`` can be used here (for "cuda": CuPy installed and a GPU present)."""
    try:
        backend_for(device(device_type))
    except RuntimeError:
        return False
    return True


def loaded(device_type: str) -> Backend | None:
    """The backend of ``device_type`` if it has been loaded, without loading it."""
    return _backends.get(device_type)


def _backend_of(arr: Any) -> Backend:
    if isinstance(arr, _device_array_types):
        for t, b in _backends.items():
            if t != "cpu" and isinstance(arr, b.array_type):
                return b
    return _backends["cpu"]


def is_array(arr: Any) -> bool:
    """Whether ``arr`` is an array of a loaded backend (an ndarray, or a GPU array)."""
    return isinstance(arr, np.ndarray) or isinstance(arr, _device_array_types)


def get_array_module(*arrays: Any) -> ModuleType:
    """The array module of ``arrays``: ``numpy`` for host arrays (and numbers), ``cupy`` for GPU ones.

    >>> import numpy as np
    >>> get_array_module(np.zeros(2), 1.0) is np
    True
    """
    for a in arrays:
        if isinstance(a, _device_array_types):
            return _backend_of(a).xp
    return np


def device_of(arr: Any) -> device:
    """The device ``arr`` lives on."""
    if type(arr) is np.ndarray or not isinstance(arr, _device_array_types):
        return CPU
    b = _backend_of(arr)
    return device(b.type, b.device_index(arr))


def to_device(arr: Any, d: device) -> Any:
    """``arr`` on device ``d``: itself if it is there already, else a copy."""
    src = device_of(arr)
    if src == d or (d.index is None and src.type == d.type and src.type != "cpu"):
        return arr
    if d.type == "cpu":
        return _backend_of(arr).to_host(arr)
    target = backend_for(d)
    index = 0 if d.index is None else d.index
    if src.type == d.type:
        return target.to_index(arr, index)
    host = arr if src.type == "cpu" else _backend_of(arr).to_host(arr)
    return target.from_host(np.asarray(host), index)


def full(shape: tuple[int, ...], value: Any, dtype: np.dtype, d: device) -> Any:
    """An array of ``shape`` filled with ``value``, made on device ``d``."""
    b = _backends["cpu"] if d.type == "cpu" else backend_for(d)
    return b.full(shape, value, dtype, 0 if d.index is None else d.index)


def as_strided(arr: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    """A view of ``arr`` with the given shape and byte strides, no copy (im2col's windows).

    Read-only on the CPU (NumPy's ``writeable=False``), so a write through overlapping windows
    cannot happen by mistake; CuPy's views have no such flag.
    """
    if isinstance(arr, np.ndarray):
        return np.lib.stride_tricks.as_strided(arr, shape, strides, writeable=False)
    return _backend_of(arr).as_strided(arr, shape, strides)


def contiguous(arr: Any) -> Any:
    """``arr`` itself if it is C-contiguous, else a C-contiguous copy (``np.ascontiguousarray``,
    which NumPy does not hand over to CuPy; unlike it, a 0-d array stays 0-d)."""
    return arr if arr.flags.c_contiguous else arr.copy()


def to_host(arr: Any) -> np.ndarray:
    """A NumPy array of ``arr``'s values (itself if it is already one)."""
    if isinstance(arr, _device_array_types):
        return _backend_of(arr).to_host(arr)
    return np.asarray(arr)


def like(arr: Any, values: Any) -> Any:
    """``values`` (an array or a number) on ``arr``'s device; a number stays a number on the CPU.

    A single host number goes to a GPU as a fill of a 0-d array there, not as a copy from the
    host, which would make the CPU wait for the GPU (``x * 0.5`` on a GPU tensor stays asynchronous).
    """
    if type(arr) is type(values):
        return values
    if isinstance(values, _device_array_types):
        return to_device(values, device_of(arr))
    if isinstance(arr, _device_array_types):
        host = values if isinstance(values, np.ndarray) else np.asarray(values)
        if host.ndim == 0:
            return full((), host.item(), host.dtype, device_of(arr))
        return to_device(host, device_of(arr))
    return values


_tf32: bool | None = None  # the TF32 mode last given to the GPU's matrix products


def matmul_precision(arr: Any, conv: bool = False) -> None:
    """Before a float32 matrix product on a GPU array: use TF32 as PyTorch's switches say,
    ``backends.cudnn.allow_tf32`` for a convolution's product, else ``backends.cuda.matmul.allow_tf32``.
    Nothing to do on the CPU.
    """
    global _tf32
    if type(arr) is np.ndarray or not isinstance(arr, _device_array_types):
        return
    from shendu import backends

    on = backends.cudnn.allow_tf32 if conv else backends.cuda.matmul.allow_tf32
    if on is not _tf32:
        _backend_of(arr).set_tf32(bool(on))
        _tf32 = bool(on)
