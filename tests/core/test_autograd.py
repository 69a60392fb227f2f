"""Semantics of the backward engine that PyTorch users rely on."""

import gc
import sys
import weakref

from unittest import mock

import numpy as np
import pytest
import torch

import shendu
from shendu import parallel
from shendu.autograd import GradcheckError, gradcheck, numerical_grad


def test_node_used_twice_gets_summed_gradient():
    xs = np.array([0.5, -1.5, 2.0])
    x = shendu.tensor(xs, requires_grad=True)
    y = x * x + x
    z = (y * y).sum()
    z.backward()
    tx = torch.tensor(xs, requires_grad=True)
    ty = tx * tx + tx
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    # and by hand: dz/dx = 2y (2x + 1)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (xs * xs + xs) * (2 * xs + 1), rtol=1e-12)


def test_diamond_graph_reverse_topological_order():
    x = shendu.tensor(np.array(1.5), requires_grad=True)
    a = x * 2
    b = a * a  # b depends on a twice
    c = a + b  # c depends on a directly and through b
    d = c * b
    d.backward()
    tx = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    ta = tx * 2
    tb = ta * ta
    ((ta + tb) * tb).backward()
    assert x.grad.item() == pytest.approx(tx.grad.item(), rel=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_retain_graph_allows_second_backward_and_accumulates():
    x = shendu.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 12.0)


def test_second_backward_through_freed_graph_raises():
    x = shendu.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_of_non_scalar_needs_gradient():
    x = shendu.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs, got shape \(2, 3\)"):
        y.backward()
    y.backward(shendu.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_backward_gradient_with_wrong_shape_raises():
    y = shendu.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_on_tensor_without_grad_raises():
    y = shendu.tensor([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating-point.*int64"):
        shendu.tensor([1, 2], requires_grad=True)


def test_backward_never_modifies_incoming_gradient_in_place():
    x = shendu.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    a = x * 2
    y = shendu.stack([a, a * 3, a + 1])  # `a` feeds three consumers
    g = np.arange(9, dtype=np.float64).reshape(3, 3)
    g_copy = g.copy()
    y.backward(g)
    np.testing.assert_array_equal(g, g_copy)
    # and a leaf's .grad is not an alias of the upstream gradient
    z = shendu.tensor(np.zeros(3), requires_grad=True)
    gz = np.ones(3)
    (z * 1).backward(gz)
    z.grad.data += 5
    np.testing.assert_array_equal(gz, np.ones(3))


@pytest.mark.parametrize("threads", [1, 2])
def test_large_gradients_summed_and_copied_over_threads_stay_fresh_and_exact(threads):
    """A node with two consumers sums their gradients, and a leaf's first gradient is copied,
    over shendu's threads for large arrays: the same values, a new array each, the seed untouched."""
    before = shendu.get_num_threads()
    shendu.set_num_threads(threads)
    try:
        with mock.patch.object(parallel, "ELEMENTWISE_PIECE", 8):
            rng = np.random.default_rng(0)
            x = shendu.tensor(rng.standard_normal((40, 30)), requires_grad=True)
            seed = rng.standard_normal((40, 30))
            a = x + 0.0
            y = a + a  # `a` feeds two consumers: ∂y/∂a sums two gradients
            y.backward(seed)
            np.testing.assert_array_equal(x.grad.numpy(), seed + seed)
            assert not np.shares_memory(x.grad.numpy(), seed)
            w = shendu.tensor(np.zeros((40, 30)), requires_grad=True)
            (w + x.detach()).backward(seed)  # Add passes the seed itself on to w
            assert not np.shares_memory(w.grad.numpy(), seed)
            w.grad.data += 1
            np.testing.assert_array_equal(w.grad.numpy(), seed + 1)
    finally:
        shendu.set_num_threads(before)


def test_no_grad_builds_no_graph_and_restores_mode():
    x = shendu.ones(3, requires_grad=True)
    with shendu.no_grad():
        y = x * 2
        assert not shendu.is_grad_enabled()
        with shendu.enable_grad():
            w = x * 2
    assert shendu.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert w.requires_grad

    @shendu.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = shendu.tensor(3.0, requires_grad=True)
    y = x.detach() * x
    y.backward()
    assert x.grad.item() == 3.0


def test_retain_grad_on_intermediate():
    x = shendu.tensor(3.0, requires_grad=True)
    t = x * 2
    t.retain_grad()
    (t * t).backward()
    assert t.grad.item() == 12.0 and x.grad.item() == 24.0


def test_long_chain_does_not_hit_recursion_limit():
    x = shendu.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert sys.getrecursionlimit() < 100_000
    y.backward()
    assert x.grad.item() == 1.0
    del y
    gc.collect()


def test_long_chain_graph_can_be_dropped_without_backward():
    x = shendu.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y  # deallocating a 100k-node chain must not overflow the C stack
    gc.collect()


def test_intermediate_arrays_released_after_backward_on_50_layer_mlp():
    shendu.manual_seed(0)
    ws = [(shendu.randn(32, 32) * 0.2).requires_grad_() for _ in range(50)]
    h = shendu.randn(16, 32)
    refs = []
    for w in ws:
        z = h @ w
        h = shendu.maximum(z, 0.0)
        refs += [weakref.ref(z.numpy()), weakref.ref(h.numpy())]
    loss = (h * h).mean()
    del h, z
    gc.collect()
    # before backward the graph keeps the activations it needs (so the check below can fail)
    assert sum(r() is not None for r in refs) >= 50
    loss.backward()
    gc.collect()
    alive = [i for i, r in enumerate(refs) if r() is not None]
    assert alive == [], f"forward arrays still referenced after backward: {alive}"
    assert loss.grad_fn.parents is None and loss.grad_fn.saved == ()
    assert all(w.grad is not None and w.grad.shape == (32, 32) for w in ws)


def test_numerical_grad_matches_course_formula():
    # f(x0, x1) = x0² + x1²: gradient (2x0, 2x1); the course's example point (3, 4) -> (6, 8)
    x = shendu.tensor(np.array([3.0, 4.0]))
    g = numerical_grad(lambda t: (t**2).sum(), x)[0]
    np.testing.assert_allclose(g, [6.0, 8.0], atol=1e-6)


def test_gradcheck_reports_and_catches_a_wrong_backward():
    from shendu.autograd import Function

    class BadSquare(Function):
        def forward(self, x):
            self.save(x)
            return x * x

        def backward(self, gy):
            (x,) = self.saved
            return gy * x  # wrong: should be 2x

    x = shendu.tensor(np.array([1.0, 2.0]), requires_grad=True)
    res = gradcheck(lambda t: BadSquare.apply(t), x, raise_exception=False)
    assert not res.ok and res.max_rel_error > 0.3
    with pytest.raises(GradcheckError, match="max relative error"):
        gradcheck(lambda t: BadSquare.apply(t), x)
    good = gradcheck(lambda t: t * t, x)
    assert good.ok and good.max_rel_error < 1e-6


def test_matmul_and_broadcast_errors_name_both_shapes():
    a, b = shendu.ones(2, 3), shendu.ones(4, 5)
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        a + b
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        a * shendu.ones(4)


def test_numerical_grad_of_a_non_contiguous_input():
    # A transposed array: reshape(-1) copies it, and nudging the copy used to give zeros.
    a = np.arange(6.0).reshape(2, 3).T
    x = shendu.tensor(a, requires_grad=True)
    assert not x.numpy().flags.c_contiguous
    np.testing.assert_allclose(numerical_grad(lambda t: (t * t).sum(), x)[0], 2 * a, rtol=1e-6)
    assert gradcheck(lambda t: (t * t * t).sum(), x).ok
    np.testing.assert_array_equal(x.numpy(), a)  # every nudge undone


@pytest.mark.parametrize(
    "expr",
    [
        lambda lib, d: d + d * 2,
        lambda lib, d: d * 2 + d,
        lambda lib, d: d * d.sigmoid(),
        lambda lib, d: d - d.mean(1, keepdim=True),
        lambda lib, d: d + d**2,
        lambda lib, d: d + (d * 3).exp() * d,
    ],
)
def test_non_leaf_reused_directly_and_through_a_longer_path(expr):
    """A node consumed directly and again through a longer path must wait for both gradients
    (the ordering bug: a node marked as seen when pushed could be ordered before a consumer)."""
    xs = np.random.default_rng(0).standard_normal((3, 4))
    x = shendu.tensor(xs, requires_grad=True)
    expr(shendu, x * 1.5).sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    expr(torch, tx * 1.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_grad_mode_is_per_thread():
    """As in PyTorch: no_grad in one thread leaves graph recording on in the others."""
    import threading

    inside, seen = threading.Event(), {}
    release = threading.Event()

    def worker():
        with shendu.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = shendu.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    x = shendu.ones(2, requires_grad=True)
    seen["main"] = shendu.is_grad_enabled() and (x * 2).requires_grad
    release.set()
    t.join()
    assert seen == {"worker": False, "main": True}
