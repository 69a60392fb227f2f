"""``Tensor.data`` as in PyTorch: a tensor outside the graph that shares storage, with its own
version counter. Every test runs the same lines on torch and on shendu and compares."""

import numpy as np
import pytest
import torch

import shendu
from shendu import nn

LIBS = [torch, shendu]


def parameter(lib, values):
    return (torch.nn if lib is torch else nn).Parameter(lib.tensor(values))


def values(t) -> list:
    return t.detach().tolist()


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_data_is_a_plain_tensor_outside_the_graph_sharing_storage(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert type(d) is lib.Tensor and not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert type(parameter(lib, [1.0]).data) is lib.Tensor  # not a Parameter
    assert (x * 2).data.grad_fn is None and (x * 2).data.is_leaf
    d.add_(1)  # no no_grad() needed: .data does not require grad
    assert values(x) == [2.0, 3.0] and x.requires_grad
    d.numpy()[0] = 7  # .data.numpy() is the same memory too
    assert values(x) == [7.0, 3.0]
    assert x.data is not x.data  # a new tensor each time, over the same memory
    assert x.data.data.tolist() == [7.0, 3.0]


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_data_of_a_view_writes_through_to_the_base(lib):
    base = lib.zeros(4)
    base[1:3].data.fill_(1)
    assert base.tolist() == [0.0, 1.0, 1.0, 0.0]


def _square_twice(lib):
    x = lib.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = x * x
    return x, y, y * y  # y is saved for the gradient of y * y


def test_changes_through_data_are_caught_where_torch_silently_uses_them():
    """PyTorch's documented trap: there backward uses the changed values and does not complain.
    shendu's ``.data`` shares the version counter (as ``detach()``), so backward raises instead."""
    x, y, z = _square_twice(torch)
    y.data.add_(1)
    assert y._version == 0 and y.data._version == 0  # torch: .data has its own counter
    z.sum().backward()
    assert x.grad.tolist() == [8.0, 8.0, 8.0]  # d(y²)/dx = 2y·2x with the changed y = 2: a wrong gradient
    x, y, z = _square_twice(shendu)
    y.data.add_(1)
    assert y._version == 1 and y.data._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_changes_through_detach_are_seen_by_backward(lib):
    x, y, z = _square_twice(lib)
    y.detach().add_(1)
    assert y._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_optimiser_idioms_on_data():
    """``grad.data.zero_()``, ``p.data.add_(g, alpha=-lr)``, ``p.data.copy_``, ``p.data -= lr * g``."""
    out = {}
    for lib in LIBS:
        p = parameter(lib, [1.0, -2.0, 3.0])
        memory = p.detach().numpy()
        for step in range(3):
            p.grad = None
            (p * p * (step + 1)).sum().backward()
            if step == 0:
                p.data.add_(p.grad, alpha=-0.1)
            elif step == 1:
                p.data -= 0.05 * p.grad
            else:
                p.data.copy_(p.data * 0.5 - 0.01 * p.grad.data)
            p.grad.data.zero_()
            assert p.grad.tolist() == [0.0, 0.0, 0.0]
        assert p.requires_grad and isinstance(p, lib.Tensor)
        assert np.shares_memory(memory, p.detach().numpy())  # updated in place
        out[lib.__name__] = values(p)
    np.testing.assert_allclose(out["shendu"], out["torch"], rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_assigning_data_replaces_the_storage(lib):
    p = parameter(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    new = lib.zeros(4, dtype=lib.float64)
    p.data = new  # any shape and floating dtype, shared with ``new``, as PyTorch's set_data
    assert p.shape == (4,) and p.dtype == lib.float64 and p.requires_grad
    new[0] = 9
    assert values(p) == [9.0, 0.0, 0.0, 0.0]
    (p * p).sum().backward()  # still a trainable leaf
    assert p.grad.tolist() == [18.0, 0.0, 0.0, 0.0]
    w = lib.zeros(2)
    w.data = lib.tensor([1, 2, 3])  # a tensor that needs no gradient may take any dtype
    assert w.tolist() == [1, 2, 3]


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_assigning_data_refuses_what_torch_refuses(lib):
    p = parameter(lib, [1.0, 2.0])
    with pytest.raises(TypeError, match="data"):
        p.data = [3.0, 4.0]
    with pytest.raises(TypeError, match="data"):
        p.data = np.zeros(2)
    with pytest.raises(RuntimeError, match="requires gradients.*floating.point"):
        p.data = lib.tensor([1, 2])
    assert values(p) == [1.0, 2.0]


def test_numpy_sees_data_as_an_array():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    a = np.asarray(x.data)
    assert type(a) is np.ndarray and np.shares_memory(a, x.numpy())
    assert type(x.data.numpy()) is np.ndarray and x.data.numpy().dtype == np.float32


@pytest.mark.parametrize("lib", LIBS, ids=["torch", "shendu"])
def test_a_0d_gradient_summed_over_two_paths_is_still_changed_in_place(lib):
    # Two paths into w add two 0-d gradients; NumPy's 0-d sum is a scalar, which must not end up
    # as the gradient's storage (zero_ and .data.zero_() would fail or change a copy).
    w = lib.tensor(2.0, requires_grad=True)
    (w * w).backward()
    assert w.grad.item() == 4.0
    w.grad.data.zero_()
    assert w.grad.item() == 0.0
    (w * w).backward()
    w.grad.zero_()
    assert w.grad.item() == 0.0
