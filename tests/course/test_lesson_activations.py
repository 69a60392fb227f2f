"""激活函数: the activations lesson's numbers, from its compute(), against closed forms (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import activations
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("activations")


def test_derivatives_from_backward_equal_the_closed_forms(r):
    x = np.array(r["x"])
    sig = 1 / (1 + np.exp(-x))
    d = {k: np.array(v) for k, v in r["derivatives"].items()}
    np.testing.assert_allclose(d["sigmoid"], sig * (1 - sig), atol=1e-10)
    np.testing.assert_allclose(d["tanh"], 1 - np.tanh(x) ** 2, atol=1e-10)
    np.testing.assert_allclose(d["softplus"], sig, atol=1e-10)
    np.testing.assert_allclose(d["relu"], (x > 0).astype(float))
    np.testing.assert_array_equal(d["step"], np.zeros_like(x))
    np.testing.assert_allclose(r["values"]["softplus"], np.log1p(np.exp(x)), atol=1e-10)
    assert r["max_derivative"]["sigmoid"] == pytest.approx(0.25) and r["argmax_derivative"]["sigmoid"] == 0
    assert r["max_derivative"]["tanh"] == pytest.approx(1.0)
    assert r["step_derivative_all_zero"] and r["relu_derivative_values"] == [0.0, 1.0]
    assert r["softplus_derivative_minus_sigmoid"] < 1e-12


def test_softmax_of_the_course_scores(r):
    s = np.array(r["softmax_input"])
    np.testing.assert_allclose(r["softmax"], np.exp(s) / np.exp(s).sum(), rtol=1e-12)
    np.testing.assert_allclose(r["softmax"], [0.01821127, 0.24519181, 0.73659691], atol=1e-8)
    assert r["softmax_keeps_order"] and r["softmax_shift_change"] < 1e-12


def test_vanishing_gradient(r):
    g = r["grad_norms"]["sigmoid"]
    assert all(a < b for a, b in zip(g, g[1:], strict=False))  # shrinks toward the input
    assert g[0] < 1e-3 * g[-1]
    relu = r["grad_norms"]["relu"]
    assert max(relu) / min(relu) < 20  # ReLU (He init) keeps it within an order of magnitude
    ratios = r["first_over_last"]
    assert 1e-2 < ratios["tanh"] < 1e2
    assert r["grad_norms"][activations.SMALL][0] < 1e-4 * r["grad_norms"]["tanh"][0]
    assert r["verdict"] == {
        "sigmoid": "vanishes",
        "tanh": "holds",
        "relu": "holds",
        activations.SMALL: "vanishes",
        activations.LARGE: "explodes",
    }


def test_sentences_follow_the_numbers(r):
    with language("zh"):
        text = "\n".join(activations.report(r))
    assert "Xavier 初始化时梯度保持" in text and "N(0, 0.01²)）时消失" in text
    assert "阶跃函数的导数处处为 0" in text and "softplus 的导数就是 sigmoid" in text
    flipped = {**r, "derivatives": {**r["derivatives"], "step": [0.0] * (len(r["x"]) - 1) + [1.0]}}
    flipped["grad_norms"] = {**r["grad_norms"], "tanh": r["grad_norms"]["sigmoid"]}
    flipped.update(activations.conclusions(flipped))
    with language("zh"):
        text = "\n".join(activations.report(flipped))
    assert "阶跃函数的导数不全为 0" in text and "Xavier 初始化时梯度消失" in text
    assert "这里的数字与笔记一致" in text


def test_prints_the_activation_code(r):
    text = "\n".join(activations.report(r))
    for name in ("class Relu", "class Sigmoid", "class Tanh", "def softmax", "def backward"):
        assert name in text, name
