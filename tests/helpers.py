"""One helper checks an op against PyTorch and numerical gradients (tinygrad's pattern).

``check_op(shendu_fn, torch_fn, shapes)`` draws float64 inputs, runs both libraries forward
and backward with the same upstream gradient, compares values and gradients, and runs
``gradcheck`` on the shendu side. Tests import torch only through this module or directly:
never from ``shendu``.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np
import torch

import shendu
from shendu.autograd import gradcheck


# SHENDU_TEST_DEVICE=cuda (a GPU) or fake-cuda (tests/device/fake_cuda.py): every check_op also runs
# the op on that device and compares with the CPU's values and gradients.
DEVICE = {"cuda": "cuda", "fake-cuda": "cuda"}.get(os.environ.get("SHENDU_TEST_DEVICE", ""), "")


def check_on_device(shendu_fn, arrays, needs, s_out, s_in, gy) -> None:
    """The op on ``DEVICE`` gives the CPU's output and gradients (float32 tolerance for float32)."""
    d_in = [
        shendu.tensor(np.array(a), requires_grad=n, device=DEVICE) for a, n in zip(arrays, needs, strict=True)
    ]
    d_out = shendu_fn(*d_in)
    assert d_out.device.type == "cuda", f"output on {d_out.device}, inputs on {DEVICE}"
    f32 = s_out.dtype != np.float64
    rtol, atol = (2e-4, 1e-5) if f32 else (1e-7, 1e-9)
    assert d_out.dtype == s_out.dtype
    assert_close(d_out.cpu().detach().numpy(), s_out.detach().numpy(), rtol, atol, f"forward on {DEVICE}")
    if gy is None:
        return
    d_out.backward(shendu.tensor(gy, device=DEVICE))
    for i, (s, d) in enumerate(zip(s_in, d_in, strict=True)):
        if s.requires_grad and s.grad is not None:
            assert d.grad is not None and d.grad.device.type == "cuda", f"grad of input {i} on {DEVICE}"
            assert_close(
                d.grad.cpu().detach().numpy(), s.grad.numpy(), rtol, atol, f"grad of input {i} on {DEVICE}"
            )


def to_torch(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, copy=True))
    return t.requires_grad_(requires_grad) if requires_grad else t


def assert_close(actual, expected, rtol: float = 1e-6, atol: float = 1e-8, what: str = "") -> None:
    a = actual.detach().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def check_op(
    shendu_fn: Callable,
    torch_fn: Callable,
    arrays: Sequence[np.ndarray],
    rtol: float = 1e-6,
    atol: float = 1e-8,
    grad: bool = True,
    numerical: bool = True,
    gradcheck_atol: float = 1e-5,
    gradcheck_rtol: float = 1e-3,
) -> None:
    """Forward and backward of ``shendu_fn(*tensors)`` equal ``torch_fn(*tensors)``.

    Float inputs require grad; integer inputs (labels, indices) do not.
    """
    needs = [np.issubdtype(np.asarray(a).dtype, np.floating) and grad for a in arrays]
    s_in = [shendu.tensor(np.array(a), requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    t_in = [to_torch(a, n) for a, n in zip(arrays, needs, strict=True)]
    s_out = shendu_fn(*s_in)
    t_out = torch_fn(*t_in)
    assert s_out.dtype == np.dtype(str(t_out.dtype).replace("torch.", "")), (
        f"dtype {s_out.dtype} != torch's {t_out.dtype}"
    )
    assert_close(s_out.detach().numpy(), t_out, rtol, atol, "forward")
    if not any(needs):
        if DEVICE:
            check_on_device(shendu_fn, arrays, needs, s_out, s_in, None)
        return
    gy = np.random.default_rng(1).standard_normal(s_out.shape).astype(s_out.dtype)
    s_out.backward(gy.copy())
    t_out.backward(to_torch(gy))
    for i, (s, t) in enumerate(zip(s_in, t_in, strict=True)):
        if not s.requires_grad:
            continue
        tg = t.grad if t.grad is not None else torch.zeros_like(t)
        sg = s.grad.numpy() if s.grad is not None else np.zeros(s.shape, s.dtype)
        assert sg.dtype == s.dtype, f"grad of input {i} has dtype {sg.dtype}, input {s.dtype}"
        assert_close(sg, tg, rtol, atol, f"grad of input {i}")
    if DEVICE:
        check_on_device(shendu_fn, arrays, needs, s_out, s_in, gy)
    if numerical and all(np.asarray(a).dtype != np.float32 for a, n in zip(arrays, needs, strict=True) if n):
        fresh = [shendu.tensor(np.array(a), requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
        gradcheck(shendu_fn, *fresh, atol=gradcheck_atol, rtol=gradcheck_rtol)
