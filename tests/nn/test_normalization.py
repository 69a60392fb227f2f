"""batch_norm, layer_norm and local_response_norm against torch.nn.functional."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from shendu import nn
from tests.helpers import assert_close, check_op, to_torch

seeds = st.integers(0, 2**16)
# (N, C, *spatial) layouts batch_norm accepts: BatchNorm1d (N, C) and (N, C, L), BatchNorm2d (N, C, H, W)
bn_shapes = st.sampled_from([(4, 3), (2, 3, 4), (2, 2, 3, 3), (1, 2, 2, 3), (5, 1)])


@given(shape=bn_shapes, seed=seeds, affine=st.sampled_from(["both", "weight", "bias", "none"]))
def test_batch_norm_training_matches_torch(shape, seed, affine):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    arrays = [x]
    if affine in ("both", "weight"):
        arrays.append(rng.standard_normal(c))
    if affine in ("both", "bias"):
        arrays.append(rng.standard_normal(c))

    def split(args):
        x, *rest = args
        w = rest.pop(0) if affine in ("both", "weight") else None
        b = rest.pop(0) if affine in ("both", "bias") else None
        return x, w, b

    def s_fn(*args):
        x, w, b = split(args)
        return F.batch_norm(x, None, None, w, b, training=True)

    def t_fn(*args):
        x, w, b = split(args)
        return TF.batch_norm(x, None, None, w, b, training=True)

    check_op(s_fn, t_fn, arrays)
    check_op(s_fn, t_fn, [a.astype(np.float32) for a in arrays], rtol=1e-4, atol=1e-5)


@given(shape=bn_shapes, seed=seeds)
def test_batch_norm_eval_matches_torch(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    x, w, b = rng.standard_normal(shape), rng.standard_normal(c), rng.standard_normal(c)
    check_op(
        lambda x, w, b: F.batch_norm(
            x, shendu.tensor(rm, device=x.device), shendu.tensor(rv, device=x.device), w, b, training=False
        ),
        lambda x, w, b: TF.batch_norm(x, to_torch(rm), to_torch(rv), w, b, training=False),
        [x, w, b],
    )


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)])
@pytest.mark.parametrize("as_array", [False, True])
def test_batch_norm_running_statistics_follow_torch(shape, as_array):
    rng = np.random.default_rng(0)
    c = shape[1]
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    s_rm, s_rv = (rm, rv) if as_array else (shendu.tensor(rm), shendu.tensor(rv))
    t_rm, t_rv = torch.zeros(c), torch.ones(c)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        y = F.batch_norm(shendu.tensor(x), s_rm, s_rv, training=True, momentum=0.2, eps=1e-3)
        ty = TF.batch_norm(torch.from_numpy(x), t_rm, t_rv, training=True, momentum=0.2, eps=1e-3)
        assert_close(y.numpy(), ty, rtol=1e-4, atol=1e-5, what=f"output, step {step}")
    got_rm = s_rm if as_array else s_rm.numpy()
    got_rv = s_rv if as_array else s_rv.numpy()
    assert got_rm.dtype == np.float32 and got_rv.dtype == np.float32
    assert_close(got_rm, t_rm, rtol=1e-5, atol=1e-6, what="running_mean")
    assert_close(got_rv, t_rv, rtol=1e-5, atol=1e-6, what="running_var (unbiased)")
    # and eval mode then uses them
    x = rng.standard_normal(shape).astype(np.float32)
    assert_close(
        F.batch_norm(shendu.tensor(x), s_rm, s_rv, training=False, eps=1e-3).numpy(),
        TF.batch_norm(torch.from_numpy(x), t_rm, t_rv, training=False, eps=1e-3),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("perm", [(2, 3, 0, 1), (2, 1, 0, 3), (0, 1, 2, 3)])
def test_batch_norm_gradient_of_any_layout_follows_the_formula(perm):
    """∂L/∂x = r/n (n ĝ − Σĝ − x̂ Σĝx̂), ĝ = γG, whatever G's memory layout: here G comes back
    through a permute, and with N = 1 it can look channels-last. (PyTorch 2.13's CPU kernel gets
    this case wrong: given such a G and a contiguous x it returns another gradient; given G
    contiguous it agrees, so torch is the oracle for the contiguous G only.)"""
    rng = np.random.default_rng(0)
    x_np, gamma, beta = rng.standard_normal((1, 2, 3, 4)), rng.standard_normal(2), rng.standard_normal(2)
    w = rng.standard_normal(np.transpose(x_np, perm).shape)
    x = shendu.tensor(x_np, requires_grad=True)
    y = F.batch_norm(x, None, None, shendu.tensor(gamma), shendu.tensor(beta), training=True)
    (y.permute(*perm) * shendu.tensor(w)).sum().backward()
    g = np.transpose(w, np.argsort(perm))  # G, in the layout the permute's backward gives
    axes = (0, 2, 3)
    r = 1 / np.sqrt(x_np.var(axis=axes, keepdims=True) + 1e-5)
    xhat = (x_np - x_np.mean(axis=axes, keepdims=True)) * r
    ghat, n = g * gamma.reshape(1, -1, 1, 1), x_np.size // 2
    s1, s2 = ghat.sum(axis=axes, keepdims=True), (ghat * xhat).sum(axis=axes, keepdims=True)
    expected = r / n * (n * ghat - s1 - xhat * s2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
    tx = torch.tensor(x_np, requires_grad=True)
    TF.batch_norm(tx, None, None, torch.tensor(gamma), torch.tensor(beta), training=True).backward(
        torch.tensor(np.ascontiguousarray(g)).contiguous()
    )
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_batch_norm_normalises_per_channel_not_per_activation():
    # One channel, values differing across H, W: per-channel statistics pool all of N, H, W.
    x = np.arange(2 * 1 * 2 * 2, dtype=np.float32).reshape(2, 1, 2, 2)
    y = F.batch_norm(shendu.tensor(x), None, None, training=True).numpy()
    assert abs(y.mean()) < 1e-6 and abs(y.var() - 1) < 1e-4
    assert not np.allclose(y[:, :, 0, 0], y[:, :, 1, 1])


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(shendu.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"C=3.*running_mean.*\(4,\)"):
        F.batch_norm(shendu.zeros(2, 3), shendu.zeros(4), shendu.ones(4), training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(shendu.zeros(2, 3), None, None, shendu.ones(2), training=True)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.batch_norm(shendu.zeros(3), None, None, training=True)


def test_batch_norm_keeps_float32():
    x = shendu.randn(4, 3, 2, 2, requires_grad=True)
    w = shendu.ones(3, requires_grad=True)
    b = shendu.zeros(3, requires_grad=True)
    y = F.batch_norm(x, shendu.zeros(3), shendu.ones(3), w, b, training=True)
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


@given(
    seed=seeds,
    shape=st.sampled_from([(3, 4), (2, 3, 4), (2, 2, 3)]),
    k=st.integers(1, 2),
    affine=st.booleans(),
)
def test_layer_norm_matches_torch(seed, shape, k, affine):
    rng = np.random.default_rng(seed)
    ns = shape[-k:]
    x = rng.standard_normal(shape)
    if affine:
        arrays = [x, rng.standard_normal(ns), rng.standard_normal(ns)]
        check_op(
            lambda a, w, b: F.layer_norm(a, ns, w, b), lambda a, w, b: TF.layer_norm(a, ns, w, b), arrays
        )
    else:
        check_op(lambda a: F.layer_norm(a, ns), lambda a: TF.layer_norm(a, ns), [x])


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        F.layer_norm(shendu.zeros(2, 3), 4)


@given(
    seed=seeds,
    shape=st.sampled_from([(2, 5, 2, 2), (1, 7, 3), (2, 3, 2, 1)]),
    size=st.integers(1, 6),
    alpha=st.sampled_from([1e-4, 0.5]),
    beta=st.sampled_from([0.75, 2.0]),
    k=st.sampled_from([1.0, 2.0]),
)
def test_local_response_norm_matches_torch(seed, shape, size, alpha, beta, k):
    x = np.random.default_rng(seed).standard_normal(shape) * 2
    kw = dict(size=size, alpha=alpha, beta=beta, k=k)
    check_op(lambda a: F.local_response_norm(a, **kw), lambda a: TF.local_response_norm(a, **kw), [x])
    check_op(
        lambda a: F.local_response_norm(a, **kw),
        lambda a: TF.local_response_norm(a, **kw),
        [x.astype(np.float32)],
        rtol=1e-4,
        atol=1e-6,
    )


def test_local_response_norm_alexnet_settings_by_hand():
    # AlexNet: size 5, alpha 1e-4, beta 0.75, k 2; the window is averaged (alpha / size).
    x = np.arange(1.0, 8.0).reshape(1, 7, 1, 1)
    y = F.local_response_norm(shendu.tensor(x), size=5, alpha=1e-4, beta=0.75, k=2.0).numpy()
    c = 3
    window = x[0, c - 2 : c + 3, 0, 0]
    expected = x[0, c, 0, 0] / (2.0 + 1e-4 / 5 * (window**2).sum()) ** 0.75
    assert y[0, c, 0, 0] == pytest.approx(expected, rel=1e-12)


def test_local_response_norm_needs_3d():
    with pytest.raises(ValueError, match=r"3 or more dimensions.*\(2, 3\)"):
        F.local_response_norm(shendu.zeros(2, 3), 2)


def test_float64_input_to_a_float32_norm_layer_is_an_error_like_torch():
    # It used to run silently in float64, and so every layer after it.
    x = shendu.tensor(np.ones((4, 3)))  # float64
    for layer in (nn.BatchNorm1d(3), nn.BatchNorm1d(3).eval(), nn.LayerNorm(3)):
        with pytest.raises(TypeError, match="input dtype float64 differs from .* dtype float32"):
            layer(x)
    with pytest.raises(TypeError, match="running_mean dtype float64"):
        F.batch_norm(shendu.ones(4, 3), np.zeros(3), np.ones(3), training=True)
    assert nn.BatchNorm1d(3).double()(x).dtype == np.float64
