"""Layer arguments are parsed in one place (nn/functional/_geometry.py) for F and nn alike:
int-or-tuple, positivity, 'same'/'valid' padding (asymmetric for even kernels), and an empty
batch through conv, pooling, linear and batch norm gives the right empty shape and a backward."""

import numpy as np
import pytest
import torch

import shendu
import shendu.nn as nn
import shendu.nn.functional as F
from shendu.nn.functional._geometry import conv_padding, ntuple, pool_window


def _copy_conv(sd: nn.Module, tc: torch.nn.Module) -> None:
    with torch.no_grad():
        tc.weight.copy_(torch.from_numpy(sd.weight.detach().numpy()))
        tc.bias.copy_(torch.from_numpy(sd.bias.detach().numpy()))


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, (2, 3), (4, 1)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_layer_and_function_match_torch(kernel, dilation):
    layer = nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation, dtype=np.float64)
    tlayer = torch.nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation, dtype=torch.float64)
    _copy_conv(layer, tlayer)
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6))
    xs, xt = shendu.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ys, yt = layer(xs), tlayer(xt)
    assert ys.shape == tuple(yt.shape) == (2, 3, 7, 6)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    fs = F.conv2d(xs, layer.weight, layer.bias, padding="same", dilation=dilation)
    np.testing.assert_allclose(fs.detach().numpy(), ys.detach().numpy(), rtol=1e-12, atol=1e-12)
    ys.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), tlayer.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(layer).endswith("padding=same)" if dilation == 1 else "padding=same, dilation=(2, 2))")


def test_conv1d_same_padding_even_kernel():
    layer = nn.Conv1d(1, 1, 4, padding="same", dtype=np.float64)
    tlayer = torch.nn.Conv1d(1, 1, 4, padding="same", dtype=torch.float64)
    _copy_conv(layer, tlayer)
    x = np.arange(9.0).reshape(1, 1, 9)
    np.testing.assert_allclose(
        layer(shendu.tensor(x)).detach().numpy(), tlayer(torch.tensor(x)).detach().numpy()
    )


def test_padding_resolution():
    assert conv_padding("same", (2, 3), (1, 1), (1, 1), "c") == (0, 1, 1, 1)
    assert conv_padding("valid", (5, 5), (2, 2), (1, 1), "c") == (0, 0, 0, 0)
    assert conv_padding((1, 2), (3, 3), (1, 1), (1, 1), "c") == (1, 1, 2, 2)
    assert conv_padding("same", (3,), (1,), (3,), "c") == (3, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(padding="same", stride=2), "not supported for strided"),
        (dict(padding="full"), "'valid' or 'same'"),
        (dict(padding=-1), "padding must be zero or positive"),
        (dict(stride=0), "stride must be positive"),
        (dict(dilation=(1, 0)), "dilation must be positive"),
        (dict(kernel_size=(2, 2, 2)), "tuple of 2 ints"),
        (dict(kernel_size=2.5), "integers"),
        (dict(kernel_size=True), "integers"),
    ],
)
def test_layer_and_function_reject_the_same_arguments(kwargs, match):
    args = dict(kernel_size=2) | kwargs
    with pytest.raises(ValueError, match=match):
        nn.Conv2d(1, 1, **args)
    if "kernel_size" in kwargs:
        return  # a weight's kernel size is its shape: nothing to parse in F.conv2d
    with pytest.raises(ValueError, match=match):
        F.conv2d(shendu.zeros(1, 1, 6, 6), shendu.zeros(1, 1, 2, 2), **kwargs)


def test_pooling_window_rule_as_torch():
    """PyTorch: padding at most half the kernel size (not the dilated span), in F and nn alike."""
    with pytest.raises(ValueError, match="at most half"):
        nn.MaxPool2d(3, padding=2, dilation=2)
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(shendu.zeros(1, 1, 9, 9), 3, padding=2, dilation=2)
    with pytest.raises(RuntimeError):
        torch.nn.functional.max_pool2d(torch.zeros(1, 1, 9, 9), 3, padding=2, dilation=2)
    assert pool_window("p", 2, 3, None, 1) == ((3, 3), (3, 3), (1, 1), (1, 1))
    assert pool_window("p", 1, 4, (), 2) == ((4,), (4,), (2,), (1,))
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool2d((2, 0))
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(shendu.zeros(1, 1, 4, 4), (2, 2, 2))


def test_ntuple():
    assert ntuple(3, 2, "f", "a") == (3, 3)
    assert ntuple(np.int64(2), 1, "f", "a") == (2,)
    with pytest.raises(ValueError, match="tuple of 2 ints"):
        ntuple((1, 2, 3), 2, "f", "a")


EMPTY = [
    ("conv2d", lambda: nn.Conv2d(3, 4, 3), lambda: torch.nn.Conv2d(3, 4, 3), (0, 3, 8, 8)),
    (
        "conv2d same",
        lambda: nn.Conv2d(3, 4, 2, padding="same"),
        lambda: torch.nn.Conv2d(3, 4, 2, padding="same"),
        (0, 3, 8, 8),
    ),
    ("conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2), lambda: torch.nn.Conv1d(3, 4, 3, stride=2), (0, 3, 9)),
    ("maxpool", lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (0, 3, 8, 8)),
    ("avgpool", lambda: nn.AvgPool2d(3, 2, 1), lambda: torch.nn.AvgPool2d(3, 2, 1), (0, 3, 8, 8)),
    ("adaptive", lambda: nn.AdaptiveAvgPool2d(2), lambda: torch.nn.AdaptiveAvgPool2d(2), (0, 3, 8, 8)),
    ("linear", lambda: nn.Linear(5, 2), lambda: torch.nn.Linear(5, 2), (0, 5)),
    (
        "batchnorm eval",
        lambda: nn.BatchNorm2d(3).eval(),
        lambda: torch.nn.BatchNorm2d(3).eval(),
        (0, 3, 4, 4),
    ),
    ("flatten", lambda: nn.Flatten(), lambda: torch.nn.Flatten(), (0, 3, 4, 4)),
]


@pytest.mark.parametrize("name, make, make_torch", [e[:3] for e in EMPTY], ids=[e[0] for e in EMPTY])
def test_empty_batch_shape_and_backward(name, make, make_torch):
    shape = next(e[3] for e in EMPTY if e[0] == name)
    layer, tlayer = make(), make_torch()
    x = shendu.zeros(*shape, requires_grad=True)
    y = layer(x)
    yt = tlayer(torch.zeros(*shape))
    assert y.shape == tuple(yt.shape)
    y.sum().backward()
    assert x.grad.shape == shape
    for p in layer.parameters():
        assert p.grad is not None and p.grad.shape == p.shape and not p.grad.numpy().any()


def test_empty_batch_sequential_cnn():
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)
    )
    y = net(shendu.zeros(0, 1, 8, 8))
    assert y.shape == (0, 3)
    F.cross_entropy(y, shendu.zeros(0, dtype=shendu.int64), reduction="sum").backward()
    assert net[0].weight.grad.shape == (2, 1, 3, 3)
