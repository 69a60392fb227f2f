"""Views share one version counter with their base, every in-place change bumps it, and
backward raises PyTorch's error exactly where PyTorch does (and agrees where it does not).

Each program is written once against the common API and run with ``lib`` = shendu and torch.
"""

import numpy as np
import pytest
import torch

import shendu

MSG = "modified by an inplace operation"


def _w(lib):
    return lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)


def _x(lib):
    return lib.tensor([3.0, 4.0], dtype=lib.float64)


def _m(lib):
    return lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)


def saved_reshape_base_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x.reshape(2)).sum()
    x.add_(100)
    return y, [w]


def saved_slice_base_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x[:]).sum()
    x.add_(100)
    return y, [w]


def saved_transpose_base_changed(lib):
    w, m = lib.ones(2, 2, dtype=lib.float64, requires_grad=True), _m(lib)
    y = (w * m.T).sum()
    m.mul_(2)
    return y, [w]


def saved_view_base_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x.view(2)).sum()
    x.sub_(1)
    return y, [w]


def saved_base_element_view_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x).sum()
    x[0].add_(5)
    return y, [w]


def saved_base_changed_by_setitem(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x).sum()
    x[1] = 7.0
    return y, [w]


def saved_output_changed_through_detach(lib):
    w = _w(lib)
    h = w.exp()
    y = h.sum() * 1.0
    z = (h * 1.0).sum()
    h.detach().add_(1)
    return y + z, [w]


def saved_output_changed_through_detach_after_del(lib):
    w = _w(lib)
    h = w.exp()
    d = h.detach()
    y = h.sum()
    del h
    d.add_(1)
    return y, [w]


def saved_leaf_changed_under_no_grad(lib):
    w = _w(lib)
    y = (w * w).sum()
    with lib.no_grad():
        w.mul_(3)
    return y, [w]


def saved_leaf_view_changed_under_no_grad(lib):
    w = _w(lib)
    y = (w * w).sum()
    with lib.no_grad():
        w[1:].add_(1)
    return y, [w]


def detached_view_of_saved_sigmoid(lib):
    w = _w(lib)
    s = w.sigmoid()
    y = s.sum()
    s.detach()[0].zero_()
    return y, [w]


# --- where PyTorch does not raise ----------------------------------------------------------
def unsaved_operand_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w + x).sum()
    x.add_(100)
    return y, [w]


def copy_of_saved_changed(lib):
    w, x = _w(lib), _x(lib)
    y = (w * x.clone()).sum()
    x.add_(100)
    return y, [w]


def reshape_copy_of_transposed_changed_base(lib):
    w, m = lib.ones(4, dtype=lib.float64, requires_grad=True), _m(lib)
    y = (w * m.T.reshape(4)).sum()  # a copy (not contiguous), in NumPy and in torch
    m.add_(1)
    return y, [w]


def other_storage_changed(lib):
    w, x = _w(lib), _x(lib)
    other = x.clone()
    y = (w * x).sum()
    other.add_(1)
    other[0] = 3.0
    return y, [w]


def changed_before_use(lib):
    w, x = _w(lib), _x(lib)
    x.view(2).add_(1)
    y = (w * x).sum()
    return y, [w]


def output_of_relu_not_saved_changed(lib):
    w = _w(lib)
    h = w * 2.0
    y = (h * 3.0).sum()
    with lib.no_grad():
        h.add_(1)  # Mul by a number saves nothing of h
    return y, [w]


def _net(lib, layers):
    """Linear layers (3 -> 4 -> 2, tanh between) with fixed float64 weights, in either library."""
    mods = [lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)] if layers == 2 else [lib.nn.Linear(3, 2)]
    net = lib.nn.Sequential(*mods).double()
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float64))
    return net


def _optimizer_step_between_backwards(lib, layers):
    net = _net(lib, layers)
    loss = (net(lib.ones(4, 3, dtype=lib.float64)) ** 2).sum()
    loss.backward(retain_graph=True)
    lib.optim.SGD(net.parameters(), lr=0.1).step()  # changes every weight in place
    return loss, list(net.parameters())


def optimizer_step_before_backward_weight_saved(lib):
    return _optimizer_step_between_backwards(lib, 2)  # the second layer's input needs grad: W2 saved


def optimizer_step_before_backward_weight_not_saved(lib):
    return _optimizer_step_between_backwards(lib, 1)  # x needs no grad: W is not saved, as in torch


def saved_zero_d_output_changed(lib):
    w = lib.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
    r = w[1][0].relu()  # NumPy returns a scalar for a 0-d input: ReLU's saved output must be r's array
    with lib.no_grad():
        r.add_(1)
    return r, [w]


PROGRAMS = [
    saved_zero_d_output_changed,
    optimizer_step_before_backward_weight_saved,
    optimizer_step_before_backward_weight_not_saved,
    saved_reshape_base_changed,
    saved_slice_base_changed,
    saved_transpose_base_changed,
    saved_view_base_changed,
    saved_base_element_view_changed,
    saved_base_changed_by_setitem,
    saved_output_changed_through_detach,
    saved_output_changed_through_detach_after_del,
    saved_leaf_changed_under_no_grad,
    saved_leaf_view_changed_under_no_grad,
    detached_view_of_saved_sigmoid,
    unsaved_operand_changed,
    copy_of_saved_changed,
    reshape_copy_of_transposed_changed_base,
    other_storage_changed,
    changed_before_use,
    output_of_relu_not_saved_changed,
]


def _run(lib, program):
    y, leaves = program(lib)
    try:
        y.backward()
    except RuntimeError as e:
        assert MSG in str(e), str(e)
        return "raises"
    return [np.asarray(leaf.grad.detach().numpy() if lib is torch else leaf.grad.numpy()) for leaf in leaves]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_raises_exactly_where_torch_raises(program):
    expected = _run(torch, program)
    got = _run(shendu, program)
    if isinstance(expected, str):
        assert got == "raises", "torch raises, shendu gave gradients"
    else:
        assert not isinstance(got, str), "shendu raises where torch does not"
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12)


def test_the_issue_cases_raise():
    """Names the programs the issue lists, so none of them can silently drop out of PROGRAMS."""
    for program in (
        saved_reshape_base_changed,
        saved_slice_base_changed,
        saved_transpose_base_changed,
        saved_view_base_changed,
        saved_base_element_view_changed,
        saved_output_changed_through_detach,
    ):
        assert _run(shendu, program) == "raises", program.__name__


def test_views_share_the_version_counter():
    x = shendu.zeros(2, 3)
    views = [
        x.reshape(6),
        x[0],
        x.T,
        x.transpose(0, 1),
        x.view(3, 2),
        x.detach(),
        x.unsqueeze(0),
        x.expand(2, 2, 3),
    ]
    for k, v in enumerate(views):
        before = x._version
        if k < 6:
            with shendu.no_grad():
                v[...] = 1.0 if v.ndim else 1.0
        else:
            x.add_(1)
        assert x._version == before + 1 and v._version == x._version
    copy = x.T.reshape(6)  # not contiguous: a copy, its own counter
    x.add_(1)
    assert copy._version == 0


def test_a_write_through_data_to_a_saved_leaf_is_caught():
    """torch gives a gradient from the changed value here (its ``.data`` has its own version
    counter); shendu's ``.data`` shares the counter, so backward refuses (issue 9)."""
    w = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.data[0] = 5.0
    with pytest.raises(RuntimeError, match=MSG):
        y.backward()
