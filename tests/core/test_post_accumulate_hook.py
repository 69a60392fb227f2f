"""Tensor.register_post_accumulate_grad_hook: when and how often it runs, against PyTorch."""

import numpy as np
import pytest
import torch

import shendu


def _run(lib, make_graph):
    """Record (leaf name, grad) each time a leaf's hook runs, over two backward passes."""
    a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([3.0, -1.0], dtype=lib.float64, requires_grad=True)
    c = lib.tensor([0.5, 0.5], dtype=lib.float64, requires_grad=True)  # not used by every graph
    calls = []
    for name, t in (("a", a), ("b", b), ("c", c)):
        t.register_post_accumulate_grad_hook(lambda t, name=name: calls.append((name, t.grad.tolist())))
    for _ in range(2):
        make_graph(a, b, c).backward()
    return sorted(calls)


@pytest.mark.parametrize(
    "make_graph",
    [
        lambda a, b, c: (a * b).sum(),
        lambda a, b, c: (a * a + a * b + a).sum(),  # a reaches the loss on three edges
        lambda a, b, c: ((a * 2) * (a * 3) + b.exp()).sum(),
        lambda a, b, c: (a * a).sum() + (b * a).sum(),
    ],
)
def test_runs_once_per_backward_with_the_accumulated_grad(make_graph):
    assert _run(shendu, make_graph) == _run(torch, make_graph)


def test_a_leaf_that_is_the_root():
    a = shendu.tensor(2.0, requires_grad=True)
    seen = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.item()))
    a.backward()
    assert seen == [1.0]


def test_remove_and_errors():
    a = shendu.ones(2, requires_grad=True)
    seen = []
    handle = a.register_post_accumulate_grad_hook(lambda t: seen.append(1))
    handle.remove()
    (a * 2).sum().backward()
    assert seen == []
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="non-leaf"):
        (a * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        shendu.ones(2).register_post_accumulate_grad_hook(print)
