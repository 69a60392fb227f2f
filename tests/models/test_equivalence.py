"""With the same weights, shendu's blocks and stacks give torch's outputs (float32, 1e-4 relative).

The torch side is built from torch.nn pieces after torchvision's code (tests/models/torch_reference.py);
its weights and BatchNorm statistics are randomised, then copied into shendu with load_state_dict.
"""

import numpy as np
import pytest
import torch

import shendu
from shendu import nn
from shendu.models import alexnet2012, get_model
from shendu.models.googlenet import Inception
from shendu.models.resnet import BasicBlock, Bottleneck
from shendu.models.vgg import CFGS, make_features

from tests.models import torch_reference as ref

RTOL = 1e-4


@pytest.fixture(autouse=True)
def _seeded_torch():
    """torch's default initialisation draws from its global generator: seed it so every run sees one net."""
    torch.manual_seed(0)


def randomise(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights and non-trivial BatchNorm statistics, so eval mode is tested for real."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(3)
    return module


def copy_weights(src: torch.nn.Module, dst: nn.Module) -> None:
    dst.load_state_dict({k: v.detach().numpy().copy() for k, v in src.state_dict().items()})


def close(actual, expected, what=""):
    a = actual.detach().numpy() if isinstance(actual, shendu.Tensor) else np.asarray(actual)
    e = expected.detach().numpy()
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    assert a.dtype == np.float32, f"{what}: dtype {a.dtype}"
    # atol is 1e-4 of the largest output: over 30 random GoogLeNets the train-mode aux heads (BatchNorm
    # over a 4x4 map of one image) differed by up to 2.6e-5 of it from float32 summation order alone.
    scale = float(np.abs(e).max()) or 1.0
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def set_dropout(module, p: float) -> None:
    for m in module.modules():
        if isinstance(m, (torch.nn.Dropout, nn.Dropout)):
            m.p = p


def compare(tmod, smod, shape, modes=("eval", "train"), grads=False, seed=1):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    copy_weights(tmod, smod)
    for mode in modes:
        getattr(tmod, mode)()
        getattr(smod, mode)()
        xt = torch.from_numpy(x.copy()).requires_grad_(grads)
        xs = shendu.tensor(x, requires_grad=grads)
        yt, ys = tmod(xt), smod(xs)
        if isinstance(yt, tuple):
            for i, (a, b) in enumerate(zip(ys, yt, strict=True)):
                close(a, b, f"{mode} output {i}")
            yt, ys = yt[0], ys[0]
        else:
            close(ys, yt, f"{mode} output")
        if grads:
            gy = np.random.default_rng(seed + 1).standard_normal(yt.shape).astype(np.float32)
            yt.backward(torch.from_numpy(gy))
            ys.backward(gy)
            close(xs.grad, xt.grad, f"{mode} d input")
            tparams = dict(tmod.named_parameters())
            for name, p in smod.named_parameters():
                close(p.grad, tparams[name].grad, f"{mode} d {name}")
            smod.zero_grad()
            tmod.zero_grad()
    if "train" in modes:  # the training forward updated the BatchNorm statistics the same way
        tstate = tmod.state_dict()
        for k, v in smod.state_dict().items():
            if "running" in k:
                close(v, tstate[k], k)
            elif k.endswith("num_batches_tracked"):
                assert int(np.asarray(v.numpy() if isinstance(v, shendu.Tensor) else v)) == int(tstate[k])


@pytest.mark.parametrize("stride,inplanes,planes", [(1, 32, 32), (2, 32, 64)])
def test_basic_block(stride, inplanes, planes):
    def down(lib):
        if stride == 1 and inplanes == planes:
            return None
        return lib.Sequential(
            lib.Conv2d(inplanes, planes, 1, stride=stride, bias=False), lib.BatchNorm2d(planes)
        )

    t = randomise(ref.BasicBlock(inplanes, planes, stride, down(torch.nn)))
    s = BasicBlock(inplanes, planes, stride, down(nn))
    compare(t, s, (2, inplanes, 9, 9), grads=True)


@pytest.mark.parametrize("stride,inplanes,planes", [(1, 64, 16), (2, 32, 16)])
def test_bottleneck(stride, inplanes, planes):
    def down(lib):
        if stride == 1 and inplanes == planes * 4:
            return None
        return lib.Sequential(
            lib.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False), lib.BatchNorm2d(planes * 4)
        )

    t = randomise(ref.Bottleneck(inplanes, planes, stride, down(torch.nn)))
    s = Bottleneck(inplanes, planes, stride, down(nn))
    compare(t, s, (2, inplanes, 8, 8), grads=True)


def test_inception_module():
    args = (192, 64, 96, 128, 16, 32, 32)  # inception3a
    t = randomise(ref.Inception(*args))
    s = Inception(*args)
    compare(t, s, (2, 192, 7, 7), grads=True)


@pytest.mark.parametrize("cfg,bn", [("A", False), ("A", True), ("D", False)])
def test_vgg_feature_stack(cfg, bn):
    t = randomise(ref.make_layers(ref.CFGS[cfg], bn))
    s = make_features(CFGS[cfg], bn)
    compare(t, s, (1, 3, 32, 32), modes=("eval", "train") if bn else ("eval",))


def test_alexnet_feature_stack():
    t = ref.alexnet_features()
    s = get_model("alexnet").features
    compare(t, s, (1, 3, 67, 67), modes=("eval",), grads=True)  # 67 → 16 → 7 → 7 → 3 → 3 → 1


def test_alexnet2012_features_with_lrn():
    """The paper's stack: LRN b = a / (2 + 1e-4 Σ a²)^0.75 over 5 maps, written in torch from the formula."""
    def lrn():
        return torch.nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)  # torch divides α by n

    t = torch.nn.Sequential(
        torch.nn.Conv2d(3, 96, 11, stride=4, padding=2),
        torch.nn.ReLU(),
        lrn(),
        torch.nn.MaxPool2d(3, 2),
        torch.nn.Conv2d(96, 256, 5, padding=2),
        torch.nn.ReLU(),
        lrn(),
        torch.nn.MaxPool2d(3, 2),
        torch.nn.Conv2d(256, 384, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(384, 384, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(384, 256, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(3, 2),
    )
    with torch.no_grad():  # inputs large enough that the LRN term matters
        for m in t:
            if isinstance(m, torch.nn.Conv2d):
                m.weight.mul_(20.0)
    s = alexnet2012().features
    compare(t, s, (1, 3, 67, 67), modes=("eval",))
    # and the formula itself, on one map position
    a = np.random.default_rng(0).standard_normal((1, 7, 1, 1)).astype(np.float32) * 30
    out = s[2](shendu.tensor(a)).numpy()
    c = 3
    expect = a[0, c, 0, 0] / (2 + 1e-4 * np.sum(a[0, c - 2 : c + 3, 0, 0] ** 2)) ** 0.75
    assert out[0, c, 0, 0] == pytest.approx(expect, rel=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn", "alexnet"])
def test_whole_small_networks(name):
    t = randomise(ref.build(name, num_classes=10, in_channels=3, small_input=True))
    s = get_model(name, num_classes=10, in_channels=3, small_input=True)
    set_dropout(t, 0.0)
    set_dropout(s, 0.0)
    compare(t, s, (2, 3, 32, 32))


def test_whole_googlenet_small_with_aux():
    t = randomise(ref.build("googlenet", num_classes=10, in_channels=1, small_input=True, aux_logits=True))
    s = get_model("googlenet", num_classes=10, in_channels=1, small_input=True, aux_logits=True)
    set_dropout(t, 0.0)
    set_dropout(s, 0.0)
    compare(t, s, (1, 1, 28, 28))  # train mode returns (logits, aux2, aux1): all three compared
