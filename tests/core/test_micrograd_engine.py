"""The two engine tests of karpathy/micrograd (a scalar autograd engine), in our own words:
expressions that reuse intermediates directly and through longer paths, checked against torch."""

import numpy as np
import torch

import shendu


def _scalar(lib, v):
    return lib.tensor(v, dtype=lib.float64, requires_grad=True)


def _sanity(lib):
    x = _scalar(lib, -4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y, [x]


def _more_ops(lib):
    a, b = _scalar(lib, -4.0), _scalar(lib, 2.0)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g, [a, b]


def _compare(program):
    ys, leaves = program(shendu)
    yt, tleaves = program(torch)
    np.testing.assert_allclose(ys.item(), yt.item(), rtol=1e-12)
    for s, t in zip(leaves, tleaves, strict=True):
        np.testing.assert_allclose(s.grad.item(), t.grad.item(), rtol=1e-12)


def test_sanity_check():
    _compare(_sanity)


def test_more_ops():
    """The expression on which a push-order topological sort gave a.grad 6.94 instead of 138.83."""
    _compare(_more_ops)
    _, (a, _) = _more_ops(shendu)
    np.testing.assert_allclose(a.grad.item(), 138.83381924198252, rtol=1e-12)
