"""One helper checks an op against PyTorch and numerical gradients (tinygrad's pattern).

``check_op(shendu_fn, torch_fn, shapes)`` draws float64 inputs, runs both libraries forward
and backward with the same upstream gradient, compares values and gradients, and runs
``gradcheck`` on the shendu side. Tests import torch only through this module or directly:
never from ``shendu``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

import shendu
from shendu.autograd import gradcheck


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
    assert_close(s_out.data, t_out, rtol, atol, "forward")
    if not any(needs):
        return
    gy = np.random.default_rng(1).standard_normal(s_out.shape).astype(s_out.dtype)
    s_out.backward(gy.copy())
    t_out.backward(to_torch(gy))
    for i, (s, t) in enumerate(zip(s_in, t_in, strict=True)):
        if not s.requires_grad:
            continue
        tg = t.grad if t.grad is not None else torch.zeros_like(t)
        sg = s.grad.data if s.grad is not None else np.zeros(s.shape, s.dtype)
        assert sg.dtype == s.dtype, f"grad of input {i} has dtype {sg.dtype}, input {s.dtype}"
        assert_close(sg, tg, rtol, atol, f"grad of input {i}")
    if numerical and all(np.asarray(a).dtype != np.float32 for a, n in zip(arrays, needs, strict=True) if n):
        fresh = [shendu.tensor(np.array(a), requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
        gradcheck(shendu_fn, *fresh, atol=gradcheck_atol, rtol=gradcheck_rtol)
