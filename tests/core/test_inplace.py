"""In-place updates as PyTorch users write them in optimiser and initialisation code."""

import numpy as np
import pytest
import torch

import shendu


def test_augmented_assignment_under_no_grad_updates_the_parameter_in_place():
    # The manual training loop of PyTorch's tutorials.
    w = shendu.tensor([1.0, -2.0], requires_grad=True)
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        (w * w).sum().backward()
        (tw * tw).sum().backward()
        with shendu.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
        with torch.no_grad():
            tw -= 0.1 * tw.grad
            tw.grad.zero_()
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-6)


def test_augmented_assignment_on_a_leaf_that_requires_grad_is_an_error():
    w = shendu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in.*no_grad"):
        w += 1
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0])


def test_augmented_assignment_inside_a_graph_records_the_op():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y += x  # a non-leaf: a new node, as PyTorch records the in-place op
    y *= 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 9.0])
    total = shendu.zeros(2)
    total += x  # a constant plus a tensor that requires grad joins the graph
    assert total.requires_grad


def test_augmented_assignment_without_a_graph_is_in_place():
    acc = shendu.zeros(3)
    alias = acc
    acc += shendu.ones(3)
    acc *= 2
    assert acc is alias
    np.testing.assert_array_equal(alias.numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("add_", ([1.0, 2.0, 3.0],), {"alpha": -0.5}),
        ("sub_", ([1.0, 2.0, 3.0],), {"alpha": 2}),
        ("mul_", (np.float64(3.0),), {}),
        ("div_", (4.0,), {}),
        ("clamp_", (-0.5, 0.5), {}),
        ("fill_", (7.0,), {}),
        ("copy_", ([9.0, 8.0, 7.0],), {}),
        ("zero_", (), {}),
    ],
)
def test_inplace_methods_match_torch_and_keep_float32(name, args, kwargs):
    xs = np.array([-1.0, 0.25, 2.0], dtype=np.float32)
    x = shendu.tensor(xs)
    t = torch.from_numpy(xs.copy())
    t_args = [torch.tensor(a, dtype=torch.float32) if isinstance(a, list) else a for a in args]
    s_args = [shendu.tensor(a) if isinstance(a, list) else a for a in args]
    out = getattr(x, name)(*s_args, **kwargs)
    getattr(t, name)(*t_args, **kwargs)
    assert out is x
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)


def test_inplace_method_on_a_parameter_needs_no_grad():
    p = shendu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf Variable that requires grad is being used"):
        p.add_(1.0)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        p[0].add_(1.0)
    with shendu.no_grad():
        p.add_(shendu.tensor([1.0, 2.0]), alpha=-0.5).mul_(2)
    np.testing.assert_allclose(p.numpy(), [1.0, 0.0])
    assert p.requires_grad and p.is_leaf


def test_inplace_with_an_operand_that_requires_grad_joins_the_graph_as_in_torch():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    buf = shendu.zeros(2)
    buf.add_(x * x)  # buf becomes a non-leaf of the graph, as PyTorch's AddBackward
    assert buf.requires_grad and not buf.is_leaf
    (buf * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_inplace_errors_name_dtype_and_shape():
    with pytest.raises(TypeError, match="float64 cannot be stored in a tensor of dtype int64"):
        shendu.tensor([1, 2]).add_(0.5)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not fit the tensor's shape \(3,\)"):
        shendu.zeros(3).add_(np.ones((2, 3)))


def test_normal_and_uniform_fill_in_place_from_the_seeded_generator():
    shendu.manual_seed(3)
    a = shendu.zeros(1000).normal_(1.0, 2.0)
    shendu.manual_seed(3)
    b = shendu.zeros(1000).normal_(1.0, 2.0)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    assert abs(a.numpy().mean() - 1.0) < 0.2 and abs(a.numpy().std() - 2.0) < 0.2
    u = shendu.zeros(1000).uniform_(-3.0, -1.0)
    assert u.dtype == np.float32 and u.numpy().min() >= -3.0 and u.numpy().max() < -1.0


def test_setitem_of_a_value_that_requires_grad_is_recorded_not_a_silent_cut():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    buf = shendu.zeros(3)
    buf[:2] = x * x  # PyTorch's CopySlices: the gradient reaches x through the slice
    (buf * shendu.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0])
    buf = shendu.zeros(3)
    with shendu.no_grad():
        buf[:2] = x * 2
    np.testing.assert_array_equal(buf.numpy(), [2.0, 4.0, 0.0])
    assert not buf.requires_grad


def test_inplace_with_a_list_operand_and_alpha():
    x = shendu.zeros(3)
    x.add_([1.0, 2.0, 3.0], alpha=2)  # 2 * [1, 2, 3] must not repeat the list
    np.testing.assert_array_equal(x.numpy(), [2.0, 4.0, 6.0])
    x += [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(x.numpy(), [3.0, 5.0, 7.0])


def test_changing_a_saved_tensor_in_place_is_caught_at_backward_like_torch():
    w = shendu.tensor([1.0, 2.0], requires_grad=True)
    x = shendu.tensor([3.0, 4.0])
    y = (w * x).sum()  # Mul saves x for dL/dw
    x += 1  # in place: dL/dw would silently become x + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*MulBackward|saved by Mul"):
        y.backward()
    tw, tx = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0])
    ty = (tw * tx).sum()
    tx += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.backward()


def test_output_saved_by_its_op_and_changed_under_no_grad_is_caught():
    x = shendu.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output y
    with shendu.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_change_of_an_unsaved_input_is_allowed():
    w = shendu.tensor([1.0, 2.0], requires_grad=True)
    x = shendu.tensor([3.0, 4.0])
    y = (w + x).sum()  # Add saves nothing
    x.add_(1)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])
