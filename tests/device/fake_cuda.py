"""A stand-in "cuda" backend built on NumPy, strict the way CuPy is, for machines without a GPU.

``FakeArray`` wraps an ndarray and behaves like a ``cupy.ndarray`` where it matters for shendu:
NumPy functions and ufuncs called on it dispatch to it (NEP 13/18) and return FakeArrays;
mixing it with a NumPy array raises TypeError, and converting it to NumPy implicitly
(``np.asarray``) raises, as CuPy does. So code that builds a host array where it should build a
device one (``np.zeros(shape)`` beside GPU data) fails here as it would on a GPU, while the
numbers stay NumPy's: a run on this fake device must equal the CPU run exactly.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from shendu import backend


class _Device:
    id = 0


def _unwrap(x: Any, strict: bool) -> Any:
    """FakeArrays (inside lists/tuples/dicts too) as their ndarrays; a bare ndarray is CuPy's TypeError."""
    if isinstance(x, FakeArray):
        return x._a
    if strict and isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)} (a NumPy array mixed with a (fake) CuPy array)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, strict) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, strict) for k, v in x.items()}
    return x


def _wrap(x: Any) -> Any:
    """Array results as FakeArrays (a NumPy scalar becomes a 0-d one, as CuPy never returns scalars)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return FakeArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class FakeArray:
    """A NumPy array posing as a GPU array (see the module docstring)."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a: np.ndarray) -> None:
        assert isinstance(a, np.ndarray) and not isinstance(a, FakeArray)
        self._a = a

    # -- what CuPy forbids -------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    def get(self) -> np.ndarray:
        return self._a.copy()

    # -- NumPy's dispatch protocols -------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method not in ("__call__", "reduce", "accumulate"):
            return NotImplemented  # as CuPy's dispatch: ufunc.at / outer are not handed over
        args = _unwrap(inputs, strict=True)
        kw = _unwrap(kwargs, strict=True)
        out = kwargs.get("out")
        result = getattr(ufunc, method)(*args, **kw)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        return _wrap(func(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))

    # -- attributes and methods of an ndarray ------------------------------------------------
    @property
    def device(self) -> _Device:
        return _Device()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__ & co: NumPy must not read the memory
            raise AttributeError(name)
        value = getattr(self._a, name)
        if not callable(value):
            return _wrap(value)

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(value(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))

        return method

    @property
    def data(self) -> Any:
        """CuPy's ``MemoryPointer`` of the first element: ``.ptr`` is its address (here in host memory)."""
        import types

        return types.SimpleNamespace(ptr=self._a.ctypes.data)

    @property
    def T(self) -> FakeArray:
        return FakeArray(self._a.T)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._a.shape

    @shape.setter
    def shape(self, value: tuple[int, ...]) -> None:
        self._a.shape = value

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    def __getitem__(self, idx: Any) -> Any:
        return _wrap(self._a[_unwrap(idx, strict=False)])

    def __setitem__(self, idx: Any, value: Any) -> None:
        self._a[_unwrap(idx, strict=False)] = _unwrap(value, strict=True)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (_wrap(v) for v in self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __index__(self) -> int:
        return operator.index(self._a)

    def __repr__(self) -> str:
        return "fake_cuda_" + repr(self._a)

    def __neg__(self) -> Any:
        return np.negative(self)

    def __pos__(self) -> Any:
        return np.positive(self)

    def __abs__(self) -> Any:
        return np.absolute(self)

    def __invert__(self) -> Any:
        return np.invert(self)

    __hash__ = None  # type: ignore[assignment]


def _binary(ufunc: np.ufunc) -> tuple:
    def forward(self: FakeArray, other: Any) -> Any:
        return ufunc(self, other)

    def reflected(self: FakeArray, other: Any) -> Any:
        return ufunc(other, self)

    def inplace(self: FakeArray, other: Any) -> Any:
        return ufunc(self, other, out=(self,))

    return forward, reflected, inplace


for _name, _ufunc in [
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
    ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
    ("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor),
]:  # fmt: skip
    _f, _r, _i = _binary(_ufunc)
    setattr(FakeArray, f"__{_name}__", _f)
    setattr(FakeArray, f"__r{_name}__", _r)
    setattr(FakeArray, f"__i{_name}__", _i)
for _name, _ufunc in [
    ("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
    ("eq", np.equal), ("ne", np.not_equal),
]:  # fmt: skip
    setattr(FakeArray, f"__{_name}__", _binary(_ufunc)[0])


class _Ufunc:
    """``xp.add`` and friends: callable, with ``.at`` (CuPy has it) and ``.reduce``."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._u = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._u(*args, **kwargs)  # FakeArray arguments dispatch through __array_ufunc__

    def at(self, a: FakeArray, indices: Any, b: Any = None) -> None:
        self._u.at(a._a, _unwrap(indices, strict=False), _unwrap(b, strict=True))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._u, name)


class _FakeCupy:
    """The module ``xp`` of the fake device: NumPy's functions, making and taking FakeArrays."""

    ndarray = FakeArray

    def asarray(self, a: Any, dtype: Any = None) -> FakeArray:
        if isinstance(a, FakeArray):
            return a if dtype is None else FakeArray(a._a.astype(dtype, copy=False))
        return FakeArray(np.array(a, dtype=dtype, copy=True))

    def array(self, a: Any, dtype: Any = None, copy: bool = True) -> FakeArray:
        return FakeArray(np.array(_unwrap(a, strict=False), dtype=dtype, copy=True))

    def asnumpy(self, a: Any) -> np.ndarray:
        return a.get() if isinstance(a, FakeArray) else np.asarray(a)

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if isinstance(value, np.ufunc):
            return _Ufunc(value)
        if not callable(value) or isinstance(value, type):
            return value

        def function(*args: Any, **kwargs: Any) -> Any:
            return _wrap(value(*_unwrap(args, strict=False), **_unwrap(kwargs, strict=False)))

        return function


class FakeCudaBackend(backend.Backend):
    """Registered as "cuda" by the ``fake_cuda`` fixture."""

    type = "cuda"
    xp = _FakeCupy()  # type: ignore[assignment]
    array_type = FakeArray

    def device_index(self, arr: Any) -> int:
        return 0

    def from_host(self, arr: np.ndarray, index: int) -> FakeArray:
        return FakeArray(np.array(arr, copy=True))

    def to_host(self, arr: Any) -> np.ndarray:
        return arr.get()

    def full(self, shape: tuple[int, ...], value: Any, dtype: np.dtype, index: int) -> FakeArray:
        return FakeArray(np.full(shape, value, dtype=dtype))

    def device_name(self, index: int) -> str:
        return "Fake GPU (NumPy)"

    def as_strided(self, arr: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> FakeArray:
        return FakeArray(np.lib.stride_tricks.as_strided(arr._a, shape, strides, writeable=False))

    # NCCL: tests/device/fake_nccl.py, sums by MPI in the host memory the fake arrays live in
    streams = 0

    def nccl(self) -> Any:
        from tests.device import fake_nccl

        return fake_nccl

    def nccl_communicator(self, world: int, unique_id: tuple[int, ...], rank: int, index: int) -> Any:
        return self.nccl().NcclCommunicator(world, unique_id, rank)

    def pointer(self, arr: Any) -> int:
        return arr.data.ptr

    def current_stream(self, index: int) -> Any:
        return self.nccl().Stream(0)  # CUDA's default stream is the null pointer

    def new_stream(self, index: int) -> Any:
        FakeCudaBackend.streams += 1
        return self.nccl().Stream(FakeCudaBackend.streams)


# ---- a stand-in ``cupy`` module, to run shendu.backend.CupyBackend itself --------------------------


class _CudaDevice:
    """``cupy.cuda.Device(i)``: a context manager that selects GPU i."""

    def __init__(self, index: int = 0) -> None:
        self.id = index
        self.synchronized = 0

    def __enter__(self) -> _CudaDevice:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def synchronize(self) -> None:
        self.synchronized += 1


class FakeCupyModule(_FakeCupy):
    """What shendu reads of the ``cupy`` module: ``cuda.Device``, ``cuda.runtime``, ``random.seed``,
    ``lib.stride_tricks.as_strided``, and (for TF32) ``cupy._core._routines_linalg``."""

    def __init__(self, count: int = 1) -> None:
        import types

        self.seeds: list[int] = []
        self.compute_types: list[tuple[Any, int]] = []
        runtime = types.SimpleNamespace(
            getDeviceCount=lambda: count, getDeviceProperties=lambda i: {"name": b"Fake GPU"}
        )
        self.nccl = types.SimpleNamespace(available=True)
        self.nccl.NcclCommunicator = lambda *args: types.SimpleNamespace(args=args)
        self.default_stream = types.SimpleNamespace(ptr=0)
        self.cuda = types.SimpleNamespace(
            Device=_CudaDevice,
            runtime=runtime,
            nccl=self.nccl,
            get_current_stream=lambda: self.default_stream,
            Stream=lambda non_blocking=False: types.SimpleNamespace(ptr=1, non_blocking=non_blocking),
        )
        self.random = types.SimpleNamespace(seed=self.seeds.append)
        strided = types.SimpleNamespace(
            as_strided=lambda x, shape, strides: FakeArray(
                np.lib.stride_tricks.as_strided(x._a, shape, strides)
            )
        )
        self.lib = types.SimpleNamespace(stride_tricks=strided)
        self.linalg = types.SimpleNamespace(
            COMPUTE_TYPE_DEFAULT=0,
            COMPUTE_TYPE_TF32=3,
            set_compute_type=lambda dtype, mode: self.compute_types.append((np.dtype(dtype), mode)),
        )

    def modules(self) -> dict[str, Any]:
        """Entries for ``sys.modules`` under which ``import cupy`` finds this stand-in."""
        import types

        core = types.SimpleNamespace(_routines_linalg=self.linalg)
        return {
            "cupy": self,
            "cupy._core": core,
            "cupy._core._routines_linalg": self.linalg,
            "cupy.cuda": self.cuda,
            "cupy.cuda.nccl": self.nccl,
        }
