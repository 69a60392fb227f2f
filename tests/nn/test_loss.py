"""Losses of shendu.nn.functional against torch.nn.functional.

Values, gradients, errors and speed-relevant dtypes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import shendu
import shendu.nn.functional as F
from tests.helpers import assert_close, check_op, to_torch

seeds = st.integers(0, 2**16)
REDUCTIONS = ["mean", "sum", "none"]


def _on(values: np.ndarray | None, like: shendu.Tensor) -> shendu.Tensor | None:
    """``values`` as a tensor on ``like``'s device (None stays None)."""
    return None if values is None else shendu.tensor(values, device=like.device)


def _randn(rng, shape, dtype=np.float64, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ---- regression --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 4))
def test_regression_losses_match_torch(name, reduction, seed, n, m):
    rng = np.random.default_rng(seed)
    x, t = _randn(rng, (n, m)), _randn(rng, (n, m))
    fn, tfn = getattr(F, name), getattr(TF, name)
    check_op(lambda a, b: fn(a, b, reduction=reduction), lambda a, b: tfn(a, b, reduction=reduction), [x, t])
    check_op(
        lambda a, b: fn(a, b, reduction=reduction),
        lambda a, b: tfn(a, b, reduction=reduction),
        [x.astype(np.float32), t.astype(np.float32)],
        rtol=1e-4,
        atol=1e-6,
    )


def test_mse_loss_by_hand():
    assert F.mse_loss(shendu.tensor([1.0, 2.0, 3.0]), shendu.tensor([1.0, 0.0, 0.0])).item() == pytest.approx(
        13 / 3
    )


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(shendu.zeros(4, 1), shendu.zeros(4))


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(shendu.zeros(2), shendu.zeros(2), reduction="average")


# ---- cross entropy with class indices ------------------------------------------------------


def _ce_case(rng, n, c, extra, ignore_frac=0.0, dtype=np.float64):
    x = _randn(rng, (n, c) + extra, dtype, scale=2.0)
    y = rng.integers(0, c, size=(n,) + extra)
    if ignore_frac:
        y = np.where(rng.random(y.shape) < ignore_frac, -100, y)
    return x, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(
    seed=seeds,
    n=st.integers(1, 5),
    c=st.integers(1, 5),
    extra=st.sampled_from([(), (3,), (2, 2)]),
    use_weight=st.booleans(),
    ignore=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_cross_entropy_class_indices_match_torch(reduction, seed, n, c, extra, use_weight, ignore, smoothing):
    rng = np.random.default_rng(seed)
    x, y = _ce_case(rng, n, c, extra, ignore_frac=0.3 if ignore else 0.0)
    if reduction == "mean" and ignore and (y == -100).all():
        y.flat[0] = 0  # torch and shendu both give nan when every target is ignored; test that apart
    w = rng.random(c) + 0.5 if use_weight else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    s_w = None if w is None else shendu.tensor(w)
    t_w = None if w is None else to_torch(w)
    check_op(
        lambda a, b: F.cross_entropy(a, b, s_w, **kw), lambda a, b: TF.cross_entropy(a, b, t_w, **kw), [x, y]
    )
    s_w32 = None if w is None else shendu.tensor(w.astype(np.float32))
    t_w32 = None if w is None else to_torch(w.astype(np.float32))
    check_op(
        lambda a, b: F.cross_entropy(a, b, s_w32, **kw),
        lambda a, b: TF.cross_entropy(a, b, t_w32, **kw),
        [x.astype(np.float32), y],
        rtol=1e-4,
        atol=1e-6,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(
    seed=seeds,
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    extra=st.sampled_from([(), (3,)]),
    use_weight=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.2]),
)
def test_cross_entropy_probability_targets_match_torch(reduction, seed, n, c, extra, use_weight, smoothing):
    rng = np.random.default_rng(seed)
    x = _randn(rng, (n, c) + extra, scale=2.0)
    p = rng.random((n, c) + extra)
    p /= p.sum(axis=1, keepdims=True)
    w = rng.random(c) + 0.5 if use_weight else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    s_w = None if w is None else shendu.tensor(w)
    t_w = None if w is None else to_torch(w)
    # the target is float, so check_op also compares the gradient with respect to the target
    check_op(
        lambda a, b: F.cross_entropy(a, b, s_w, **kw), lambda a, b: TF.cross_entropy(a, b, t_w, **kw), [x, p]
    )


def test_cross_entropy_unbatched_input():
    rng = np.random.default_rng(0)
    x = _randn(rng, (5,))
    check_op(lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b), [x, np.array(3)])


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(1)
    x = _randn(rng, (4, 3), np.float32)
    y = np.array([0, 2, 1, 2])
    xs = shendu.tensor(x, requires_grad=True)
    F.cross_entropy(xs, shendu.tensor(y)).backward()
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = (p - np.eye(3)[y]) / 4
    np.testing.assert_allclose(xs.grad.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_cross_entropy_stays_float32():
    x = shendu.tensor(
        np.random.default_rng(0).standard_normal((8, 10)).astype(np.float32), requires_grad=True
    )
    y = shendu.tensor(np.arange(8) % 10)
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": shendu.ones(10)}, {"reduction": "none"}):
        x.grad = None
        loss = F.cross_entropy(x, y, **kw)
        assert loss.dtype == np.float32, kw
        loss.sum().backward()
        assert x.grad.dtype == np.float32, kw


def test_cross_entropy_stable_at_1000_float32():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=np.float32)
    y = np.array([1, 2])
    xs = shendu.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xs, shendu.tensor(y))
    loss.backward()
    tx = to_torch(x, True)
    tl = TF.cross_entropy(tx, torch.from_numpy(y))
    tl.backward()
    assert np.isfinite(loss.item()) and np.isfinite(xs.grad.numpy()).all()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-6)
    assert_close(xs.grad.numpy(), tx.grad, rtol=1e-6, atol=1e-7)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = shendu.tensor(np.zeros((2, 3)))
    y = shendu.tensor([-100, -100])
    assert np.isnan(F.cross_entropy(x, y).item())
    assert np.isnan(
        TF.cross_entropy(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([-100, -100])).item()
    )


def test_custom_ignore_index():
    rng = np.random.default_rng(2)
    x = _randn(rng, (4, 3))
    y = np.array([0, 1, 7, 2])
    check_op(
        lambda a, b: F.cross_entropy(a, b, ignore_index=7),
        lambda a, b: TF.cross_entropy(a, b, ignore_index=7),
        [x, y],
    )


@pytest.mark.parametrize("bad", [3, -1, 10])
def test_class_index_out_of_range_names_value_and_c(bad):
    y = shendu.tensor([0, bad])
    with pytest.raises(ValueError, match=rf"class index {bad}\b.*C=3"):
        F.cross_entropy(shendu.zeros(2, 3), y)
    with pytest.raises(ValueError, match=rf"class index {bad}\b.*C=3"):
        F.nll_loss(shendu.zeros(2, 3), y)


def test_float_class_indices_rejected():
    with pytest.raises(TypeError, match="integer.*class probabilities"):
        F.cross_entropy(shendu.zeros(2, 3), shendu.tensor([0.0, 1.0]))
    # nll_loss takes no probabilities: its message must not suggest them
    with pytest.raises(TypeError, match=r"integer tensor, got dtype float32 \(use target.long\(\)\)$"):
        F.nll_loss(shendu.zeros(2, 3), shendu.tensor([0.0, 1.0]))


def test_target_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2,\).*\(3,\)"):
        F.cross_entropy(shendu.zeros(2, 3), shendu.tensor([0, 1, 2]))


def test_weight_shape_checked():
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(shendu.zeros(2, 3), shendu.tensor([0, 1]), weight=shendu.ones(4))


def test_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(shendu.zeros(2, 3), shendu.tensor([0, 1]), label_smoothing=1.5)


# ---- nll ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(
    seed=seeds,
    n=st.integers(1, 5),
    c=st.integers(1, 5),
    extra=st.sampled_from([(), (2,)]),
    use_weight=st.booleans(),
    ignore=st.booleans(),
)
def test_nll_loss_matches_torch(reduction, seed, n, c, extra, use_weight, ignore):
    rng = np.random.default_rng(seed)
    x, y = _ce_case(rng, n, c, extra, ignore_frac=0.3 if ignore else 0.0)
    if reduction == "mean" and ignore and (y == -100).all():
        y.flat[0] = 0
    w = rng.random(c) + 0.5 if use_weight else None
    s_w = None if w is None else shendu.tensor(w)
    t_w = None if w is None else to_torch(w)
    check_op(
        lambda a, b: F.nll_loss(a, b, s_w, reduction=reduction),
        lambda a, b: TF.nll_loss(a, b, t_w, reduction=reduction),
        [x, y],
    )


def test_nll_of_log_softmax_equals_cross_entropy():
    rng = np.random.default_rng(3)
    x = shendu.tensor(_randn(rng, (5, 4)))
    y = shendu.tensor(rng.integers(0, 4, 5))
    a = F.nll_loss(F.log_softmax(x, dim=1), y).item()
    b = F.cross_entropy(x, y).item()
    assert a == pytest.approx(b, rel=1e-12)


# ---- binary cross entropy -------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 3), use_weight=st.booleans())
def test_binary_cross_entropy_matches_torch(reduction, seed, n, m, use_weight):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.95, (n, m))
    t = rng.random((n, m))
    w = rng.random((m,)) + 0.5 if use_weight else None
    t_w = None if w is None else to_torch(w)
    check_op(  # the weight on the input's device (check_op also runs it on a GPU when told)
        lambda a, b: F.binary_cross_entropy(a, b, _on(w, a), reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, t_w, reduction=reduction),
        [x, t],
    )
    check_op(
        lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
        [x.astype(np.float32), t.astype(np.float32)],
        rtol=1e-4,
        atol=1e-6,
    )


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    loss = F.binary_cross_entropy(shendu.tensor(x), shendu.tensor(t), reduction="none")
    expected = TF.binary_cross_entropy(torch.from_numpy(x), torch.from_numpy(t), reduction="none")
    assert_close(loss.numpy(), expected)
    assert loss.tolist() == [100.0, 100.0, 0.0, 0.0]


def test_binary_cross_entropy_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(shendu.tensor([1.5]), shendu.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 3), use_weight=st.booleans(), use_pos=st.booleans())
def test_bce_with_logits_matches_torch(reduction, seed, n, m, use_weight, use_pos):
    rng = np.random.default_rng(seed)
    x = _randn(rng, (n, m), scale=3.0)
    t = rng.random((n, m))
    w = rng.random((n, m)) + 0.5 if use_weight else None
    pw = rng.random((m,)) * 3 if use_pos else None
    t_kw = dict(weight=None if w is None else to_torch(w), pos_weight=None if pw is None else to_torch(pw))
    check_op(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, reduction=reduction, weight=_on(w, a), pos_weight=_on(pw, a)
        ),
        lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction, **t_kw),
        [x, t],
    )


def test_bce_with_logits_stable_at_1000_float32():
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5], dtype=np.float32)
    pw = np.array(2.0, dtype=np.float32)
    xs = shendu.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(
        xs, shendu.tensor(t), reduction="sum", pos_weight=shendu.tensor(pw)
    )
    loss.backward()
    tx = to_torch(x, True)
    tl = TF.binary_cross_entropy_with_logits(
        tx, torch.from_numpy(t), reduction="sum", pos_weight=torch.from_numpy(pw)
    )
    tl.backward()
    assert loss.dtype == np.float32 and xs.grad.dtype == np.float32
    assert np.isfinite(loss.item()) and np.isfinite(xs.grad.numpy()).all()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-6)
    assert_close(xs.grad.numpy(), tx.grad, rtol=1e-6, atol=1e-7)


def test_student_target_mistakes_get_a_hint():
    logits = shendu.zeros(4, 3)
    onehot = shendu.tensor(np.eye(3, dtype=np.int64)[[0, 1, 2, 1]])
    with pytest.raises(
        ValueError, match=r"got target shape \(4, 3\) \(a one-hot target\? pass target.argmax\(1\)"
    ):
        F.cross_entropy(logits, onehot)
    with pytest.raises(
        ValueError, match=r"got target shape \(4, 1\) \(squeeze the last axis: target.reshape\(\(4,\)\)\)"
    ):
        F.nll_loss(logits, shendu.tensor([[0], [1], [2], [1]]))
    with pytest.raises(
        ValueError, match=r"\(4, 10\) and target shape \(4,\) differ.*class labels go to cross_entropy"
    ):
        F.mse_loss(shendu.zeros(4, 10), shendu.tensor([1, 2, 3, 4]))
    with pytest.raises(
        ValueError, match=r"\(4, 2\) and target shape \(5, 2\) differ.*one prediction per target"
    ):
        F.mse_loss(shendu.zeros(4, 2), shendu.zeros(5, 2))
