"""shendu.autograd.grad, inference_mode and detect_anomaly, against PyTorch."""

import numpy as np
import pytest
import torch

import shendu
from shendu import autograd


def _pair(values):
    return (
        shendu.tensor(np.array(values, dtype=np.float64), requires_grad=True),
        torch.tensor(np.array(values, dtype=np.float64), requires_grad=True),
    )


def test_grad_matches_torch_and_leaves_dot_grad_alone():
    (x, tx), (w, tw) = _pair([0.5, -1.0, 2.0]), _pair([1.5, 0.25, -0.5])
    h, th = x * w, tx * tw
    out1, tout1 = (h * h.sigmoid()).sum(), (th * th.sigmoid()).sum()
    out2, tout2 = (h - h.mean()).exp(), (th - th.mean()).exp()
    v = np.array([1.0, -2.0, 0.5])
    got = autograd.grad([out1, out2], [x, h, w], grad_outputs=[None, v])
    want = torch.autograd.grad([tout1, tout2], [tx, th, tw], grad_outputs=[None, torch.tensor(v)])
    for g, t in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None
    with pytest.raises(RuntimeError, match="second time"):
        out1.backward()  # freed, as torch without retain_graph


def test_grad_retain_graph_and_errors():
    (x, _), (y, _) = _pair([1.0, 2.0]), _pair([3.0])
    out = (x * x).sum()
    (g1,) = autograd.grad(out, x, retain_graph=True)
    (g2,) = autograd.grad(out, [x])
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = autograd.grad(out, [x, y], allow_unused=True, retain_graph=True)
    assert gy is None and gx.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(out, shendu.ones(2))
    with pytest.raises(RuntimeError, match="scalar outputs"):
        autograd.grad(x * 2, x)
    with pytest.raises(NotImplementedError, match="create_graph"):
        autograd.grad(out, x, create_graph=True)
    (gl,) = autograd.grad(x, x, grad_outputs=shendu.ones(2))  # an output that is the input itself
    assert gl.tolist() == [1.0, 1.0]


def test_backward_and_grad_agree_on_a_reused_graph():
    (a, ta), (b, tb) = _pair([2.0]), _pair([-3.0])

    def f(lib_a, lib_b):
        c = lib_a + lib_b
        d = lib_a * lib_b + lib_b**3
        c = c + c + 1
        c = c + 1 + c + (-lib_a)
        d = d + d * 2 + (lib_b + lib_a).relu()
        return c + d

    ga = autograd.grad(f(a, b), [a, b])
    f(ta, tb).backward()
    np.testing.assert_allclose([g.item() for g in ga], [ta.grad.item(), tb.grad.item()])


def test_inference_mode_as_context_and_decorator():
    w = shendu.ones(2, requires_grad=True)
    with shendu.inference_mode():
        assert not shendu.is_grad_enabled()
        y = w * 2
    assert not y.requires_grad and shendu.is_grad_enabled()

    @shendu.inference_mode()
    def f(t):
        return t * 2

    @shendu.inference_mode
    def g(t):
        return t * 3

    assert not f(w).requires_grad and not g(w).requires_grad
    with shendu.inference_mode(False):
        assert (w * 2).requires_grad
    assert shendu.is_grad_enabled()


def test_detect_anomaly_names_the_op():
    x = shendu.tensor([0.0, 1.0], requires_grad=True)
    with autograd.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()  # the forward line named in the message
        with pytest.raises(RuntimeError, match=r"(?s)'SqrtBackward' returned inf values.*y = x.sqrt\(\)"):
            y.sum().backward()
    z = shendu.tensor([0.0], requires_grad=True)
    with autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        out = (z * shendu.tensor([np.inf])).sum()
        with pytest.raises(RuntimeError, match="'MulBackward' returned inf values in its 0th output"):
            out.backward()
    x.grad = None
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()  # off again: no check, inf gradient as torch gives it
    assert np.isinf(x.grad.numpy()[0])
    assert not autograd.is_anomaly_enabled()
