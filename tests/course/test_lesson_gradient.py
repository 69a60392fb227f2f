"""数值微分与梯度: the gradient lesson's numbers, from its compute(), against closed forms (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import gradient
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("gradient")


def test_numerical_derivatives_of_the_course_function(r):
    assert r["derivative_at_5"] == pytest.approx(0.2, abs=1e-8)
    assert r["derivative_at_10"] == pytest.approx(0.3, abs=1e-8)
    assert r["tiny_h_lost"] and r["derivative_tiny_h"] == 0.0  # x + 1e-50 == x in float64
    # central differences beat forward differences and want a larger step (error h² vs h)
    assert r["best_h_central"] > r["best_h_forward"]
    assert r["best_error_central"] < r["best_error_forward"]
    h = np.array(r["h"])
    np.testing.assert_allclose(r["forward_error"], np.abs((np.exp(1 + h) - np.e) / h - np.e))


def test_partials_four_ways(r):
    x, y, z = r["point"]
    analytic = [2 * x + 3 * y, 3 * x + 2 * y, 3 * z**2]
    assert r["analytic"] == analytic
    np.testing.assert_allclose(r["book"], analytic, rtol=1e-6)
    np.testing.assert_allclose(r["numerical"], analytic, rtol=1e-6)
    np.testing.assert_allclose(r["autograd"], analytic, rtol=1e-12)


def test_book_numerical_gradient_restores_its_input():
    x = np.array([3.0, 4.0])
    g = gradient.numerical_gradient(lambda v: float((v**2).sum()), x)
    np.testing.assert_allclose(g, [6.0, 8.0], rtol=1e-8)
    assert x.tolist() == [3.0, 4.0]


def test_descent_shrinks_by_one_minus_two_eta(r):
    # on x0² + x1² each step multiplies x by 1 − 2η = 0.8
    path = np.array(r["path"])
    np.testing.assert_allclose(path[-1], np.array([-3.0, 4.0]) * 0.8 ** (len(path) - 1), rtol=1e-9)


def test_learning_rates(r):
    final, start = r["final_loss"], 0.2 * 9 + 16
    assert r["start_loss"] == pytest.approx(start)
    assert final["too large"] > start > final["too small"] > final["good"]
    assert final["good"] < 1e-2
    assert r["outcome"] == {"too small": "crawls", "good": "converges", "too large": "diverges"}
    # on the valley each coordinate is multiplied by 1 − 2·a·η per step (a = 0.2 and 1)
    for name, lr in r["learning_rates"].items():
        p = np.array(r["paths"][name])
        expect = np.array([-3.0, 4.0]) * np.array([1 - 0.4 * lr, 1 - 2 * lr]) ** (len(p) - 1)
        np.testing.assert_allclose(p[-1], expect, rtol=1e-9)


def test_outcome_follows_the_numbers():
    assert gradient.outcome(20.0, 17.8) == "diverges"
    assert gradient.outcome(float("nan"), 17.8) == "diverges"
    assert gradient.outcome(1.0, 17.8) == "crawls"
    assert gradient.outcome(0.1, 17.8) == "converges"


def test_report_prints_the_code_and_reads_the_numbers(r):
    with language("zh"):
        text = "\n".join(gradient.report(r))
    assert "def numerical_gradient" in text and "def descend" in text
    assert "中心差分更准" in text and "下降太慢" in text and "因为 5 + h == 5" in text
    flipped = {**r, "best_error_central": 1.0, "outcome": {**r["outcome"], "good": "diverges"}}
    with language("zh"):
        text = "\n".join(gradient.report(flipped))
    assert "前向差分更准" in text and text.count("发散") == 2
