"""The ``classics`` lesson: its numbers against independent truths, its text and figures, and its
conclusions following its numbers.

Truths come from arithmetic on the papers' architectures (parameter and neuron counts by hand),
torchvision's published parameter counts, torchinfo's multiply-adds and closed forms — never from
running the lesson's code. Torch-free.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
from PIL import Image

import shendu
from shendu.lessons import classics, classics_degradation, classics_draw, classics_report
from shendu.lessons._i18n import language
from shendu.lessons._plot import style


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    """One quick run of the lesson, in Chinese, with the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = classics.run(out=tmp_path_factory.mktemp("classics"), quick=True, verbose=False, lang="zh")
    return result, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def numbers(lesson):
    return {k: v for k, v in lesson[0].items() if k not in ("pngs", "text")}


def conv(c_in: int, c_out: int, k: int, groups: int = 1) -> int:
    return c_out * (c_in // groups) * k * k + c_out


def fc(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# AlexNet as the paper draws it (two GPUs): 2nd, 4th, 5th convolutions see half of the maps
ALEXNET_LAYERS = [
    conv(3, 96, 11),
    conv(96, 256, 5, 2),
    conv(256, 384, 3),
    conv(384, 384, 3, 2),
    conv(384, 256, 3, 2),
    fc(256 * 6 * 6, 4096),
    fc(4096, 4096),
    fc(4096, 1000),
]


def test_alexnet_numbers_match_the_paper_architecture(numbers):
    a, net = numbers["alexnet"], numbers["networks"]["AlexNet"]
    assert a["conv1_output"] == [96, 55, 55]  # 55×55×96, the notes' first layer
    assert a["params"] == net["params"] == net["summary_params"] == sum(ALEXNET_LAYERS) == 60_965_224
    assert net["layer_params_sum"] == a["params"]  # the sum over the layer table's rows
    assert [row[3] for row in net["table"] if row[3]] == ALEXNET_LAYERS
    assert a["params"] == pytest.approx(60e6, rel=0.02)  # the paper's "60 million"
    neurons = [55 * 55 * 96, 27 * 27 * 256, 13 * 13 * 384, 13 * 13 * 384, 13 * 13 * 256, 4096, 4096, 1000]
    assert a["neurons_per_layer"] == neurons
    assert a["neurons"] == sum(neurons) == 659_272
    assert a["neurons"] == pytest.approx(650_000, rel=0.02)  # the paper's "650,000"
    # the split: one stream would hold the whole input of the grouped layers
    one = [conv(3, 96, 11), conv(96, 256, 5), conv(256, 384, 3), conv(384, 384, 3), conv(384, 256, 3)]
    assert [s["one_gpu"] for s in a["split"]] == one
    assert [s["groups"] for s in a["split"]] == [1, 2, 1, 2, 2]
    assert a["one_gpu_params"] == sum(one) + sum(ALEXNET_LAYERS[5:])
    assert a["params_mb"] == pytest.approx(60_965_224 * 4 / 2**20)
    kinds = [row[1].split()[0] for row in net["table"]]
    assert kinds.count("LRN") == 2 and kinds.count("Dropout") == 2  # LRN and dropout are in the network
    assert [row[1] for row in net["table"] if row[1].startswith("maxpool")] == ["maxpool 3×3 /2"] * 3


def test_every_network_counts(numbers):
    nets = numbers["networks"]
    assert {k: v["depth"] for k, v in nets.items()} == {
        "AlexNet": 8,
        "VGG-19": 19,
        "GoogLeNet": 22,
        "ResNet-152": 152,
    }
    # torchvision's published parameter counts (AlexNet: the paper's two-GPU network, checked above)
    assert nets["VGG-19"]["params"] == 143_667_240
    assert nets["GoogLeNet"]["params"] == 6_624_904
    assert nets["ResNet-152"]["params"] == 60_192_808
    for v in nets.values():
        assert v["summary_params"] == v["params"]
    # multiply-adds per 224×224 image as torchinfo gives them (GMACs)
    gmacs = {"VGG-19": 19.63, "GoogLeNet": 1.50, "ResNet-152": 11.51}
    for k, g in gmacs.items():
        assert nets[k]["mult_adds"] / 1e9 == pytest.approx(g, rel=0.02), k
    # quoted from the papers, and labelled so
    assert [v["top5_error"] for v in nets.values()] == [15.3, 7.3, 6.67, 3.57]
    assert [v["year"] for v in nets.values()] == [2012, 2014, 2014, 2015]
    # the layer tables: VGG-19 has 16 convolutions and 3 fc layers; ResNet-152's stages 3, 8, 36, 3
    vgg_kinds = [row[1].split()[0] for row in nets["VGG-19"]["table"]]
    assert vgg_kinds.count("conv") == 16 and vgg_kinds.count("fc") == 3 and vgg_kinds.count("maxpool") == 5
    assert numbers["blocks"]["stages"] == [3, 8, 36, 3]
    assert 3 + 8 + 36 + 3 == (152 - 2) // 3
    assert sum(row[3] for row in nets["ResNet-152"]["table"]) == 60_192_808


def test_blocks_read_from_the_models(numbers):
    inc, bott = numbers["blocks"]["inception"], numbers["blocks"]["bottleneck"]
    assert inc["in"] == 192 and inc["widths"] == [64, 128, 32, 32]  # GoogLeNet's table, inception (3a)
    assert inc["branches"][4][0].endswith("maxpool")
    red = {r["branch"]: r for r in inc["reduction"]}
    assert red[2]["with_1x1"] == 192 * 96 + 96 * 128 * 9 and red[2]["without"] == 192 * 128 * 9
    assert red[3]["with_1x1"] == 192 * 16 + 16 * 32 * 9 and red[3]["without"] == 192 * 32 * 9
    assert bott == {
        "name": "Bottleneck",
        "in": 256,
        "layers": [(1, 64), (3, 64), (1, 256)],
        "projection": False,
    }
    basic = numbers["blocks"]["basic"]
    assert basic == {"name": "BasicBlock", "in": 64, "layers": [(3, 64), (3, 64)], "projection": False}


def test_alexnet_ideas_on_small_inputs(numbers):
    t = numbers["tricks"]
    assert t["relu_grad"] == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(t["tanh_grad"], [1 - math.tanh(x) ** 2 for x in t["x"]], atol=1e-6)  # float32
    assert t["dropout_zero_share"] == pytest.approx(0.5, abs=0.04)  # binomial(4096, 0.5): sd 0.008
    assert t["dropout_kept_value"] == 2.0 and t["dropout_test_identity"]
    # the paper's LRN, by hand: k = 2, n = 5, α = 1e-4, β = 0.75
    expected = [10 / (2 + 1e-4 * (100 + 10_000)) ** 0.75, 10 / (2 + 1e-4 * 100) ** 0.75]
    np.testing.assert_allclose(t["lrn"]["library"], expected, rtol=1e-5)
    np.testing.assert_allclose(t["lrn"]["formula"], expected, rtol=1e-5)
    # 55 → 27 either way; 3×3/2 windows share every other position, 2×2/2 ones share none
    assert t["pools"][3] == {"out": 27, "in_two_windows": 26, "unused": 0}
    assert t["pools"][2] == {"out": 27, "in_two_windows": 0, "unused": 1}


def test_degradation_is_measured_and_shortcuts_fix_it(numbers):
    d = numbers["degradation"]
    runs = {(r["depth"], r["residual"]): r for r in d["runs"]}
    assert d["depths"] == [8, 20] and len(d["runs"]) == 4
    assert d["steps"] == d["epochs"] * (d["n_train"] // d["batch_size"])
    for (depth, _), r in runs.items():
        assert len(r["train_loss"]) == d["epochs"]
        w = d["width"]
        stem, block, head = 196 * w + w + 2 * w, 2 * (w * w + w + 2 * w), w * 10 + 10
        assert r["params"] == stem + (depth - 2) // 2 * block + head
    final = {k: r["train_loss"][-1] for k, r in runs.items()}
    assert final[(20, False)] > 1.5 * final[(8, False)]  # plain: deeper is worse on the TRAINING set (> 4×)
    assert final[(20, True)] < 0.6 * final[(20, False)]  # the shortcut fixes most of it (seeds 0-4: < 0.4)
    assert runs[(20, True)]["train_acc"] > runs[(20, False)]["train_acc"]


def test_plain_and_residual_start_from_the_same_weights_and_differ_only_by_the_shortcut():
    shendu.manual_seed(3)
    plain = classics_degradation.DeepMLP(8, residual=False)
    shendu.manual_seed(3)
    res = classics_degradation.DeepMLP(8, residual=True)
    for (n1, p1), (n2, p2) in zip(plain.named_parameters(), res.named_parameters(), strict=True):
        assert n1 == n2
        np.testing.assert_array_equal(p1.numpy(), p2.numpy())
    # a residual block whose last BN scale is 0 is the identity on non-negative input (ReLU(0 + x) = x)
    block = classics_degradation.Block(4, residual=True).eval()
    shendu.nn.init.zeros_(block.bn2.weight)
    x = np.abs(np.random.default_rng(0).normal(size=(5, 4))).astype(np.float32)
    np.testing.assert_allclose(block(shendu.tensor(x)).numpy(), x, atol=1e-6)
    block.residual = False
    np.testing.assert_allclose(block(shendu.tensor(x)).numpy(), 0 * x, atol=1e-6)
    with pytest.raises(ValueError, match="even number"):
        classics_degradation.DeepMLP(7, residual=True)


def text(numbers, lang):
    with language(lang):
        return "\n".join(classics_report.report(numbers))


def test_text_in_chinese_with_the_notes_terms_and_in_english(numbers):
    zh, en = text(numbers, "zh"), text(numbers, "en")
    for term in (
        "局部响应归一化",
        "重叠池化",
        "Dropout",
        "ReLU",
        "两块 GPU",
        "残差",
        "退化",
        "Inception",
        "15.3%",
        "16.4%",
        "7.3%",
        "6.67%",
        "3.57%",
        "659,272",
        "60,965,224",
        "55×55×96",
    ):
        assert term in zh, term
    for term in (
        "Local response normalisation",
        "Overlapping pooling",
        "Two GPUs",
        "degradation",
        "residual",
        "15.3%",
        "659,272",
    ):
        assert term in en, term
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    assert "VGG-16" not in zh + en  # the notes' 7.3% is VGG-19's
    assert "alpha = n·α = 0.0005" in zh and "def forward(self, x, size, alpha, beta, k)" in zh  # LRN's code
    assert "features.4" in zh and "conv 256×5×5 pad 2 groups=2" in en  # the summary's layer table


def test_conclusions_follow_the_numbers(numbers):
    flipped = copy.deepcopy(numbers)
    runs = {(r["depth"], r["residual"]): r for r in flipped["degradation"]["runs"]}
    assert "退化问题。" in text(numbers, "zh") or "没有退化" in text(numbers, "zh")
    runs[(20, False)]["train_loss"][-1] = runs[(8, False)]["train_loss"][-1] / 2  # no degradation
    runs[(20, True)]["train_loss"][-1] = runs[(20, False)]["train_loss"][-1] * 2  # shortcut worse
    zh, en = text(flipped, "zh"), text(flipped, "en")
    assert "没有退化" in zh and "did NOT degrade" in en
    assert "没有带来好处" in zh and "did not help" in en
    runs[(20, True)]["train_loss"][-1] = runs[(8, True)]["train_loss"][-1] / 2  # deeper residual is better
    runs[(20, False)]["train_loss"][-1] = runs[(8, True)]["train_loss"][-1] * 10
    assert "更深更好" in text(flipped, "zh") and "deeper is better" in text(flipped, "en")
    flipped["networks"]["AlexNet"]["depth"] = 500  # the best network is no longer the deepest
    assert "最深的是 AlexNet" in text(flipped, "zh")
    assert "is not the biggest" in text(numbers, "en")
    flipped["networks"]["ResNet-152"]["params"] = 10**9  # the best network becomes the biggest
    assert "the best is also the biggest" in text(flipped, "en") and "最好的也是最大的" in text(flipped, "zh")
    flipped["tricks"]["tanh_grad"] = [0.9, 0.8, 0.7]
    assert "tanh does not saturate here" in text(flipped, "en")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures_render_without_missing_glyphs(numbers, tmp_path, lang):
    with warnings.catch_warnings(record=True) as caught, language(lang), style():
        warnings.simplefilter("always")
        pngs = classics_draw.draw(numbers, tmp_path)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    names = sorted(p.rsplit("/", 1)[-1] for p in pngs)
    assert names == [
        "alexnet_ideas.png",
        "alexnet_two_gpus.png",
        "blocks.png",
        "classics.png",
        "degradation.png",
    ]
    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 600 and im.size[1] > 300, (p, im.size)


def test_run_prints_the_report_and_writes_the_figures(lesson, numbers):
    from shendu import lessons

    result, warned = lesson
    assert not [w for w in warned if "missing from font" in w]
    assert result["text"].startswith("经典网络")
    assert result["text"].startswith(text(numbers, "zh"))  # then the list of figures
    assert len(result["pngs"]) == 5
    assert lessons.has_full("classics")
