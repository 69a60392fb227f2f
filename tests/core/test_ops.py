"""Every differentiable core op against PyTorch (values, gradients, dtype) and gradcheck,
on shapes drawn by hypothesis: broadcasting, size-1 axes and 0-d tensors included."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shendu
from tests.helpers import check_op

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arr(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


@st.composite
def broadcast_pair(draw):
    shape = draw(shapes)
    # a second shape broadcastable with the first: drop leading axes and set some sides to 1
    nd = draw(st.integers(0, len(shape)))
    other = list(shape[len(shape) - nd :])
    for i in range(len(other)):
        if draw(st.booleans()):
            other[i] = 1
    if draw(st.booleans()):
        shape, other = tuple(other), shape
    return tuple(shape), tuple(other)


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (shendu.maximum, torch.maximum),
    "minimum": (shendu.minimum, torch.minimum),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_pair(), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast(name, pair, seed):
    rng = np.random.default_rng(seed)
    a, b = arr(rng, pair[0]), arr(rng, pair[1])
    if name == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    sfn, tfn = BINARY[name]
    check_op(sfn, tfn, [a, b])


@given(pair=broadcast_pair(), seed=st.integers(0, 2**16))
def test_pow_tensor_exponent(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2.0, pair[0]), arr(rng, pair[1])
    check_op(lambda x, y: x**y, lambda x, y: x**y, [a, b])


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.0, 0])
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_pow_scalar(p, shape, seed):
    a = np.random.default_rng(seed).uniform(0.5, 2.0, shape)
    check_op(lambda x: x**p, lambda x: x**p, [a])


UNARY = {
    "neg": (lambda x: -x, lambda x: -x, (-2, 2)),
    "exp": (shendu.exp, torch.exp, (-2, 2)),
    "log": (shendu.log, torch.log, (0.2, 3)),
    "sqrt": (shendu.sqrt, torch.sqrt, (0.2, 3)),
    "abs": (shendu.abs, torch.abs, (-2, 2)),
    "clip": (lambda x: shendu.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), (-2, 2)),
    "clip_min": (lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_unary_ops(name, shape, seed):
    sfn, tfn, (lo, hi) = UNARY[name]
    a = np.random.default_rng(seed).uniform(lo, hi, shape)
    if name in ("abs", "clip", "clip_min"):
        a = a + 1e-3 * np.sign(a)  # stay off the kinks, where a central difference is undefined
    check_op(sfn, tfn, [a])


@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_where(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = arr(rng, shapes[0]), arr(rng, shapes[1])
    cond = np.asarray(rng.uniform(size=np.broadcast_shapes(shapes[0], shapes[1])) > 0.5)
    check_op(
        lambda x, y: shendu.where(shendu.tensor(cond, device=x.device), x, y),
        lambda x, y: torch.where(torch.from_numpy(cond), x, y),
        [a, b],
    )


@st.composite
def shape_and_dim(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    dims = draw(
        st.one_of(
            st.none(),
            st.integers(-len(shape), len(shape) - 1),
            st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True),
        )
    )
    return shape, dims, draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var"])
@given(sdk=shape_and_dim(), seed=st.integers(0, 2**16))
def test_reductions(name, sdk, seed):
    shape, dim, keep = sdk
    a = np.random.default_rng(seed).standard_normal(shape)
    if name == "var":
        n = np.prod(shape) if dim is None else np.prod([shape[d] for d in np.atleast_1d(dim)])
        if n < 2:
            return  # unbiased variance of one sample is undefined
    tdim = tuple(dim) if isinstance(dim, list) else dim
    if dim is None:
        sfn = lambda x: getattr(x, name)()  # noqa: E731
        tfn = lambda x: getattr(x, name)()  # noqa: E731
    else:
        sfn = lambda x: getattr(x, name)(dim=tdim, keepdim=keep)  # noqa: E731
        tfn = lambda x: getattr(x, name)(dim=tdim, keepdim=keep)  # noqa: E731
    check_op(sfn, tfn, [a])


@pytest.mark.parametrize("name", ["max", "min"])
@given(sdk=shape_and_dim(), seed=st.integers(0, 2**16))
def test_max_min_with_indices(name, sdk, seed):
    shape, _, keep = sdk
    dim = len(shape) - 1
    a = np.random.default_rng(seed).standard_normal(shape)
    check_op(
        lambda x: getattr(x, name)(dim=dim, keepdim=keep).values,
        lambda x: getattr(x, name)(dim=dim, keepdim=keep).values,
        [a],
    )
    s_idx = getattr(shendu.tensor(a), name)(dim=dim, keepdim=keep).indices
    t_idx = getattr(torch.from_numpy(a), name)(dim=dim, keepdim=keep).indices
    np.testing.assert_array_equal(s_idx.numpy(), t_idx.numpy())


def test_max_whole_and_numpy_axis_alias():
    a = np.random.default_rng(0).standard_normal((3, 4))
    check_op(lambda x: x.max(), lambda x: x.max(), [a])
    x = shendu.tensor(a)
    np.testing.assert_allclose(x.sum(axis=1, keepdims=True).numpy(), a.sum(axis=1, keepdims=True))


def test_amax_ties_share_gradient_like_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    check_op(lambda x: x.amax(dim=1), lambda x: x.amax(dim=1), [a], numerical=False)
    check_op(
        lambda x: shendu.maximum(x, x[:, :1]), lambda x: torch.maximum(x, x[:, :1]), [a], numerical=False
    )


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    kind = draw(st.sampled_from(["mm", "batched", "broadcast", "vec_left", "vec_right", "dot"]))
    if kind == "mm":
        return (n, k), (k, m)
    if kind == "batched":
        return batch + (n, k), batch + (k, m)
    if kind == "broadcast":
        return batch + (n, k), (k, m)
    if kind == "vec_left":
        return (k,), batch + (k, m)
    if kind == "vec_right":
        return batch + (n, k), (k,)
    return (k,), (k,)


@given(sh=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul(sh, seed):
    rng = np.random.default_rng(seed)
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, [arr(rng, sh[0]), arr(rng, sh[1])])


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_shape_ops(shape, seed, data):
    a = np.random.default_rng(seed).standard_normal(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    check_op(lambda x: x.permute(*perm), lambda x: x.permute(*perm), [a])
    check_op(lambda x: x.reshape(-1), lambda x: x.reshape(-1), [a])
    check_op(lambda x: x.flatten(), lambda x: x.flatten(), [a])
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda x: x.unsqueeze(d), lambda x: x.unsqueeze(d), [a])
    check_op(lambda x: x.squeeze(), lambda x: x.squeeze(), [a])
    d0, d1 = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(0, len(shape) - 1))
    check_op(lambda x: x.transpose(d0, d1), lambda x: x.transpose(d0, d1), [a])
    big = tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    check_op(lambda x: x.expand(2, *big), lambda x: x.expand(2, *big), [a])


def test_flatten_start_dim_and_squeeze_dim():
    a = np.random.default_rng(0).standard_normal((2, 1, 3, 4))
    check_op(lambda x: x.flatten(1), lambda x: x.flatten(1), [a])
    check_op(lambda x: x.squeeze(1), lambda x: x.squeeze(1), [a])
    check_op(lambda x: x.T, lambda x: x.permute(3, 2, 1, 0), [a])


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_indexing(shape, seed, data):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    # basic slices
    sl = tuple(slice(data.draw(st.integers(0, s - 1)), None, data.draw(st.integers(1, 2))) for s in shape)
    check_op(lambda x: x[sl], lambda x: x[sl], [a])
    # integer array with repeats (gradients must add up)
    idx = rng.integers(0, shape[0], size=data.draw(st.integers(1, 6)))
    check_op(lambda x: x[shendu.tensor(idx)], lambda x: x[torch.from_numpy(idx)], [a])
    # boolean mask
    mask = rng.uniform(size=shape) > 0.5
    check_op(lambda x: x[shendu.tensor(mask)], lambda x: x[torch.from_numpy(mask)], [a])


def test_indexing_mixed_int_and_array():
    a = np.random.default_rng(0).standard_normal((4, 5))
    rows, cols = np.array([0, 2, 2]), np.array([1, 1, 4])
    check_op(lambda x: x[rows, cols], lambda x: x[torch.from_numpy(rows), torch.from_numpy(cols)], [a])
    check_op(lambda x: x[1, ..., None], lambda x: x[1, ..., None], [a])


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_cat_and_stack(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(1, 3))
    a, b, c = rng.standard_normal(shape), rng.standard_normal(other), rng.standard_normal(shape)
    check_op(lambda x, y: shendu.cat([x, y], dim=dim), lambda x, y: torch.cat([x, y], dim=dim), [a, b])
    sdim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda x, y: shendu.stack([x, y], dim=sdim), lambda x, y: torch.stack([x, y], dim=sdim), [a, c])


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_pad(shape, seed, data):
    a = np.random.default_rng(seed).standard_normal(shape)
    n = data.draw(st.integers(1, len(shape)))
    widths = tuple(data.draw(st.integers(0, 2)) for _ in range(2 * n))
    value = data.draw(st.sampled_from([0.0, 1.5]))
    check_op(
        lambda x: shendu.pad(x, widths, value=value),
        lambda x: torch.nn.functional.pad(x, widths, value=value),
        [a],
    )


def test_float32_stays_float32_through_every_op():
    x = shendu.randn(3, 4, requires_grad=True)
    y = shendu.randn(4, requires_grad=True)
    z = (x * 2.5 + y / 3 - 1) ** 2
    z = shendu.exp(-z).sqrt() + shendu.log(x.abs() + 1) + shendu.maximum(x, y) + shendu.clip(x, -1, 1)
    z = shendu.where(x > 0, z, 0.0)
    out = (z @ y).var() + z.mean(dim=0).amax() + shendu.cat([z, z]).sum() + shendu.pad(z, (1, 1)).sum()
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float32


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_reductions_of_0d_tensors(name, dim):
    a = np.array(1.25)
    kw = {} if dim is None else {"dim": dim}
    check_op(lambda x: getattr(x, name)(**kw), lambda x: getattr(x, name)(**kw), [a])


def test_view_is_reshape():
    a = np.random.default_rng(0).standard_normal((2, 6))
    check_op(lambda x: x.view(3, 4), lambda x: x.view(3, 4), [a])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_0d_tensor_with_dim(name):
    check_op(
        lambda x: getattr(x, name)(dim=0).values, lambda x: getattr(x, name)(dim=0).values, [np.array(-0.5)]
    )
    assert getattr(shendu.tensor(3.0), name)(dim=-1).indices.item() == 0
