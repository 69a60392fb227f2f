"""Semantics where shendu once differed from PyTorch: dtype promotion, casts, shapes, iteration.

Each test compares with torch on the same input, so it states PyTorch's behaviour, not ours.
"""

import numpy as np
import pytest
import torch

import shendu


def _dtype(t: torch.Tensor) -> np.dtype:
    return np.dtype(str(t.dtype).replace("torch.", ""))


@pytest.mark.parametrize("exponent", [np.float64(2.0), np.float32(2.0), np.int64(2), 2, 2.0])
def test_float32_power_of_numpy_scalar_stays_float32(exponent):
    xs = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    x = shendu.tensor(xs, requires_grad=True)
    y = x**exponent
    assert y.dtype == _dtype(torch.from_numpy(xs) ** exponent) == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * xs)


def test_float32_times_0d_float64_tensor_stays_float32():
    # PyTorch: a 0-d tensor of the same kind does not promote a dimensioned one.
    x = shendu.ones(3, requires_grad=True)
    s = shendu.tensor(np.float64(2.0))
    for y, t in [
        (x * s, torch.ones(3) * torch.tensor(2.0, dtype=torch.float64)),
        (s - x, torch.tensor(2.0, dtype=torch.float64) - torch.ones(3)),
        (x / np.array(2.0), torch.ones(3) / torch.tensor(2.0, dtype=torch.float64)),
    ]:
        assert y.dtype == _dtype(t) == np.float32
    (x * s).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
    # dimensioned float64 still wins, and a 0-d float32 does not demote float64 input
    assert (x * np.ones(3)).dtype == np.float64
    assert (shendu.ones(3, dtype=np.float64) * shendu.tensor(2.0)).dtype == np.float64


def test_0d_float64_gets_gradient_in_its_own_dtype():
    s = shendu.tensor(np.float64(3.0), requires_grad=True)
    x = shendu.tensor([1.0, 2.0])
    (x * s).sum().backward()
    assert s.grad.dtype == np.float64 and s.grad.item() == pytest.approx(3.0)


def test_clamp_with_numpy_float64_bounds_keeps_float32():
    xs = np.array([-2.0, 0.5, 3.0], dtype=np.float32)
    x = shendu.tensor(xs, requires_grad=True)
    y = x.clamp(np.float64(-1.0), np.float64(1.0))
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0])


def test_clamp_int_tensor_with_float_bounds_gives_float32_like_torch():
    y = shendu.tensor([1, 5]).clamp(0.5, 3.5)
    t = torch.tensor([1, 5]).clamp(0.5, 3.5)
    assert y.dtype == _dtype(t)
    np.testing.assert_array_equal(y.numpy(), t.numpy())


def test_clamp_with_tensor_bounds():
    x = shendu.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = x.clamp(shendu.tensor([-1.0, 1.0, 0.0]), shendu.tensor(2.0))
    t = torch.tensor([-2.0, 0.5, 3.0]).clamp(torch.tensor([-1.0, 1.0, 0.0]), torch.tensor(2.0))
    np.testing.assert_array_equal(y.numpy(), t.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_cat_and_stack_of_float32_and_int64_give_float32():
    a, b = np.ones(2, dtype=np.float32), np.array([1, 2])
    assert (
        shendu.cat([shendu.tensor(a), shendu.tensor(b)]).dtype
        == _dtype(torch.cat([torch.from_numpy(a), torch.from_numpy(b)]))
        == np.float32
    )
    assert shendu.stack([shendu.tensor(a), shendu.tensor(b)]).dtype == np.float32
    x = shendu.tensor(a, requires_grad=True)
    shendu.cat([x, shendu.tensor(b)]).sum().backward()
    assert x.grad.dtype == np.float32


def test_cat_of_0d_tensors_is_a_clear_error():
    with pytest.raises(ValueError, match="0-d tensor.*position 0.*stack"):
        shendu.cat([shendu.tensor(1.0), shendu.tensor(2.0)])


def test_cast_to_integer_leaves_the_graph():
    x = shendu.tensor([1.5, 2.5], requires_grad=True)
    assert x.to(shendu.int64).requires_grad is False
    assert x.long().requires_grad is False and x.bool().requires_grad is False
    assert torch.tensor([1.5], requires_grad=True).long().requires_grad is False
    assert x.double().requires_grad is True


def test_var_and_std_of_integers_are_float32():
    y = shendu.tensor([1, 2, 3, 4]).var()
    assert y.dtype == np.float32
    assert y.item() == pytest.approx(torch.tensor([1.0, 2.0, 3.0, 4.0]).var().item())


def test_reduction_over_a_repeated_dim_names_it():
    with pytest.raises(ValueError, match="dim -1 appears multiple times"):
        shendu.ones(2, 3).sum((1, -1))


@pytest.mark.parametrize("dim", [(1, 2), (-1, 1), (0, 1), 1, -2, None])
def test_squeeze_accepts_a_tuple_of_dims(dim):
    x = np.ones((2, 1, 1))
    expected = torch.from_numpy(x).squeeze() if dim is None else torch.from_numpy(x).squeeze(dim)
    assert shendu.tensor(x).squeeze(dim).shape == tuple(expected.shape)


def test_squeeze_out_of_range_dim_is_an_index_error():
    with pytest.raises(IndexError, match="dim 5 out of range"):
        shendu.ones(2, 3).squeeze(5)


def test_transpose_and_flatten_reject_bad_dims():
    with pytest.raises(IndexError, match="transpose: dim 2"):
        shendu.ones(2, 3).transpose(0, 2)
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        shendu.ones(2, 3, 4).flatten(2, 1)
    with pytest.raises(IndexError, match="flatten: dim 1"):
        shendu.ones(3).flatten(1)


def test_iterating_walks_the_first_axis_and_a_0d_tensor_refuses():
    x = shendu.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 2.0], [1.0, 1.0]])
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(shendu.tensor(1.0))


def test_ndarray_on_the_left_gives_a_tensor():
    x = shendu.ones(3, requires_grad=True)
    for y in (
        np.ones(3, dtype=np.float32) + x,
        np.ones(3, dtype=np.float32) * x,
        np.float64(2.0) * x,
        np.float64(2.0) - x,
        np.float64(2.0) / x,
    ):
        assert isinstance(y, shendu.Tensor) and y.dtype == np.float32 and y.requires_grad


def test_format_spec_on_a_0d_tensor_formats_its_value():
    loss = shendu.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{shendu.tensor(7):>3}" == "  7"
    assert f"{shendu.ones(2)}" == str(shendu.ones(2))
    with pytest.raises(TypeError):
        f"{shendu.ones(2):.2f}"


def test_set_grad_enabled_as_call_context_and_decorator():
    x = shendu.ones(2, requires_grad=True)
    for training in (True, False):
        with shendu.set_grad_enabled(training):
            assert (x * 2).requires_grad is training
        assert shendu.is_grad_enabled()
    shendu.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        shendu.set_grad_enabled(True)

    @shendu.set_grad_enabled(False)
    def evaluate():
        return x * 2

    assert shendu.is_grad_enabled()  # decorating changes nothing
    assert not evaluate().requires_grad and shendu.is_grad_enabled()


def test_max_and_min_of_two_tensors_are_elementwise_like_torch():
    a, b = np.array([1.0, 5.0, 2.0]), np.array([3.0, 2.0, 2.0])
    x = shendu.tensor(a, requires_grad=True)
    y = shendu.max(x, shendu.tensor(b))
    np.testing.assert_array_equal(y.numpy(), torch.max(torch.from_numpy(a), torch.from_numpy(b)).numpy())
    np.testing.assert_array_equal(x.min(shendu.tensor(b)).numpy(), np.minimum(a, b))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.5])  # ties split, as shendu.maximum


def test_logical_and_integer_operators_match_torch():
    m, n = np.array([True, False, True]), np.array([True, True, False])
    sm, sn, tm, tn = shendu.tensor(m), shendu.tensor(n), torch.from_numpy(m), torch.from_numpy(n)
    for s_out, t_out in [
        (~sm, ~tm),
        (sm & sn, tm & tn),
        (sm | sn, tm | tn),
        (sm ^ sn, tm ^ tn),
        (sm & True, tm & True),
        (m & sn, tm & tn),
    ]:
        assert isinstance(s_out, shendu.Tensor) and s_out.dtype == np.bool_
        np.testing.assert_array_equal(s_out.numpy(), t_out.numpy())
    k = np.array([-5, 6, 7])
    for s_out, t_out in [
        (shendu.tensor(k) % 4, torch.from_numpy(k) % 4),
        (shendu.tensor(k) // 4, torch.from_numpy(k) // 4),
        (7 % shendu.tensor(np.array([4, 5])), 7 % torch.tensor([4, 5])),
        (shendu.tensor([5.5, -1.5]) % 2, torch.tensor([5.5, -1.5]) % 2),
    ]:
        assert s_out.dtype == _dtype(t_out)
        np.testing.assert_array_equal(s_out.numpy(), t_out.numpy())
    assert (shendu.ones(2) % np.float64(2)).dtype == np.float32


def test_non_differentiable_operator_on_a_tensor_that_requires_grad_is_an_error():
    x = shendu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="'%' is not differentiable"):
        x % 2
    np.testing.assert_array_equal((x.detach() // 2).numpy(), [0.0, 0.0])
    with pytest.raises(TypeError, match="~ is only defined for bool and integer"):
        ~shendu.ones(2)


def test_expand_rejects_minus_one_for_a_new_leading_dim():
    assert shendu.ones(3, 1).expand(2, -1, 4).shape == tuple(torch.ones(3, 1).expand(2, -1, 4).shape)
    with pytest.raises(ValueError, match="-1 is not allowed for a new leading dimension"):
        shendu.ones(3).expand(-1, 3)


def test_np_array_of_a_tensor_is_a_copy_and_np_asarray_shares():
    t = shendu.ones(3)
    a = np.array(t)
    a[0] = 5.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 1.0])  # like np.array(torch_tensor)
    np.array(t, dtype=np.float32)[1] = 7.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 1.0])
    np.asarray(t)[2] = 9.0  # like np.asarray(torch_tensor): shared memory
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 9.0])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_cat_and_stack_reject_an_out_of_range_dim():
    a = shendu.ones(2, 3)
    with pytest.raises(IndexError, match="cat: dim 2 is out of range"):
        shendu.cat([a, a], dim=2)  # used to wrap around to dim 0
    with pytest.raises(IndexError, match="stack: dim -4 is out of range"):
        shendu.stack([a, a], dim=-4)
    assert shendu.cat([a, a], dim=-1).shape == (2, 6)
    assert shendu.stack([a, a], dim=2).shape == tuple(torch.stack([torch.ones(2, 3)] * 2, dim=2).shape)


def test_permute_rejects_an_out_of_range_dim():
    with pytest.raises(ValueError, match=r"dims \(0, 3\) are not a permutation"):
        shendu.ones(2, 3).permute(0, 3)  # 3 used to wrap around to 1
    assert shendu.ones(2, 3, 4).permute(-1, 0, 1).shape == (4, 2, 3)


@pytest.mark.parametrize("shape", [(4, 2), (-1, 4), (-1, -1), (7,)])
@pytest.mark.parametrize("method", ["reshape", "view"])
def test_a_shape_that_does_not_hold_the_elements_raises_runtime_error_as_torch(shape, method):
    """PyTorch raises RuntimeError; shendu's error is that and a ValueError (its bad-input kind)."""
    with pytest.raises(RuntimeError):
        getattr(torch.zeros(2, 3), method)(*shape)
    with pytest.raises(RuntimeError, match=r"shape .* is invalid for input of shape \(2, 3\)") as info:
        getattr(shendu.zeros(2, 3), method)(*shape)
    assert isinstance(info.value, ValueError)


NAN = float("nan")


@pytest.mark.parametrize(
    "values",
    [[1.0, NAN, 3.0, -2.0], [NAN, 2.0, NAN, 2.0], [3.0, 1.0, 3.0, -3.0], [-1.0, -1.0, 0.5, -1.0]],
)
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_gradient_of_max_and_min_of_every_element_with_nan_and_ties_as_torch(values, name):
    """torch.max(x) shares the gradient among the NaNs when the result is NaN (amax gives NaN
    everywhere then); ties share it evenly in both."""
    x = shendu.tensor(values, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, ty = getattr(x, name)(), getattr(tx, name)()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    y.backward()
    ty.backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("values", [[1.0, NAN, -0.0, 0.0, -np.inf, 2.5], [NAN, NAN, np.inf, -3.0, 1.0, 0.0]])
def test_gradient_of_abs_and_l1_loss_is_zero_at_nan_as_torch(values):
    import torch.nn.functional as TF

    import shendu.nn.functional as F

    x = shendu.tensor(values, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    x.abs().sum().backward()
    tx.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    x.grad = tx.grad = None
    target = [1.0] * len(values)
    F.l1_loss(x, shendu.tensor(target, dtype=np.float64)).backward()
    TF.l1_loss(tx, torch.tensor(target, dtype=torch.float64)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


SPECIALS = [0.0, -0.0, np.inf, -np.inf, NAN, 1e308, -1e308, 1e-310, 1.0, -1.0, 0.5, -2.5, 3.0, 700.0]


@pytest.mark.parametrize(
    "name, op",
    [
        ("div", lambda lib, a, b: a / b),
        ("pow", lambda lib, a, b: a**b),
        ("maximum", lambda lib, a, b: lib.maximum(a, b)),
        ("minimum", lambda lib, a, b: lib.minimum(a, b)),
    ],
)
def test_binary_gradients_at_special_values_as_torch(name, op):
    """Every pair of ±0, ±∞, NaN, huge, subnormal and plain values: the values and both gradients
    as PyTorch's (its limits: 0·∞ taken as 0 in pow, −(a/b)/b in div, NaN in max/min giving
    both operands the gradient)."""
    a_np, b_np = (g.ravel() for g in np.meshgrid(SPECIALS, SPECIALS, indexing="ij"))
    a, b = (shendu.tensor(v, dtype=np.float64, requires_grad=True) for v in (a_np, b_np))
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a_np, b_np))
    with np.errstate(all="ignore"):
        y = op(shendu, a, b)
        y.sum().backward()
    ty = op(torch, ta, tb)
    ty.sum().backward()
    pairs = [(y, ty.detach()), (a.grad, ta.grad), (b.grad, tb.grad)]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_gradient_at_large_and_infinite_logits(pos_weight):
    """σ(x) − t without cancellation: at x = −30, t = 0 it is σ(−30) to 1e-12 (1 − σ(30) kept
    only 4 digits), and −∞ gives −t·pw, not NaN; PyTorch where its own formula is exact."""
    import torch.nn.functional as TF

    import shendu.nn.functional as F

    logits = [-np.inf, -800.0, -30.0, 0.0, 30.0, 800.0, np.inf]
    x_np, t_np = (g.ravel() for g in np.meshgrid(logits, [0.0, 0.3, 1.0]))
    x = shendu.tensor(x_np, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    pw = None if pos_weight is None else shendu.tensor([pos_weight], dtype=np.float64)
    tpw = None if pos_weight is None else torch.tensor([pos_weight], dtype=torch.float64)
    with np.errstate(all="ignore"):
        F.binary_cross_entropy_with_logits(
            x, shendu.tensor(t_np, dtype=np.float64), reduction="sum", pos_weight=pw
        ).backward()
    TF.binary_cross_entropy_with_logits(
        tx, torch.tensor(t_np, dtype=torch.float64), reduction="sum", pos_weight=tpw
    ).backward()
    with np.errstate(over="ignore"):  # σ(±x) as 1 / (1 + e^∓x): no cancellation in float64
        sig, sig_neg = 1 / (1 + np.exp(-x_np)), 1 / (1 + np.exp(x_np))
    expected = (1 - t_np) * sig - (1 if pos_weight is None else pos_weight) * t_np * sig_neg
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-300)
    exact_in_torch = (t_np == 0) | (t_np == 1) & (x_np <= 0) | ~np.isfinite(x_np) | (x_np == 0)
    np.testing.assert_allclose(x.grad.numpy()[exact_in_torch], tx.grad.numpy()[exact_in_torch], rtol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"dim": -1}, {"dim": 0, "keepdim": True}, {"unbiased": False}])
@pytest.mark.parametrize("values", [[[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]])
def test_std_of_a_constant_has_gradient_zero_as_torch(values, kw):
    """√ at a spread of 0 would make 0·∞ = NaN; PyTorch's (and shendu's) std gradient is 0 there."""
    x = shendu.tensor(values, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, ty = x.std(**kw), tx.std(**kw)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-14)
    (y * y.detach().exp()).sum().backward()  # a gradient that differs per output
    (ty * ty.detach().exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-300)
    assert np.isfinite(x.grad.numpy()).all()
