"""conv2d / conv1d / conv_output_size against torch.nn.functional and numerical gradients."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import shendu
from shendu.autograd import gradcheck
from shendu.nn.functional import conv as conv_module
from shendu.nn.functional import im2col
from shendu.nn.functional.conv import conv1d, conv2d, conv_output_size
from tests.helpers import assert_close, check_op, to_torch


@st.composite
def conv_cases(draw, nd: int = 2):
    """Shapes and hyper-parameters of a valid convolution with nd spatial axes."""
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    spatial = []
    for k, d, p in zip(kernel, dilation, padding, strict=True):
        span = d * (k - 1) + 1
        spatial.append(max(1, span - 2 * p) + draw(st.integers(0, 6)))
    bias = draw(st.booleans())
    return dict(
        x=(n, c_in, *spatial),
        w=(c_out, c_in // groups, *kernel),
        bias=bias,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


def _arrays(case, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(case["x"]), rng.standard_normal(case["w"])]
    if case["bias"]:
        arrays.append(rng.standard_normal(case["w"][0]))
    return [a.astype(dtype) for a in arrays]


def _fns(case, ours, theirs):
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    return (lambda *t: ours(*t, **kw)), (lambda *t: theirs(*t, **kw))


# im2col builds colᵀ for thin inputs only, and chunks of images by size: force each layout, and
# one image per chunk, in turn.
COLUMN_ORDERS = {
    "taps-outer": dict(taps_outer=lambda *a: True),
    "windows-outer": dict(taps_outer=lambda *a: False),
    "one-image-chunks": dict(CHUNK_BYTES=1),
}


def _layout(order):
    return mock.patch.multiple(conv_module, **COLUMN_ORDERS[order])


@pytest.mark.parametrize("order", COLUMN_ORDERS)
@given(case=conv_cases())
def test_conv2d_matches_torch_float64(order, case):
    s_fn, t_fn = _fns(case, conv2d, TF.conv2d)
    with _layout(order):
        check_op(s_fn, t_fn, _arrays(case, np.float64), rtol=1e-6, atol=1e-9, numerical=False)


@pytest.mark.parametrize("order", COLUMN_ORDERS)
@given(case=conv_cases())
def test_conv2d_matches_torch_float32_and_stays_float32(order, case):
    s_fn, t_fn = _fns(case, conv2d, TF.conv2d)
    with _layout(order):
        check_op(s_fn, t_fn, _arrays(case, np.float32), rtol=1e-4, atol=1e-4, numerical=False)


@given(conv_cases(nd=1))
def test_conv1d_matches_torch(case):
    s_fn, t_fn = _fns(case, conv1d, TF.conv1d)
    check_op(s_fn, t_fn, _arrays(case, np.float64), rtol=1e-6, atol=1e-9, numerical=False)


@pytest.mark.parametrize(
    "x, w, kw",
    [
        ((2, 4, 5, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
        ((1, 2, 4, 4), (3, 2, 2, 2), dict(stride=1, padding=0)),
        ((2, 3, 5, 5), (3, 1, 3, 3), dict(padding=1, groups=3)),  # depthwise
    ],
)
@pytest.mark.parametrize("order", COLUMN_ORDERS)
def test_conv2d_gradcheck(x, w, kw, order):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(x), rng.standard_normal(w), rng.standard_normal(w[0])]
    with _layout(order):
        check_op(lambda *t: conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), arrays, rtol=1e-6, atol=1e-9)


def test_conv1d_gradcheck():
    rng = np.random.default_rng(2)
    x, w = (
        shendu.tensor(rng.standard_normal((2, 2, 7)), requires_grad=True),
        shendu.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True),
    )
    assert gradcheck(lambda a, b: conv1d(a, b, stride=2, padding=1, dilation=2), x, w)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own performance note
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, dilation", [((3, 4), (1, 1)), ((2, 3), (2, 1))])
def test_conv2d_string_padding(padding, kernel, dilation):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((4, 3, *kernel))]
    kw = dict(padding=padding, dilation=dilation)
    check_op(lambda *t: conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), arrays, numerical=False)


def test_unbatched_input():
    rng = np.random.default_rng(4)
    check_op(
        lambda x, w: conv2d(x, w, padding=1),
        lambda x, w: TF.conv2d(x, w, padding=1),
        [rng.standard_normal((3, 6, 5)), rng.standard_normal((2, 3, 3, 3))],
        numerical=False,
    )
    check_op(
        lambda x, w: conv1d(x, w),
        lambda x, w: TF.conv1d(x, w),
        [rng.standard_normal((3, 6)), rng.standard_normal((2, 3, 3))],
        numerical=False,
    )


def test_two_layers_and_a_reused_output():
    """A conv output feeds another conv, a pool and a sum of two branches; gradients add up."""
    rng = np.random.default_rng(5)
    x, w1, w2 = (
        rng.standard_normal((3, 2, 9, 9)),
        rng.standard_normal((4, 2, 3, 3)),
        rng.standard_normal((5, 4, 3, 3)),
    )

    def net(F, conv, x, w1, w2):
        h = conv(x, w1, padding=1)
        z = conv(F.relu(h) + h * 0.5, w2, stride=2)
        return F.max_pool2d(z, 2) * 3.0

    import shendu.nn.functional as SF

    check_op(lambda *t: net(SF, conv2d, *t), lambda *t: net(TF, TF.conv2d, *t), [x, w1, w2], numerical=False)


def test_float32_gradients_are_float32():
    x = shendu.randn(2, 3, 8, 8, requires_grad=True)
    w = shendu.randn(4, 3, 3, 3, requires_grad=True)
    b = shendu.zeros(4, requires_grad=True)
    y = conv2d(x, w, b, stride=2, padding=1)
    assert y.dtype == np.float32
    # conv works channels-last inside and hands back (N, C, H, W) views of channels-last arrays
    # (as PyTorch's channels_last), so the next convolution reads them without a transpose.
    assert y.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    (y * y).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    assert x.grad.numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    assert w.grad.numpy().flags.c_contiguous


def test_course_convolution_example():
    """The course's worked example: a 4×4 input, a 3×3 filter, bias 3 (stride 1, no padding)."""
    x = shendu.tensor([[[[1.0, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]]]])
    w = shendu.tensor([[[[2.0, 0, 1], [0, 1, 2], [1, 0, 2]]]])
    y = conv2d(x, w, shendu.tensor([3.0]))
    assert y.tolist() == [[[[18.0, 19.0], [9.0, 18.0]]]]


# ---- conv_output_size -------------------------------------------------------------------------


def test_conv_output_size_course_example():
    assert conv_output_size((28, 31), (5, 5), stride=3, padding=2) == (10, 11)
    assert conv_output_size(4, 3) == 2
    assert conv_output_size(7, 3, stride=2, padding=1, dilation=2) == 3


@given(st.integers(1, 30), st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3))
def test_conv_output_size_matches_torch(h, k, s, p, d):
    if d * (k - 1) + 1 > h + 2 * p:
        with pytest.raises(ValueError, match="not positive"):
            conv_output_size(h, k, s, p, d)
        return
    expected = TF.conv1d(torch.zeros(1, 1, h), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[
        -1
    ]
    assert conv_output_size(h, k, s, p, d) == expected


def test_conv_output_size_errors():
    with pytest.raises(ValueError, match="not positive"):
        conv_output_size(3, 5)
    with pytest.raises(ValueError, match="stride must be positive"):
        conv_output_size(10, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be zero or positive"):
        conv_output_size(10, 3, padding=-1)
    with pytest.raises(ValueError, match="same length"):
        conv_output_size((10, 10), (3, 3, 3))


# ---- errors ------------------------------------------------------------------------------------


def _zeros(*shape):
    return shendu.zeros(*shape)


def test_channel_mismatch_names_expected_and_actual_shapes():
    with pytest.raises(ValueError) as e:
        conv2d(_zeros(8, 1, 28, 28), _zeros(96, 3, 11, 11))
    assert str(e.value) == "conv2d expects input (N, 3, H, W) for weight (96, 3, 11, 11), got (8, 1, 28, 28)"


@pytest.mark.parametrize(
    "x, w, kw, match",
    [
        ((28, 28), (4, 1, 3, 3), {}, r"4-D \(N, C, H, W\) input, got shape \(28, 28\)"),
        ((2, 1, 8, 8), (4, 1, 3), {}, r"4-D weight"),
        ((2, 6, 8, 8), (4, 2, 3, 3), dict(groups=4), "in_channels 6 .* not divisible by groups 4"),
        ((2, 6, 8, 8), (4, 3, 3, 3), dict(groups=3), "out_channels 4 .* not divisible by groups 3"),
        ((2, 6, 8, 8), (6, 3, 3, 3), dict(groups=3), r"expects input \(N, 9, H, W\) .* groups=3"),
        ((2, 1, 4, 4), (4, 1, 5, 5), {}, r"kernel size \(5, 5\) is larger than the padded input \(4, 4\)"),
        ((2, 1, 4, 4), (4, 1, 3, 3), dict(dilation=2), r"spanning \(5, 5\)"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(stride=0), "stride must be positive"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(stride=(1, -1)), "stride must be positive"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(padding=-1), "padding must be zero or positive"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(dilation=0), "dilation must be positive"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(padding="full"), "'valid' or 'same'"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(padding="same", stride=2), "strided"),
        ((2, 1, 8, 8), (4, 1, 3, 3), dict(groups=0), "groups must be a positive int"),
    ],
)
def test_conv2d_errors(x, w, kw, match):
    with pytest.raises(ValueError, match=match):
        conv2d(_zeros(*x), _zeros(*w), **kw)


def test_conv2d_bias_and_dtype_errors():
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        conv2d(_zeros(1, 1, 5, 5), _zeros(4, 1, 3, 3), _zeros(3))
    with pytest.raises(ValueError, match="dtype"):
        conv2d(_zeros(1, 1, 5, 5), shendu.zeros(4, 1, 3, 3, dtype=np.float64))


def test_conv1d_errors():
    with pytest.raises(ValueError) as e:
        conv1d(_zeros(8, 2, 30), _zeros(16, 3, 5))
    assert str(e.value) == "conv1d expects input (N, 3, L) for weight (16, 3, 5), got (8, 2, 30)"
    with pytest.raises(ValueError, match=r"3-D \(N, C, L\) input"):
        conv1d(_zeros(8, 2, 30, 30), _zeros(16, 2, 5))


def test_torch_reference_agrees_with_plain_loop():
    """Guards the oracle itself on one case: a direct sum over the kernel, written out."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 2, 2))
    direct = np.zeros((1, 3, 4, 4))
    for i in range(2):
        for j in range(2):
            direct += np.einsum("nchw,oc->nohw", x[:, :, i : i + 4, j : j + 4], w[:, :, i, j])
    assert_close(conv2d(shendu.tensor(x), shendu.tensor(w)).detach().numpy(), direct, rtol=1e-12)
    assert_close(TF.conv2d(to_torch(x), to_torch(w)), direct, rtol=1e-12)


def test_mnist_sized_layers_match_torch():
    """At the benchmark's sizes both column layouts are used (colᵀ for one channel, then col)."""
    rng = np.random.default_rng(7)
    x, w1, w2 = (
        rng.standard_normal((3, 1, 28, 28)),
        rng.standard_normal((6, 1, 5, 5)),
        rng.standard_normal((4, 6, 5, 5)),
    )
    assert im2col.taps_outer(5, 1, 24, 1, 1) and not im2col.taps_outer(5, 6, 8, 1, 1)

    def net(F, conv, x, w1, w2):
        return conv(F.max_pool2d(conv(x, w1), 2), w2, padding=0)

    import shendu.nn.functional as SF

    check_op(lambda *t: net(SF, conv2d, *t), lambda *t: net(TF, TF.conv2d, *t), [x, w1, w2], numerical=False)


def test_non_contiguous_input():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 3, 9, 7)), rng.standard_normal((4, 3, 3, 3))
    check_op(
        lambda a, b: conv2d(a.permute(0, 1, 3, 2), b, stride=2),
        lambda a, b: TF.conv2d(a.permute(0, 1, 3, 2), b, stride=2),
        [x, w],
        numerical=False,
    )


def test_uint8_images_get_a_hint_to_scale_them():
    import shendu.nn as nn

    images = shendu.tensor(np.zeros((2, 1, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"uint8 and weight dtype float32.*x\.float\(\) / 255"):
        nn.Conv2d(1, 4, 3)(images)


# ---- weights stored channels-last ---------------------------------------------------------------


def _channels_last(a: np.ndarray) -> np.ndarray:
    """The same values, stored (O, *kernel, C) in memory as nn.Conv2d / nn.Conv1d keep theirs."""
    order = (0, *range(2, a.ndim), 1)
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


@pytest.mark.parametrize("make", [lambda: shendu.nn.Conv2d(3, 8, (3, 2)), lambda: shendu.nn.Conv1d(4, 6, 5)])
def test_conv_layers_store_weights_channels_last_with_the_numbers_of_a_c_ordered_weight(make):
    shendu.manual_seed(3)
    conv = make()
    w = conv.weight.numpy()
    assert not w.flags.c_contiguous and np.moveaxis(w, 1, -1).flags.c_contiguous
    shendu.manual_seed(3)
    plain = shendu.nn.Parameter(np.empty(w.shape, w.dtype))  # C-ordered, initialised as the layer does
    shendu.nn.init.kaiming_uniform_(plain, a=np.sqrt(5))
    np.testing.assert_array_equal(w, plain.numpy())


@given(case=conv_cases())
def test_a_channels_last_weight_gives_the_same_bits_as_a_c_ordered_one(case):
    """Forward and every gradient, bit for bit; ∂L/∂W comes back in its weight's own layout."""
    x, w, *b = _arrays(case, np.float32)
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    runs = []
    for weight in (w, _channels_last(w)):
        ts = [shendu.tensor(a, requires_grad=True) for a in (x, weight, *b)]
        y = conv2d(*ts, **kw)
        (y * y).sum().backward()
        runs.append((y.numpy(), *(t.grad.numpy() for t in ts)))
        assert ts[1].grad.numpy().strides == weight.strides or weight.flags.c_contiguous
    for ours, plain in zip(*runs, strict=True):
        np.testing.assert_array_equal(ours, plain)


def test_a_weight_changed_in_place_after_forward_makes_backward_raise_as_in_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    for net, lib, inputs in (
        (shendu.nn.Conv2d(3, 4, 3), shendu, shendu.tensor(x)),
        (torch.nn.Conv2d(3, 4, 3), torch, torch.tensor(x)),
    ):
        y = net(inputs).sum()
        with lib.no_grad():
            net.weight.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_a_channels_last_conv_layer_trains_copies_and_reloads_like_a_c_ordered_one(tmp_path):
    """Two SGD steps, deepcopy and a safetensors round trip keep the numbers and the layout."""
    import copy

    def make():
        nn = shendu.nn
        return nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU(), nn.Conv2d(5, 3, 3))

    shendu.manual_seed(0)
    ours = make()
    plain = copy.deepcopy(ours)
    for conv in (plain[0], plain[2]):
        conv.weight.data = shendu.tensor(np.ascontiguousarray(conv.weight.numpy()))
    x = shendu.tensor(np.random.default_rng(1).standard_normal((4, 2, 7, 7)).astype(np.float32))
    for net in (ours, plain):
        opt = shendu.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            (net(x) ** 2).mean().backward()
            opt.step()
    for a, b in zip(ours.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.moveaxis(ours[0].weight.numpy(), 1, -1).flags.c_contiguous
    assert np.moveaxis(copy.deepcopy(ours)[0].weight.numpy(), 1, -1).flags.c_contiguous
    shendu.save(ours.state_dict(), tmp_path / "w.safetensors")
    fresh = make()
    fresh.load_state_dict(shendu.load(tmp_path / "w.safetensors"))
    np.testing.assert_array_equal(fresh(x).numpy(), ours(x).numpy())
    assert np.moveaxis(fresh[2].weight.numpy(), 1, -1).flags.c_contiguous
