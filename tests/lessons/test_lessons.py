"""Each lesson's numbers against independently computed truths, in quick mode, plus its PNGs.

The truths come from closed forms, numpy/scipy, or published figures, never from running the
lesson code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from shendu import lessons
from tests.course.lesson_numbers import numbers


def check_pngs(paths, at_least=1):
    assert len(paths) >= at_least
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "PNG"
            w, h = im.size
            assert w >= 150 and h >= 100, (p, im.size)


def run(name, tmp_path, lang="zh", verbose=False):
    """Run a lesson in quick mode; fail on any glyph matplotlib could not draw (Chinese as boxes)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = lessons.get(name).run(out=tmp_path / name, quick=True, verbose=verbose, lang=lang)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    return result


def render(name, tmp_path):
    """Draw and report a lesson from the numbers ``tests/course`` computes (once per process), at the
    draft resolution, in Chinese; fail on any glyph matplotlib could not draw."""
    from shendu.lessons import _plot

    module = lessons.get(name)
    r = numbers(name)
    with warnings.catch_warnings(record=True) as caught, lessons.language("zh"), _plot.style():
        warnings.simplefilter("always")
        token = _plot._dpi.set(_plot.DRAFT_DPI)
        try:
            pngs = module.draw(r, tmp_path)
        finally:
            _plot._dpi.reset(token)
        text = "\n".join(module.report(r))
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    return {**r, "pngs": pngs, "text": text}


def test_registry_lists_all_lessons_with_summaries():
    names = lessons.available()
    assert names == list(lessons.LESSONS)
    for name in [
        "gates",
        "activations",
        "approx",
        "loss",
        "gradient",
        "gd",
        "conv",
        "pooling",
        "cnn",
        "classics",
        "dl-vs-ml",
        "fitting",
    ]:
        assert name in names
        assert lessons.LESSONS[name].summary("zh").strip() and lessons.LESSONS[name].summary("en").strip()


def test_gates(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_gates.py."""
    r = render("gates", tmp_path)
    for term in ("感知机", "与门", "或门", "与非门", "异或门", "阈值", "线性可分"):
        assert term in r["text"], term
    en = run("gates", tmp_path / "en", lang="en")["text"]
    assert "not linearly separable" in en and "与门" not in en
    check_pngs(r["pngs"], 3)


def test_activations(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_activations.py."""
    r = render("activations", tmp_path)
    for term in ("激活函数", "梯度消失", "导数", "自动微分", "阶跃函数"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 7)


def test_approx(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_approx.py."""
    r = render("approx", tmp_path)
    assert "随机重启" in r["text"] and "通用近似定理" in r["text"] and "6 个神经元" in r["text"]
    check_pngs(r["pngs"], 2)


def test_loss(tmp_path):
    """Figures and text in both languages; the numbers are checked in tests/course/test_lesson_loss.py."""
    zh = render("loss", tmp_path)
    for term in ("均方误差", "交叉熵", "损失函数", "独热编码", "0.097500", "0.510825"):
        assert term in zh["text"], term
    en = run("loss", tmp_path / "en", lang="en")["text"]
    assert "cross-entropy" in en and "损失函数" not in en
    check_pngs(zh["pngs"])


def test_gradient(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_gradient.py."""
    r = render("gradient", tmp_path)
    for term in ("数值微分", "中心差分", "偏导数", "梯度下降", "学习率", "自动微分"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 3)


def test_gd(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_gd.py."""
    r = render("gd", tmp_path)
    for term in ("批量梯度下降", "随机梯度下降", "小批量梯度下降", "学习率", "均方误差"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 2)


def test_conv(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_conv.py."""
    r = render("conv", tmp_path)
    for term in ("卷积核", "滤波器", "填充", "步幅", "输出大小", "多通道", "全连接层", "互相关", "im2col"):
        assert term in r["text"], term
    en = run("conv", tmp_path / "en", lang="en")["text"]
    assert "cross-correlation" in en and "互相关" not in en
    check_pngs(r["pngs"], 5)


def test_pooling(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_pooling.py."""
    r = render("pooling", tmp_path)
    for term in ("最大池化", "平均池化", "步幅", "通道数不变", "没有要学习的参数", "平移"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 2)


def test_cnn(tmp_path):
    r = run("cnn", tmp_path)
    labels, pred = np.array(r["labels"]), np.array(r["predictions"])
    assert r["n_val"] == len(labels) == 500
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (labels, pred), 1)
    np.testing.assert_array_equal(r["confusion_matrix"], cm)
    assert r["val_accuracy"] == pytest.approx((labels == pred).mean())
    assert r["val_accuracy"] > 0.8  # two epochs on 1,500 digits (about 0.89); chance is 0.1
    assert r["history_val_acc"][-1] == pytest.approx(r["val_accuracy"])
    assert all(labels[i] != pred[i] for i in r["mistakes"])
    conf = r["mistake_confidence"]
    assert conf == sorted(conf, reverse=True)
    assert r["filters_shape"] == [20, 1, 5, 5]
    assert r["feature_map_shapes"] == [[20, 24, 24], [20, 12, 12], [50, 8, 8], [50, 4, 4]]
    assert r["lenet5_params"] == 61_706  # LeNet-5 (LeCun 1998) as torchvision-style counts give it
    assert r["first_map_sizes"] == {"32": 28, "28": 24, "28 padded 2": 28}  # why 32×32: padding
    for term in ("LeNet-5", "32×32", "28×28", "填充", "特征图", "Conv2d"):
        assert term in r["text"], term
    # the sentence about the filters follows how far they moved from their random start
    from shendu.lessons import cnn

    assert 0 < r["filter_change"] and ("还带着很多随机初始化的痕迹" in r["text"]) == (r["filter_change"] < 1)
    with lessons.language("zh"):
        assert "已经远离随机初始化" in "\n".join(cnn.report({**r, "filter_change": 2.0}))
    check_pngs(r["pngs"], 5)


def test_dl_vs_ml(tmp_path):
    r = run("dl-vs-ml", tmp_path)
    assert r["sizes"] == [30, 300]
    for name, acc in r["accuracy"].items():
        assert len(acc) == 2
        assert 0.3 < acc[0] < acc[1] <= 1.0, name  # better than chance (0.1), and more data helps
        assert r["gain"][name] == pytest.approx(acc[1] - acc[0])
    assert r["accuracy"]["LeNet (shendu)"][1] > 0.75
    # the conclusion follows the numbers: flip who wins on the smallest set and the sentence flips
    from shendu.lessons import dl_vs_ml

    acc = {k: list(v) for k, v in r["accuracy"].items()}
    classical = {k: None for k in acc if "sklearn" in k}
    with lessons.language("zh"):
        acc["LeNet (shendu)"][0] = 1.0
        assert "与笔记不同" in "\n".join(dl_vs_ml._conclusion(acc, r["sizes"], classical))
        acc["LeNet (shendu)"][0] = 0.0
        acc["MLP 784-100-10 (shendu)"][0] = 0.0
        acc[next(iter(classical))][0] = 1.0
        assert "与笔记一致" in "\n".join(dl_vs_ml._conclusion(acc, r["sizes"], classical))
    assert "浅层网络" in r["text"] and "深度网络）" not in r["text"].replace("不是深度网络", "")
    check_pngs(r["pngs"])


def test_dl_vs_ml_gives_every_network_at_least_four_epochs(monkeypatch):
    """With a fixed image budget the largest subset got 2 epochs, too few for LeNet (96% instead of 98%)."""
    from shendu import nn
    from shendu.data import load_dataset
    from shendu.lessons import dl_vs_ml

    seen = []

    class Recorder:
        def __init__(self, *args, epochs, **kwargs):
            seen.append(epochs)

        def fit(self):
            return None

    monkeypatch.setattr(dl_vs_ml, "Trainer", Recorder)
    val = load_dataset("mnist-5k", "val")
    x, y = val.images[:100], val.labels[:100]
    for budget in (10, 250, 100_000):  # 1/10, 2.5 and 1000 epochs' worth of images
        dl_vs_ml.train_net(lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), x, y, val, budget)
    assert seen == [4, 4, 30]


def test_fitting(tmp_path):
    """Figures and Chinese text; the numbers are checked in tests/course/test_lesson_fitting.py."""
    r = render("fitting", tmp_path)
    assert r["regime"] == {"small": "under", "good": "good", "large": "over"}
    for term in ("欠拟合", "过拟合", "权重衰减", "早停", "噪声下限"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 3)


def test_lesson_command_lists_in_course_order_and_rejects_unknown(capsys):
    from shendu.cli.main import main

    assert main(["lesson"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert listed == lessons.available()
    assert "感知机" in out and "过拟合" in out  # each line names its chapter
    assert main(["lesson", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown lesson 'nope'" in err and "gates" in err
