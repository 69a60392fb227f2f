"""PyTorch's device API on the CPU, and the errors for "cuda" on a machine without CuPy or a GPU."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import shendu
from shendu import backend, nn


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without CuPy, whatever this one has."""

    def missing():
        raise RuntimeError(f"a CUDA device was asked for, but CuPy is not installed; {backend.INSTALL_HINT}")

    previous = backend.loaded("cuda")
    backend.unregister("cuda")
    monkeypatch.setitem(backend._loaders, "cuda", missing)
    yield
    if previous is not None:
        backend.register(previous)


# ---- shendu.device ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:0", "cuda:3", ("cuda", 1)])
def test_device_matches_torch(spec):
    args = spec if isinstance(spec, tuple) else (spec,)
    d, t = shendu.device(*args), torch.device(*args)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))


def test_a_bare_number_is_a_gpu():
    assert repr(shendu.device(2)) == "device(type='cuda', index=2)"  # torch.device(2), with a GPU


def test_device_equality_and_hash():
    assert shendu.device("cuda:0") == shendu.device("cuda", 0)
    assert shendu.device("cuda") != shendu.device("cuda:0")  # as torch: no index is not index 0
    assert shendu.device("cpu") != "cpu"  # as torch: a device never equals a string
    assert len({shendu.device("cpu"), shendu.device("cpu"), shendu.device("cuda:1")}) == 2
    assert shendu.device(shendu.device("cuda:1")) == shendu.device("cuda:1")


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "cuda:x", "cuda:-1", "cuda:0:1", "cuda:01"])
def test_bad_device_strings_raise_like_torch(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError, match="device"):
        shendu.device(bad)


def test_torch_only_device_types_are_named():
    with pytest.raises(RuntimeError, match="mps.*cpu and cuda only"):
        shendu.device("mps")
    with pytest.raises(TypeError):
        shendu.device(1.5)


# ---- Tensor.device / to / cpu ------------------------------------------------------------------


def test_tensor_device_on_cpu():
    x = shendu.ones(2)
    assert x.device == shendu.device("cpu") and not x.is_cuda and x.get_device() == -1
    assert x.cpu() is x and x.to("cpu") is x and x.to(shendu.device("cpu")) is x


def test_to_call_forms_match_torch():
    s, t = shendu.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    forms = [
        ((), {"dtype": "float64"}),
        (("cpu",), {}),
        (("cpu", "float64"), {}),
        ((None, "int64"), {}),
        (("float64",), {"copy": True}),
        (("cpu",), {"dtype": "float64", "non_blocking": True}),
        (("float32", False, True), {}),
    ]
    for args, kwargs in forms:
        s_args = tuple(shendu.device(a) if a == "cpu" else a for a in args)
        t_args = tuple(getattr(torch, a) if a in ("float64", "float32", "int64") else a for a in args)
        t_kwargs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        sy, ty = s.to(*s_args, **kwargs), t.to(*t_args, **t_kwargs)
        assert str(sy.dtype) == str(ty.dtype).replace("torch.", "")
        assert (sy is s) == (ty is t), (args, kwargs)
        np.testing.assert_array_equal(sy.numpy(), ty.numpy())


def test_to_other_tensor_takes_its_dtype_and_device():
    x, other = shendu.ones(2), shendu.zeros(3, dtype=shendu.float64)
    assert x.to(other).dtype == np.float64 and x.to(x) is x


def test_to_copy_makes_a_new_tensor():
    x = shendu.ones(2)
    y = x.to("cpu", copy=True)
    y.add_(1)
    assert x.tolist() == [1.0, 1.0] and y.tolist() == [2.0, 2.0]


def test_to_is_differentiable_across_dtypes():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    (x.to("cpu", shendu.float64) * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_to_rejects_bad_arguments_as_torch():
    x = shendu.ones(1)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        x.to("cpu", shendu.float64, shendu.float32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'devices'"):
        x.to(devices="cpu")
    with pytest.raises(TypeError, match="invalid combination"):
        x.to(object())


# ---- creation functions with device= ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda d: shendu.zeros(2, 3, device=d),
        lambda d: shendu.ones(2, device=d),
        lambda d: shendu.full((2,), 1.5, device=d),
        lambda d: shendu.arange(4, device=d),
        lambda d: shendu.linspace(0, 1, 5, device=d),
        lambda d: shendu.eye(3, device=d),
        lambda d: shendu.rand(2, device=d),
        lambda d: shendu.randn(2, device=d),
        lambda d: shendu.randint(0, 5, (3,), device=d),
        lambda d: shendu.randperm(4, device=d),
        lambda d: shendu.tensor([1, 2], device=d),
        lambda d: shendu.as_tensor([1.0], device=d),
        lambda d: shendu.zeros_like(shendu.ones(2), device=d),
        lambda d: shendu.ones_like(shendu.ones(2), device=d),
    ],
)
def test_creation_functions_take_device(make):
    for d in ("cpu", shendu.device("cpu")):
        assert make(d).device == shendu.device("cpu")


def test_random_draws_follow_the_seed_whatever_the_device_argument():
    shendu.manual_seed(3)
    a = shendu.randn(4, device="cpu")
    shendu.manual_seed(3)
    b = shendu.randn(4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- Module.to --------------------------------------------------------------------------------------


def test_module_to_moves_in_place_and_keeps_parameters():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    params = list(net.parameters())
    net(shendu.randn(4, 3)).sum().backward()
    assert net.to("cpu") is net and net.cpu() is net and net.to(shendu.device("cpu")) is net
    assert list(net.parameters()) == params
    net.to("cpu", shendu.float64)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    net.to(shendu.zeros(1))  # a tensor's dtype and device
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_module_to_integer_dtype_is_torchs_error():
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        nn.Linear(2, 2).to(shendu.int64)


# ---- cuda without CuPy --------------------------------------------------------------------------------


def test_cuda_queries_without_cupy(no_cuda):
    assert shendu.cuda.is_available() is False and shendu.cuda.device_count() == 0
    shendu.cuda.manual_seed_all(0)  # does nothing, as torch without a GPU
    shendu.cuda.manual_seed(0)
    for call in (shendu.cuda.synchronize, shendu.cuda.current_device, shendu.cuda.get_device_name):
        with pytest.raises(RuntimeError, match=r'pip install "shendu\[cuda\]"'):
            call()


@pytest.mark.parametrize(
    "move",
    [
        lambda: shendu.ones(2).to("cuda"),
        lambda: shendu.ones(2).cuda(),
        lambda: shendu.ones(2).to(shendu.device("cuda:0"), shendu.float64),
        lambda: shendu.zeros(2, device="cuda"),
        lambda: shendu.randn(2, device="cuda"),
        lambda: shendu.tensor([1.0], device="cuda"),
        lambda: nn.Linear(2, 2).cuda(),
        lambda: nn.Linear(2, 2).to("cuda"),
    ],
)
def test_asking_for_cuda_without_cupy_says_how_to_install(no_cuda, move):
    with pytest.raises(RuntimeError, match=r'CuPy is not installed.*pip install "shendu\[cuda\]"'):
        move()


def test_cuda_of_a_cpu_device_is_an_error():
    with pytest.raises(ValueError, match="expected a CUDA device"):
        shendu.ones(1).cuda("cpu")


def test_no_gpu_error_names_the_gpu(monkeypatch):
    """CuPy installed but no GPU (no driver): the error says so, not that CuPy is missing."""

    class NoDriver:
        class cuda:  # noqa: N801
            class runtime:  # noqa: N801
                @staticmethod
                def getDeviceCount():
                    raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

        ndarray = type("ndarray", (), {})

    previous = backend.loaded("cuda")
    backend.unregister("cuda")
    monkeypatch.setattr(backend.importlib, "import_module", lambda name: NoDriver)
    try:
        assert shendu.cuda.is_available() is False
        with pytest.raises(RuntimeError, match="no NVIDIA GPU can be used.*no CUDA-capable device"):
            shendu.ones(1).cuda()
    finally:
        if previous is not None:
            backend.register(previous)


def test_import_shendu_does_not_import_cupy():
    code = "import sys, shendu, shendu.nn; shendu.ones(1).cpu(); print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- backends switches, load(map_location) ---------------------------------------------------------------


def test_tf32_switches_have_torchs_defaults():
    assert shendu.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32 is False
    assert shendu.backends.cudnn.allow_tf32 is torch.backends.cudnn.allow_tf32 is True
    assert shendu.backends.cudnn.benchmark is False


def test_load_map_location_gives_tensors_on_that_device(tmp_path):
    net = nn.Linear(3, 2)
    path = tmp_path / "w.safetensors"
    shendu.save(net.state_dict(), path)
    for loc in ("cpu", shendu.device("cpu"), {"cuda:0": "cpu"}):
        state = shendu.load(path, map_location=loc)
        assert all(isinstance(v, shendu.Tensor) and v.device == shendu.device("cpu") for v in state.values())
        np.testing.assert_array_equal(state["weight"].numpy(), net.weight.numpy())
    assert shendu.load(path)["weight"].device == shendu.device("cpu")  # no map_location: the CPU
    with pytest.raises(TypeError, match="map_location must be a device"):
        shendu.load(path, map_location=lambda storage, loc: storage)
