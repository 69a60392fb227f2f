"""Max, average and adaptive pooling against torch.nn.functional and numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import shendu
import shendu.nn as nn
from shendu.nn.functional.pooling import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from tests.helpers import assert_close, check_op, to_torch


@st.composite
def pool_cases(draw, nd: int = 2, dilation: bool = True):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 4)] * nd)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    ceil_mode = draw(st.booleans())
    spatial = tuple(
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 6))
        for k, p, d in zip(kernel, padding, dil, strict=True)
    )
    # A dilated window lying wholly in the padding is degenerate (torch indexes outside the plane).
    assume(
        all(
            _every_window_sees_input(*a, ceil_mode)
            for a in zip(spatial, kernel, stride or kernel, padding, dil, strict=True)
        )
    )
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    if draw(st.booleans()) and nd == 2:
        lead = lead[1:]  # unbatched (C, H, W)
    case = dict(
        shape=(*lead, *spatial), kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode
    )
    if dilation:
        case["dilation"] = dil
    return case


def _every_window_sees_input(size, k, s, p, d, ceil_mode):
    out = TF.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil_mode).shape[-1]
    return all(any(0 <= o * s - p + i * d < size for i in range(k)) for o in range(out))


def _input(shape, dtype=np.float64, ties=False, seed=0):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many windows hold their maximum twice
        return rng.integers(-2, 3, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _call(fn, case):
    kw = {k: v for k, v in case.items() if k != "shape"}
    return lambda x, **extra: fn(x, **kw, **extra)


@given(pool_cases(), st.booleans())
def test_max_pool2d_matches_torch(case, ties):
    x = _input(case["shape"], ties=ties)
    check_op(_call(max_pool2d, case), _call(TF.max_pool2d, case), [x], numerical=False)


@given(pool_cases())
def test_max_pool2d_float32(case):
    x = _input(case["shape"], np.float32)
    check_op(_call(max_pool2d, case), _call(TF.max_pool2d, case), [x], rtol=1e-4, atol=1e-5, numerical=False)


@given(pool_cases())
def test_max_pool2d_return_indices(case):
    x = _input(case["shape"], ties=True)
    kw = {k: v for k, v in case.items() if k != "shape"}
    y, idx = max_pool2d(shendu.tensor(x), return_indices=True, **kw)
    ty, tidx = TF.max_pool2d(to_torch(x), return_indices=True, **kw)
    assert_close(y.detach().numpy(), ty)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.detach().numpy(), tidx.numpy())


@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, 1, 3]))
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor):
    x = _input(case["shape"])
    kw = dict(count_include_pad=count_include_pad, divisor_override=divisor)
    ours = lambda t: _call(avg_pool2d, case)(t, **kw)  # noqa: E731
    theirs = lambda t: _call(TF.avg_pool2d, case)(t, **kw)  # noqa: E731
    check_op(ours, theirs, [x], numerical=False)


@given(pool_cases(dilation=False))
def test_avg_pool2d_float32(case):
    x = _input(case["shape"], np.float32)
    check_op(_call(avg_pool2d, case), _call(TF.avg_pool2d, case), [x], rtol=1e-4, atol=1e-5, numerical=False)


@given(pool_cases(nd=1), st.booleans())
def test_max_pool1d_matches_torch(case, ties):
    x = _input(case["shape"], ties=ties)
    check_op(_call(max_pool1d, case), _call(TF.max_pool1d, case), [x], numerical=False)


@given(pool_cases(nd=1, dilation=False), st.booleans())
def test_avg_pool1d_matches_torch(case, count_include_pad):
    x = _input(case["shape"])
    ours = lambda t: _call(avg_pool1d, case)(t, count_include_pad=count_include_pad)  # noqa: E731
    theirs = lambda t: _call(TF.avg_pool1d, case)(t, count_include_pad=count_include_pad)  # noqa: E731
    check_op(ours, theirs, [x], numerical=False)


@given(
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 12), st.integers(1, 12)),
    st.one_of(st.integers(1, 6), st.tuples(st.one_of(st.none(), st.integers(1, 6)), st.integers(1, 6))),
    st.sampled_from([np.float64, np.float32]),
)
def test_adaptive_avg_pool2d_matches_torch(shape, out, dtype):
    x = _input(shape, dtype)
    tol = 1e-6 if dtype == np.float64 else 1e-4
    check_op(
        lambda t: adaptive_avg_pool2d(t, out),
        lambda t: TF.adaptive_avg_pool2d(t, out),
        [x],
        rtol=tol,
        atol=tol * 1e-2,
        numerical=False,
    )


@pytest.mark.parametrize("shape, out", [((2, 3, 7, 5), 1), ((2, 3, 7, 5), (7, 5)), ((3, 4, 4), (None, 1))])
def test_adaptive_avg_pool2d_global_and_identity(shape, out):
    """The two shortcuts (global mean, output as large as the input) against torch and gradcheck."""
    x = _input(shape)
    check_op(lambda t: adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x])


@pytest.mark.parametrize(
    "fn, kw",
    [
        (max_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),  # overlapping (AlexNet)
        (max_pool2d, dict(kernel_size=(2, 3), dilation=(2, 1))),
        (avg_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        (avg_pool2d, dict(kernel_size=2)),
        (adaptive_avg_pool2d, dict(output_size=(3, 2))),
    ],
)
def test_pooling_gradcheck(fn, kw):
    x = _input((2, 2, 7, 6))  # distinct values: max pooling is differentiable there
    torch_fn = getattr(TF, fn.__name__)
    check_op(lambda t: fn(t, **kw), lambda t: torch_fn(t, **kw), [x])


def test_ties_route_the_gradient_to_the_first_maximum():
    x = shendu.tensor(np.array([[[[1.0, 1.0], [1.0, 0.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


@given(pool_cases(), st.booleans(), st.integers(0, 2**16))
def test_windows_of_minus_inf_point_inside_the_input_as_in_torch(case, channels_last, seed):
    """A window whose max is −∞ ties with the −∞ padding: its index (and its gradient) is the
    first tap inside the input, as PyTorch's, never a padding position (it was negative)."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(case["shape"]) < 0.8, -np.inf, rng.integers(-2, 3, case["shape"]))
    if channels_last and x.ndim == 4:  # what conv2d returns
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    kw = {k: v for k, v in case.items() if k != "shape"}
    t = shendu.tensor(x, requires_grad=True)
    y, idx = max_pool2d(t, return_indices=True, **kw)
    y.backward(shendu.ones_like(y))
    tx = to_torch(x).requires_grad_(True)
    ty, tidx = TF.max_pool2d(tx, return_indices=True, **kw)
    ty.backward(torch.ones_like(ty))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(t.grad.numpy(), tx.grad.numpy())


def test_nan_wins_as_in_torch():
    x = np.array([[[[1.0, np.nan], [np.nan, 0.0]]]])
    y, idx = max_pool2d(shendu.tensor(x), 2, return_indices=True)
    ty, tidx = TF.max_pool2d(to_torch(x), 2, return_indices=True)
    assert np.isnan(y.item()) and np.isnan(ty.item())
    assert idx.item() == tidx.item()


@given(pool_cases(), st.booleans())
def test_max_pool2d_without_a_graph_matches_torch(case, ties):
    """No gradient wanted: only the max is computed (no argmax), and it must agree."""
    x = _input(case["shape"], ties=ties)
    kw = {k: v for k, v in case.items() if k != "shape"}
    with shendu.no_grad():
        y = max_pool2d(shendu.tensor(x, requires_grad=True), **kw)
    assert y._ctx is None and y.numpy().flags.c_contiguous
    assert_close(y.detach().numpy(), TF.max_pool2d(to_torch(x), **kw))


@pytest.mark.parametrize(
    "kw", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=1, dilation=2)]
)
def test_nan_in_overlapping_windows_as_in_torch(kw):
    """Several NaNs, some shared by overlapping windows: values, indices and gradient agree."""
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 9))
    x.flat[[5, 6, 30, 31, 40, 100, 101, 250, 251, 252]] = np.nan
    xs = shendu.tensor(x, requires_grad=True)
    y, idx = max_pool2d(xs, return_indices=True, **kw)
    tx = to_torch(x).requires_grad_()
    ty, tidx = TF.max_pool2d(tx, return_indices=True, **kw)
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), np.isnan(ty.detach().numpy()))
    np.testing.assert_array_equal(idx.detach().numpy(), tidx.numpy())
    g = np.random.default_rng(4).standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    assert_close(xs.grad.numpy(), tx.grad)
    with shendu.no_grad():  # the max-only path lets NaN win as well
        np.testing.assert_array_equal(
            np.isnan(max_pool2d(shendu.tensor(x), **kw).detach().numpy()), np.isnan(y.detach().numpy())
        )


def test_float32_stays_float32():
    x = shendu.randn(2, 3, 9, 9, requires_grad=True)
    for fn, kw in [
        (max_pool2d, dict(kernel_size=3, stride=2)),
        (avg_pool2d, dict(kernel_size=2)),
        (adaptive_avg_pool2d, dict(output_size=4)),
    ]:
        x.grad = None
        y = fn(x, **kw)
        assert y.dtype == np.float32, fn.__name__
        (y * y).sum().backward()
        assert x.grad.dtype == np.float32, fn.__name__


def test_course_pooling_example():
    """The course's 2×2 max pooling with stride 2 of a 4×4 input."""
    x = shendu.tensor([[[[1.0, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]]]])
    assert max_pool2d(x, 2, stride=2).tolist() == [[[[2.0, 3.0], [4.0, 2.0]]]]


@pytest.mark.parametrize(
    "fn, shape, kw, match",
    [
        (max_pool2d, (1, 1, 8, 8), dict(kernel_size=3, padding=2), r"padding \(2, 2\) must be at most half"),
        (max_pool2d, (1, 1, 2, 2), dict(kernel_size=3), "output size .* too small"),
        (max_pool2d, (8, 8), dict(kernel_size=2), r"3-D or 4-D \(N, C, H, W\) input, got shape \(8, 8\)"),
        (max_pool2d, (1, 1, 8, 8), dict(kernel_size=2, stride=0), "stride must be positive"),
        (max_pool2d, (1, 1, 8, 8), dict(kernel_size=0), "kernel_size must be positive"),
        (max_pool2d, (1, 1, 8, 8), dict(kernel_size=2, padding=-1), "padding must be zero or positive"),
        (max_pool2d, (1, 1, 8, 8), dict(kernel_size=(2, 2, 2)), "tuple of 2 ints"),
        (avg_pool2d, (1, 1, 8, 8), dict(kernel_size=2, divisor_override=0), "divisor_override"),
        (max_pool1d, (1, 1, 8, 8), dict(kernel_size=2), r"2-D or 3-D \(N, C, L\) input"),
        (adaptive_avg_pool2d, (1, 8), dict(output_size=2), "3-D .* or 4-D"),
        (adaptive_avg_pool2d, (1, 1, 8, 8), dict(output_size=0), "output_size must be positive"),
    ],
)
def test_pooling_errors(fn, shape, kw, match):
    with pytest.raises(ValueError, match=match):
        fn(shendu.zeros(*shape), **kw)


def test_max_pool_with_return_indices_under_no_grad():
    x = _input((1, 2, 6, 6))
    with shendu.no_grad():
        _, idx = max_pool2d(shendu.tensor(x), 3, 2, return_indices=True)
    _, tidx = TF.max_pool2d(torch.from_numpy(x), 3, 2, return_indices=True)
    np.testing.assert_array_equal(idx.detach().numpy(), tidx.numpy())


def test_non_contiguous_input():
    x = _input((2, 3, 9, 7))
    for fn in (max_pool2d, avg_pool2d):
        torch_fn = getattr(TF, fn.__name__)
        check_op(
            lambda a, fn=fn: fn(a.permute(0, 1, 3, 2), 3, 2, 1),
            lambda a, torch_fn=torch_fn: torch_fn(a.permute(0, 1, 3, 2), 3, 2, 1),
            [x],
            numerical=False,
        )


def test_unbatched_max_pool_with_indices_matches_torch():
    """(C, H, W) input with return_indices=True gives unbatched values and indices, as torch."""
    x = np.random.default_rng(3).standard_normal((3, 6, 5))
    y, i = nn.MaxPool2d(2, return_indices=True)(shendu.tensor(x))
    ty, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
