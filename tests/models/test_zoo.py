"""The zoo's networks: torchvision's parameter counts, state_dict keys and shapes.

Also their small-input forms and the registry."""

import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.models import get_model, list_models, register_model

from tests.models import torch_reference as ref

# torchvision's published figures (torchvision.models docs, "num_params").
TORCHVISION_PARAMS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}
ALL_NAMES = [
    "mlp",
    "lenet",
    "lenet5",
    "alexnet",
    "alexnet2012",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


def count(net) -> int:
    return sum(p.numel() for p in net.parameters())


def shapes(net) -> dict:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


@pytest.mark.parametrize("name", list(TORCHVISION_PARAMS))
def test_torchvision_counts_keys_and_shapes(name, no_init):
    net = get_model(name)
    assert count(net) == TORCHVISION_PARAMS[name]
    got = shapes(net)
    want = ref.meta_shapes(name)
    assert list(got) == list(want), (
        f"keys differ: missing {set(want) - set(got)}, extra {set(got) - set(want)}"
    )
    assert got == want
    for k, v in net.state_dict().items():
        assert v.dtype == (np.int64 if k.endswith("num_batches_tracked") else np.float32), k


def test_known_key_names(no_init):
    r = shapes(get_model("resnet50"))
    assert r["layer2.0.downsample.0.weight"] == (512, 256, 1, 1)
    assert r["layer1.0.bn1.running_var"] == (64,) and r["layer1.0.bn1.num_batches_tracked"] == ()
    assert (
        r["fc.weight"] == (1000, 2048) and len(r) == 320
    )  # torchvision's resnet50 state_dict has 320 entries
    assert len(shapes(get_model("resnet18"))) == 122
    a = shapes(get_model("alexnet"))
    assert a["features.0.weight"] == (64, 3, 11, 11) and a["classifier.1.weight"] == (4096, 9216)
    assert a["classifier.6.bias"] == (1000,) and len(a) == 16


def test_googlenet_aux(no_init):
    net = get_model("googlenet", aux_logits=True)
    assert count(net) == 13_004_888
    assert shapes(net) == ref.meta_shapes("googlenet", aux_logits=True)
    assert shapes(net)["aux1.fc1.weight"] == (1024, 2048)


def test_googlenet_outputs_train_and_eval():
    net = get_model("googlenet", num_classes=10, in_channels=1, aux_logits=True, small_input=True)
    x = shendu.randn(2, 1, 28, 28)
    out = net.train()(x)
    assert type(out).__name__ == "GoogLeNetOutputs" and out._fields == (
        "logits",
        "aux_logits2",
        "aux_logits1",
    )
    assert [o.shape for o in out] == [(2, 10)] * 3
    (out.logits.sum() + 0.3 * (out.aux_logits1.sum() + out.aux_logits2.sum())).backward()
    assert np.any(net.conv1.conv.weight.grad.numpy() != 0) and np.any(net.aux1.fc2.weight.grad.numpy() != 0)
    with shendu.no_grad():
        y = net.eval()(x)
    assert isinstance(y, shendu.Tensor) and y.shape == (2, 10)


def test_alexnet2012_paper_network(no_init):
    net = get_model("alexnet2012")
    # one stream, by the layer formula: Σ (C_in·k·k + 1)·C_out + Σ (in + 1)·out
    convs = [(3, 96, 11), (96, 256, 5), (256, 384, 3), (384, 384, 3), (384, 256, 3)]
    fcs = [(9216, 4096), (4096, 4096), (4096, 1000)]
    assert count(net) == sum((ci * k * k + 1) * co for ci, co, k in convs) + sum((i + 1) * o for i, o in fcs)
    lrn = [m for m in net.modules() if isinstance(m, nn.LocalResponseNorm)]
    assert len(lrn) == 2 and lrn[0].size == 5 and lrn[0].beta == 0.75 and lrn[0].k == 2.0
    assert lrn[0].alpha == pytest.approx(5 * 1e-4)  # the paper's α = 1e-4; PyTorch's LRN divides α by n = 5
    conv1 = net.features[0]
    assert conv1.weight.shape == (96, 3, 11, 11) and conv1.stride in (4, (4, 4))
    pools = [m for m in net.features if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.kernel_size in (3, (3, 3)) and p.stride in (2, (2, 2)) for p in pools)
    assert [type(m).__name__ for m in net.classifier] == [
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Linear",
    ]
    two = get_model("alexnet2012", two_gpu=True)
    convs2 = [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)]
    assert count(two) == sum((ci // g * k * k + 1) * co for ci, co, k, g in convs2) + sum(
        (i + 1) * o for i, o in fcs
    )
    assert count(two) == 60_965_224


def test_alexnet2012_paper_init():
    """N(0, 0.01²) weights; biases 1 in conv2, conv4, conv5 and the hidden FC layers.

    Biases 0 in conv1, conv3 and the output layer."""
    net = get_model("alexnet2012", num_classes=10, small_input=True)  # same init code, small classifier
    biases = [float(net.features[i].bias.numpy().mean()) for i in (0, 4, 8, 10, 12)]
    assert biases == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert [float(net.classifier[i].bias.numpy().mean()) for i in (1, 4, 6)] == [1.0, 1.0, 0.0]
    assert abs(float(net.features[8].weight.numpy().std()) - 0.01) < 5e-4


def test_alexnet2012_sizes_224_and_227(no_init):
    """224×224 gives the paper's 55 → 27 → 13 → 6 maps (227×227: 56 → 27 → 13 → 6).

    256·6·6 = 9216 features."""
    from shendu.nn.functional import conv_output_size

    net = get_model("alexnet2012", num_classes=7, small_input=True)  # small: cheap to build
    big = get_model("alexnet2012", num_classes=7)
    conv1 = big.features[0]
    pad = conv1.padding[0] if isinstance(conv1.padding, tuple) else conv1.padding
    for side, first in ((224, 55), (227, 56)):
        s = conv_output_size(side, 11, stride=4, padding=pad)
        assert s == first
        for layer in big.features:
            if isinstance(layer, nn.MaxPool2d):
                s = conv_output_size(s, 3, stride=2)
        assert s == 6
    with shendu.no_grad():  # the first layer run for real on 224×224 (the rest keeps the side: padded 'same')
        assert conv1(shendu.zeros(1, 3, 224, 224)).shape == (1, 96, 55, 55)
        assert net(shendu.zeros(1, 3, 32, 32)).shape == (1, 7)


def test_lenet_shapes():
    assert (
        count(get_model("lenet")) == (1 * 25 + 1) * 20 + (20 * 25 + 1) * 50 + (800 + 1) * 500 + (500 + 1) * 10
    )
    net32 = get_model("lenet", in_channels=3, input_size=32)
    assert net32.classifier[0].weight.shape == (500, 1250)
    assert net32(shendu.randn(2, 3, 32, 32)).shape == (2, 10)
    l5 = get_model("lenet5", input_size=28)
    assert count(l5) == 156 + 2416 + 48120 + 10164 + 850  # the paper's C1, C3 (full), C5, F6, output
    assert l5.features[0].padding in (2, (2, 2))
    assert l5(shendu.randn(2, 1, 28, 28)).shape == (2, 10)
    assert get_model("lenet5")(shendu.randn(1, 1, 32, 32)).shape == (1, 10)
    assert sum(isinstance(m, nn.AvgPool2d) for m in l5.modules()) == 2
    assert sum(isinstance(m, nn.Tanh) for m in l5.modules()) == 4


def test_mlp():
    from shendu.models import mlp

    net = mlp([784, 100, 100, 10], activation="tanh", dropout=0.2)
    assert [type(m).__name__ for m in net] == [
        "Flatten",
        "Linear",
        "Tanh",
        "Dropout",
        "Linear",
        "Tanh",
        "Dropout",
        "Linear",
    ]
    assert net(shendu.randn(3, 1, 28, 28)).shape == (3, 10)
    default = get_model("mlp", in_channels=3, input_size=32, num_classes=5)
    assert default[1].weight.shape == (100, 3 * 32 * 32) and default[-1].weight.shape == (5, 100)
    with pytest.raises(ValueError, match="activation"):
        mlp([4, 2], activation="swish")


TRAIN_CHECK = ["mlp", "lenet", "lenet5", "alexnet", "alexnet2012", "vgg11_bn", "resnet18"]  # googlenet: below


@pytest.mark.parametrize("name", TRAIN_CHECK)
def test_small_input_trains(name):
    """28×28 grey images give (N, num_classes) in train mode, and gradients reach the first layer."""
    net = get_model(name, num_classes=10, in_channels=1, input_size=28)
    y = net.train()(shendu.randn(2, 1, 28, 28))
    y = y[0] if isinstance(y, tuple) else y
    assert y.shape == (2, 10) and y.dtype == np.float32
    y.sum().backward()
    first = next(net.parameters())
    assert first.grad is not None and first.grad.shape == first.shape and np.any(first.grad.numpy() != 0)


@pytest.mark.parametrize(
    "name", [n for n in ALL_NAMES if n not in ("resnet101", "resnet152")]
)  # resnet50's blocks
def test_small_input_shapes(name, no_init):
    """28×28 grey and 32×32 colour images both reach (N, num_classes), for every network."""
    with shendu.no_grad():
        for c, side in [(1, 28), (3, 32)]:
            net = get_model(name, num_classes=7, in_channels=c, input_size=side).eval()
            assert net(shendu.zeros(1, c, side, side)).shape == (1, 7)


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg11_bn", "googlenet", "alexnet"])
def test_small_input_keys_match_reference(name):
    net = get_model(name, num_classes=10, in_channels=1, small_input=True)
    assert shapes(net) == ref.meta_shapes(name, num_classes=10, in_channels=1, small_input=True)


def test_resnet_zero_init_residual():
    net = get_model("resnet18", num_classes=10, small_input=True, zero_init_residual=True)
    assert all(np.all(b.bn2.weight.numpy() == 0) for layer in (net.layer1, net.layer4) for b in layer)
    assert np.all(net.bn1.weight.numpy() == 1)
    net50 = get_model("resnet50", num_classes=10, small_input=True, zero_init_residual=True)
    assert np.all(net50.layer3[2].bn3.weight.numpy() == 0) and np.all(net50.layer3[2].bn2.weight.numpy() == 1)


def test_torchvision_init_statistics():
    net = get_model("resnet18", num_classes=10, small_input=True)
    w = net.layer3[0].conv2.weight.numpy()  # He normal, fan_out = 256·3·3
    assert abs(float(w.std()) - np.sqrt(2 / (256 * 9))) < 0.05 * np.sqrt(2 / (256 * 9))
    v = get_model("vgg11", num_classes=10, small_input=True)  # small form: He normal (fan_in) throughout
    assert abs(float(v.classifier[3].weight.numpy().std()) - np.sqrt(2 / 512)) < 0.03 * np.sqrt(2 / 512)
    assert abs(float(v.features[3].weight.numpy().std()) - np.sqrt(2 / (64 * 9))) < 0.03 * np.sqrt(
        2 / (64 * 9)
    )
    assert np.all(v.classifier[3].bias.numpy() == 0)


def test_registry():
    assert set(ALL_NAMES) <= set(list_models())
    with pytest.raises(ValueError, match="unknown model 'resnet19'.*resnet18"):
        get_model("resnet19")
    with pytest.raises(TypeError, match="unexpected"):
        get_model("lenet", depth=3)
    # data options reach only builders that take them; input_size < 64 picks the small stem
    net = get_model("resnet18", num_classes=10, in_channels=1, input_size=28)
    assert net.conv1.weight.shape == (64, 1, 3, 3)
    assert get_model("resnet18", num_classes=10, input_size=224).conv1.weight.shape == (64, 3, 7, 7)

    from shendu.models import registry

    @register_model(name="_test_tiny")
    def tiny(num_classes=3):
        return nn.Linear(2, num_classes)

    try:
        assert get_model("_test_tiny", num_classes=4, in_channels=1, input_size=28).out_features == 4
        with pytest.raises(ValueError, match="already registered"):
            register_model(lambda: None, name="_test_tiny")
    finally:  # leave the registry as the other tests (and `shendu summary --list`) expect it
        registry._REGISTRY.pop("_test_tiny")


def test_no_torch_import():
    import subprocess
    import sys

    code = (
        "import sys, shendu.models, shendu.cli.summary, shendu.cli.convert_torch; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
