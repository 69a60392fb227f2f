"""Tensor methods and top-level names PyTorch scripts use (issue 12), each against torch."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shendu
import shendu.nn.functional as F
from tests.helpers import check_op

floats = st.floats(-10, 10, allow_nan=False, width=64)
shapes = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=5)
matrices = hnp.arrays(np.float64, shapes, elements=floats)
# distinct values: at a tie the k-th largest is not differentiable (numerical gradients split it)
# and far apart, so the numerical derivative's small steps cannot reorder them
distinct = hnp.arrays(np.int64, shapes, elements=st.integers(-999, 999), unique=True).map(lambda a: a / 10)


def _weighted(pieces):
    """Different weights per piece, so a gradient routed to the wrong piece shows."""
    return [p * (i + 1) for i, p in enumerate(pieces)]


@given(x=distinct, k=st.integers(0, 5), largest=st.booleans())
def test_topk(x, k, largest):
    k = min(k, x.shape[-1])
    check_op(
        lambda a: a.topk(k, dim=-1, largest=largest)[0], lambda a: a.topk(k, dim=-1, largest=largest)[0], [x]
    )
    ours = shendu.tensor(x).topk(k, -1, largest)[1].numpy()
    # indices: torch's order of ties is unspecified, so compare the values they select
    np.testing.assert_array_equal(
        np.take_along_axis(x, ours, -1), torch.tensor(x).topk(k, -1, largest)[0].numpy()
    )


@given(x=matrices, seed=st.integers(0, 100), value=floats)
def test_masked_fill(x, seed, value):
    mask = np.random.default_rng(seed).random(x.shape[-1]) < 0.5  # broadcast along the rows
    check_op(
        lambda a: a.masked_fill(shendu.tensor(mask, device=a.device), value),
        lambda a: a.masked_fill(torch.tensor(mask), value),
        [x],
    )
    t = shendu.tensor(x.copy())
    t.masked_fill_(shendu.tensor(mask), value)
    np.testing.assert_array_equal(t.numpy(), torch.tensor(x).masked_fill_(torch.tensor(mask), value).numpy())


@given(x=matrices, reps=st.lists(st.integers(1, 3), min_size=3, max_size=4))
def test_repeat(x, reps):
    check_op(lambda a: a.repeat(*reps), lambda a: a.repeat(*reps), [x])


@given(x=matrices, n=st.integers(1, 6), dim=st.integers(-2, 1))
def test_chunk_and_split(x, n, dim):
    check_op(
        lambda a: shendu.cat(_weighted(a.chunk(n, dim)), dim),
        lambda a: torch.cat(_weighted(a.chunk(n, dim)), dim),
        [x],
    )
    check_op(
        lambda a: shendu.cat(_weighted(a.split(n, dim)), dim),
        lambda a: torch.cat(_weighted(a.split(n, dim)), dim),
        [x],
    )
    size = x.shape[dim]
    sections = [size // 2, size - size // 2]
    assert [p.shape for p in shendu.tensor(x).split(sections, dim)] == [
        tuple(p.shape) for p in torch.tensor(x).split(sections, dim)
    ]
    assert len(shendu.tensor(x).chunk(n, dim)) == len(torch.tensor(x).chunk(n, dim))


def test_mm_bmm():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check_op(shendu.mm, torch.mm, [a, b])
    check_op(lambda x, y: x.mm(y), lambda x, y: x.mm(y), [a, b])
    p, q = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    check_op(shendu.bmm, torch.bmm, [p, q])
    with pytest.raises(ValueError, match="2-d"):
        shendu.mm(shendu.tensor(p), shendu.tensor(q))
    with pytest.raises(ValueError, match="same B"):
        shendu.bmm(shendu.tensor(p), shendu.tensor(q[:1]))


def test_top_level_activations_and_keyword_forms():
    x = np.random.default_rng(1).standard_normal((3, 4))
    for name in ("sigmoid", "tanh", "relu"):
        check_op(getattr(shendu, name), getattr(torch, name), [x])
    check_op(lambda a: shendu.softmax(a, dim=1), lambda a: torch.softmax(a, dim=1), [x])
    check_op(lambda a: shendu.cat([a, a * 2], axis=1), lambda a: torch.cat([a, a * 2], axis=1), [x])
    t, tt = shendu.tensor(x), torch.tensor(x)
    assert shendu.argmax(t, axis=1).tolist() == torch.argmax(tt, axis=1).tolist() == t.argmax(dim=1).tolist()
    assert t.argmax(axis=0, keepdim=True).shape == (1, 4)
    assert shendu.randn(size=(2, 3)).shape == (2, 3) and shendu.empty(2, 3).shape == (2, 3)


def test_comparison_methods_and_closeness():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[1.0, 2.5, 3.0]])
    s, t = shendu.tensor(a), torch.tensor(a)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        ours, theirs = getattr(s, name)(shendu.tensor(b)), getattr(t, name)(torch.tensor(b))
        assert ours.dtype == np.bool_ and ours.tolist() == theirs.tolist(), name
        assert getattr(s, name)(2.0).tolist() == getattr(t, name)(2.0).tolist()
    pred = shendu.tensor([[3], [1], [2]])
    target = shendu.tensor([3, 0, 2])
    assert pred.eq(target.view_as(pred)).sum().item() == 2  # the official MNIST example's accuracy line
    assert s.contiguous() is s
    c = b + 1e-9
    assert shendu.allclose(s, shendu.tensor(a)) and not shendu.allclose(s, shendu.tensor(b))
    assert shendu.allclose(shendu.tensor(b), shendu.tensor(c)) == torch.allclose(
        torch.tensor(b), torch.tensor(c)
    )
    assert shendu.isclose(s, shendu.tensor(b)).tolist() == torch.isclose(t, torch.tensor(b)).tolist()
    assert shendu.equal(s, shendu.tensor(a)) and not shendu.equal(s, shendu.tensor(a[0]))


def test_one_hot_like_torch():
    idx = np.array([[0, 3], [2, 1]])
    assert F.one_hot(shendu.tensor(idx)).tolist() == torch.nn.functional.one_hot(torch.tensor(idx)).tolist()
    ours = F.one_hot(shendu.tensor(idx), 5)
    assert (
        ours.dtype == np.int64 and ours.tolist() == torch.nn.functional.one_hot(torch.tensor(idx), 5).tolist()
    )
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(shendu.tensor(idx), 3)
    with pytest.raises(TypeError, match="index tensors"):
        F.one_hot(shendu.tensor([1.0]))


@given(a=matrices, alpha=st.sampled_from([1, 2.5, -0.5]))
def test_named_arithmetic_methods(a, alpha):
    b = np.flip(a, -1).copy() + 11.0  # same shape, no zeros (div)
    check_op(lambda x, y: x.add(y, alpha=alpha), lambda x, y: x.add(y, alpha=alpha), [a, b])
    check_op(lambda x, y: x.sub(y, alpha=alpha), lambda x, y: x.sub(y, alpha=alpha), [a, b])
    check_op(lambda x, y: x.mul(y).div(y.neg()), lambda x, y: x.mul(y).div(y.neg()), [a, b])
    check_op(lambda x: x.add(1.5).mul(2).div(4), lambda x: x.add(1.5).mul(2).div(4), [a])
