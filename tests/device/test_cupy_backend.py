"""shendu.backend.CupyBackend and the TF32 switches, run against a stand-in ``cupy`` module
(tests/device/fake_cuda.py): the code that talks to CuPy runs on machines without a GPU too."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import shendu
import shendu.nn.functional as F
from shendu import backend, nn
from tests.device.fake_cuda import FakeArray, FakeCupyModule


@pytest.fixture
def cupy(monkeypatch):
    fake = FakeCupyModule()
    for name, module in fake.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    previous = backend.loaded("cuda")
    backend.unregister("cuda")
    monkeypatch.setattr(backend, "_tf32", None)
    yield fake
    backend.unregister("cuda")
    if previous is not None:
        backend.register(previous)


def test_cupy_is_loaded_on_first_use(cupy):
    assert backend.loaded("cuda") is None
    x = shendu.ones(3).cuda()
    assert isinstance(backend.loaded("cuda"), backend.CupyBackend)
    assert isinstance(x._data, FakeArray) and x.device == shendu.device("cuda", 0)
    assert x.cpu().tolist() == [1.0, 1.0, 1.0]
    assert shendu.cuda.is_available() and shendu.cuda.device_count() == 1
    assert shendu.cuda.get_device_name() == "Fake GPU" and shendu.cuda.current_device() == 0
    shendu.cuda.synchronize()
    shendu.cuda.manual_seed_all(7)
    assert cupy.seeds == [7]


def test_zeros_and_strided_windows_are_made_on_the_device(cupy):
    z = shendu.zeros(2, 3, device="cuda:0")
    assert isinstance(z._data, FakeArray)
    y = F.conv2d(shendu.randn(1, 2, 5, 5, device="cuda"), shendu.randn(3, 2, 3, 3, device="cuda"))
    assert isinstance(y._data, FakeArray) and y.shape == (1, 3, 3, 3)


def test_tf32_follows_torchs_switches_per_product(cupy):
    """Convolutions' products follow backends.cudnn.allow_tf32 (default on), the others
    backends.cuda.matmul.allow_tf32 (default off); the mode is only set when it changes."""
    tf32, full = cupy.linalg.COMPUTE_TYPE_TF32, cupy.linalg.COMPUTE_TYPE_DEFAULT
    conv, lin = nn.Conv2d(2, 3, 3).cuda(), nn.Linear(4, 2).cuda()
    x = shendu.randn(1, 2, 5, 5, device="cuda")
    conv(x)
    conv(x)
    lin(shendu.randn(3, 4, device="cuda"))
    assert [m for _, m in cupy.compute_types] == [tf32, full]
    assert all(d == np.float32 for d, _ in cupy.compute_types)
    shendu.backends.cuda.matmul.allow_tf32 = True
    try:
        lin(shendu.randn(3, 4, device="cuda"))
    finally:
        shendu.backends.cuda.matmul.allow_tf32 = False
    assert [m for _, m in cupy.compute_types] == [tf32, full, tf32]


def test_cpu_matmul_never_touches_the_gpu_switches(cupy):
    nn.Linear(4, 2)(shendu.randn(3, 4))
    assert cupy.compute_types == [] and backend.loaded("cuda") is None


def test_a_missing_gpu_index_is_named(cupy):
    with pytest.raises(RuntimeError, match=r"cuda:1 was asked for, but only 1 cuda device\(s\) are present"):
        shendu.ones(1).to("cuda:1")


def test_no_gpu_behind_cupy(monkeypatch):
    fake = FakeCupyModule(count=0)
    for name, module in fake.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    previous = backend.loaded("cuda")
    backend.unregister("cuda")
    try:
        assert not shendu.cuda.is_available() and shendu.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match="CuPy finds no NVIDIA GPU"):
            shendu.ones(1).cuda()
    finally:
        if previous is not None:
            backend.register(previous)


def test_nccl_comes_from_cupy_with_the_arrays_address_and_streams(cupy):
    """What shendu.distributed's NCCL backend asks of CuPy; a clear error when CuPy has no NCCL."""
    gpu = backend.backend_for(shendu.device("cuda"))
    cupy.nccl.available = False  # cupy-cuda12x without the nvidia-nccl-cu12 wheel
    with pytest.raises(RuntimeError, match="CuPy cannot load it: .*pip install nvidia-nccl-cu12"):
        gpu.nccl()
    cupy.nccl.available = True  # the wheel installed: found from then on (and looked up once)
    assert gpu.nccl() is cupy.nccl and gpu.nccl() is cupy.nccl
    uid = tuple(range(128))
    assert gpu.nccl_communicator(2, uid, 1, 0).args == (2, uid, 1)
    x = shendu.arange(6.0).cuda()._data[2:]
    assert gpu.pointer(x) == x._a.ctypes.data == x._a.base.ctypes.data + 2 * 4  # the first element's
    assert gpu.current_stream(0) is cupy.default_stream
    side = gpu.new_stream(0)
    assert side.non_blocking and side.ptr != cupy.default_stream.ptr
