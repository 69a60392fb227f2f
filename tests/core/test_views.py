"""view, contiguous and is_contiguous as PyTorch: a view shares memory or raises, never copies
silently; contiguous() copies what is not one run in memory, so writes to it never reach x."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from shendu.ops.shape import view_strides


@st.composite
def views(draw):
    """(shendu tensor, the same torch tensor, a new shape of as many elements): a row-major
    tensor seen through slicing steps and a permutation of its axes."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    steps = tuple(slice(None, None, draw(st.sampled_from([1, 1, 2]))) for _ in shape)
    order = tuple(draw(st.permutations(range(len(shape)))))
    x = shendu.arange(int(np.prod(shape)), dtype=shendu.float64).reshape(shape)[steps].permute(order)
    t = torch.arange(int(np.prod(shape)), dtype=torch.float64).reshape(shape)[steps].permute(order)
    factors = [p for n in x.shape for p in _primes(n)]
    cuts = sorted(draw(st.lists(st.integers(0, len(factors)), max_size=3)))
    groups = [factors[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, len(factors)], strict=True)]
    new = [int(np.prod(g)) for g in groups]  # empty groups give the size-1 axes
    return x, t, tuple(draw(st.permutations(new)))


def _primes(n: int) -> list[int]:
    out, d = [], 2
    while n > 1:
        while n % d == 0:
            out.append(d)
            n //= d
        d += 1
    return out


@settings(max_examples=300, deadline=None)
@given(case=views())
def test_view_raises_where_torch_does_and_otherwise_shares_memory(case):
    x, t, shape = case
    a = x._data
    try:
        theirs = t.view(shape)
    except RuntimeError:
        theirs = None
    strides = view_strides(a.shape, a.strides, shape)
    assert (strides is None) == (theirs is None), (a.shape, a.strides, shape)
    if theirs is None and x.is_contiguous():  # channels-last, as shendu's conv outputs: a copy
        assert not a.flags.c_contiguous and x.view(shape).tolist() == t.reshape(shape).tolist()
        return
    if theirs is None:
        with pytest.raises(RuntimeError, match="view: shape"):
            x.view(shape)
        return
    v = x.view(shape)
    np.testing.assert_array_equal(v.numpy(), theirs.numpy())
    assert v._data.size <= 1 or np.shares_memory(v._data, a)
    wide = [i for i, n in enumerate(shape) if n > 1]  # a size-1 axis may have any stride
    assert [v._data.strides[i] for i in wide] == [strides[i] for i in wide]
    assert [v._data.strides[i] // 8 for i in wide] == [theirs.stride()[i] for i in wide]


def test_a_write_through_a_view_reaches_the_base_and_a_transposed_view_raises():
    x = shendu.arange(12.0).reshape(3, 4)
    x.view(2, 6)[1, 0] = -1.0
    assert x[1, 2].item() == -1.0
    with pytest.raises(RuntimeError, match=r"use \.reshape\(\.\.\.\)"):
        x.t().view(12)
    with pytest.raises(RuntimeError):
        x.t().view_as(shendu.zeros(12))
    with pytest.raises(RuntimeError):
        shendu.ones(3, 1).expand(3, 4).view(12)
    assert x.t().reshape(12).tolist() == x.numpy().T.reshape(12).tolist()


def test_contiguous_copies_a_transposed_tensor_as_torch_so_writes_stay_apart():
    x, tx = shendu.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    y, ty = x.t().contiguous(), tx.t().contiguous()
    y[0, 1] = 100.0
    ty[0, 1] = 100.0
    assert x.tolist() == tx.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert y.tolist() == ty.tolist() and y.is_contiguous() and not x.t().is_contiguous()
    assert y._data.flags.c_contiguous
    assert x.contiguous() is x and x.is_contiguous()
    assert x[:, ::2].is_contiguous() == tx[:, ::2].is_contiguous() is False


def test_contiguous_passes_the_gradient_through():
    a = np.random.default_rng(0).standard_normal((3, 4))
    x, tx = shendu.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w = np.random.default_rng(1).standard_normal(12)
    (x.t().contiguous().view(12) * shendu.tensor(w)).sum().backward()
    (tx.t().contiguous().view(12) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_a_conv_output_counts_as_contiguous_and_flattens_with_view_as_in_pytorch():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(shendu.tensor(x), shendu.tensor(w))
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w))
    assert y.is_contiguous() and ty.is_contiguous() and y.contiguous() is y
    np.testing.assert_allclose(y.view(2, -1).numpy(), ty.view(2, -1).numpy(), rtol=1e-12, atol=1e-12)
