"""The new chapters (overview, neuron, metrics): the notes' numbers, the notes' terms, honest conclusions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from shendu.lessons import metrics as metrics_lesson
from shendu.lessons import neuron, overview
from tests.lessons.test_lessons import check_pngs, run


def test_overview(tmp_path):
    r = run("overview", tmp_path)
    years = {y for y, _, _ in r["timeline"]}
    assert {1943, 1949, 1958, 1982, 1986, 1995, 1998, 2006, 2016} <= years  # the notes' dates
    text = r["text"]
    for term in (
        "人工智能",
        "机器学习",
        "深度学习",
        "监督学习",
        "无监督学习",
        "半监督学习",
        "工作流程",
        "感知机",
        "1207 层",
    ):
        assert term in text, term
    p = r["paradigms"]
    t = np.array(p["t"])
    assert len(p["labelled"]) == 6 and sorted(t[p["labelled"]].tolist()) == [0, 0, 1, 1, 2, 2]
    assert p["supervised_acc"] > 0.85 and p["kmeans_purity"] > 0.85
    assert p["semi_supervised_acc"] == pytest.approx(np.mean(np.array(p["semi_supervised"]) == t))
    check_pngs(r["pngs"], 4)


def test_overview_conclusion_follows_the_numbers(monkeypatch):
    r = overview.compute()
    text = "\n".join(overview.report(r))
    gain = r["paradigms"]["semi_supervised_acc"] - r["paradigms"]["few_labels_acc"]
    assert f"{gain * 100:+.1f}" in text and ("提高" in text) == (gain > 0)
    r["paradigms"]["semi_supervised_acc"] = r["paradigms"]["few_labels_acc"] - 0.05  # flip the result
    assert "提高" not in "\n".join(overview.report(r))


def test_neuron(tmp_path):
    r = run("neuron", tmp_path)
    # the three-layer forward pass, computed here with NumPy from the same weights
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    z1 = sig(np.array(neuron.X) @ np.array(neuron.W1) + neuron.B1)
    z2 = sig(z1 @ np.array(neuron.W2) + neuron.B2)
    y = z2 @ np.array(neuron.W3) + neuron.B3
    np.testing.assert_allclose(r["forward"]["y"], y.ravel(), rtol=1e-10)
    np.testing.assert_allclose(r["forward"]["y"], [0.31682708, 0.69627909], atol=1e-8)  # the book's output
    assert [s["w_shape"] for s in r["forward"]["steps"]] == [[2, 3], [3, 2], [2, 2]]
    xor = r["xor"]
    assert xor["output"] == [0, 1, 1, 0]
    assert xor["thresholds"] == [0.5, 0.5, 0.5]  # every threshold 0.5, as the notes
    reg = r["regressor"]
    assert reg["w"] == pytest.approx(reg["w_least_squares"], abs=0.02)
    assert r["classifier"]["accuracy"] > 0.85
    for term in ("神经元", "树突", "轴突", "阈值", "前向传播", "异或", "回归", "分类", "激活函数"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 3)


def test_neuron_conclusion_flips():
    r = neuron.compute(quick=True)
    assert "完全一致" in "\n".join(neuron.report(r))
    r["xor"]["output"] = [0, 1, 1, 1]
    assert "不一致" in "\n".join(neuron.report(r))


def test_metrics(tmp_path):
    r = run("metrics", tmp_path)
    reg, cls = r["regression"], r["classification"]
    y = np.array(reg["y"])
    for m in reg["models"].values():
        y_hat = np.array(m["y_hat"])
        assert m["mse"] == pytest.approx(np.mean((y - y_hat) ** 2))  # MSE = (1/n)Σ, as the notes
        assert m["mse"] == pytest.approx(m["shendu_mse"]) == pytest.approx(skm.mean_squared_error(y, y_hat))
        assert m["r2"] == pytest.approx(m["shendu_r2"]) == pytest.approx(skm.r2_score(y, y_hat))
    assert reg["models"]["mean"]["r2"] == pytest.approx(0, abs=1e-12) and reg["models"]["flat"]["r2"] < 0
    t = np.array(cls["t"])
    pred = (np.array(cls["prob"]) > 0.5).astype(int)
    np.testing.assert_array_equal(cls["confusion_matrix"], skm.confusion_matrix(t, pred))
    c = cls["counts"]
    assert cls["formula"]["precision"] == pytest.approx(c["TP"] / (c["TP"] + c["FP"]))
    assert cls["formula"]["recall"] == pytest.approx(c["TP"] / (c["TP"] + c["FN"]))
    for k in ("precision", "recall", "f1", "accuracy"):
        assert cls["formula"][k] == pytest.approx(cls["shendu"][k]) == pytest.approx(cls["sklearn"][k])
    assert cls["all_negative"]["recall"] == 0 and cls["all_negative"]["accuracy"] == pytest.approx(
        1 - t.mean()
    )
    for term in ("均方误差", "精确率", "召回率", "混淆矩阵", "准确率", "评估指标"):
        assert term in r["text"], term
    check_pngs(r["pngs"], 2)


def test_metrics_conclusions_follow_the_numbers():
    r = metrics_lesson.compute()
    text = "\n".join(metrics_lesson.report(r))
    assert "精确率上升" in text and "召回率下降" in text
    r["classification"]["precision_rises"] = False
    assert "精确率没有上升" in "\n".join(metrics_lesson.report(r))
