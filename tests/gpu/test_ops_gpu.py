"""Every case of tests/device/cases.py on a real GPU (CuPy) gives the CPU's values and gradients
within float32 tolerance; the device API, its errors and TF32 on real CUDA arrays."""

from __future__ import annotations

import numpy as np
import pytest

import shendu
from shendu import nn
from tests.device.cases import CASES, check_case


@pytest.mark.usefixtures("full_float32")
@pytest.mark.parametrize("fn, inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_on_gpu(fn, inputs):
    check_case(fn, inputs, "cuda", rtol=2e-4, atol=2e-5)


def test_tensors_live_in_cupy_arrays():
    import cupy

    x = shendu.randn(3, device="cuda")
    assert isinstance(x._data, cupy.ndarray) and x.device == shendu.device("cuda", 0) and x.is_cuda
    assert shendu.cuda.is_available() and shendu.cuda.device_count() >= 1
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        x.numpy()
    with pytest.raises(RuntimeError, match="same device.*cuda:0 and cpu"):
        x + shendu.ones(3)
    assert (x * shendu.tensor(2.0)).device == x.device  # a 0-d CPU tensor mixes like a number
    shendu.cuda.synchronize()


def test_checkpoint_from_the_gpu_loads_on_the_cpu(tmp_path):
    net = nn.Linear(4, 3).cuda()
    shendu.save(net.state_dict(), tmp_path / "w.safetensors")
    cpu = nn.Linear(4, 3)
    cpu.load_state_dict(shendu.load(tmp_path / "w.safetensors"))
    np.testing.assert_array_equal(cpu.weight.numpy(), net.weight.cpu().numpy())


def test_tf32_switch_changes_float32_matmul_precision():
    """TF32 keeps 10 mantissa bits: with it the product of long rows is ~1e-3 off, without ~1e-6."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((256, 4096)), rng.standard_normal((4096, 256))
    exact = a @ b
    errors = {}
    for tf32 in (False, True):
        shendu.backends.cuda.matmul.allow_tf32 = tf32
        try:
            got = (
                (
                    shendu.tensor(a, dtype=shendu.float32, device="cuda")
                    @ shendu.tensor(b, dtype=shendu.float32, device="cuda")
                )
                .cpu()
                .numpy()
            )
        finally:
            shendu.backends.cuda.matmul.allow_tf32 = False
        errors[tf32] = float(np.abs(got - exact).max() / np.abs(exact).max())
    assert errors[False] < 1e-5 < errors[True], errors
