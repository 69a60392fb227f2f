"""损失函数: the loss lesson's numbers, from its compute(), against the course's values (no PyTorch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shendu.lessons import loss
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers

T = np.eye(10)[2]
RIGHT, WRONG = np.array(loss.Y_RIGHT), np.array(loss.Y_WRONG)


@pytest.fixture(scope="module")
def r():
    return numbers("loss")


def test_mean_squared_error_and_its_half_sum_variant(r):
    # MSE is the notes' (1/n)Σ; ½Σ is n/2 times it and its gradient is y − t
    assert r["mse_right"] == pytest.approx(0.195 / 10) and r["mse_wrong"] == pytest.approx(1.195 / 10)
    assert r["sse_right"] == pytest.approx(0.0975, abs=1e-6)  # the course's numbers
    assert r["sse_wrong"] == pytest.approx(0.5 * ((WRONG - T) ** 2).sum(), abs=1e-6)
    assert r["sse_right"] == pytest.approx(r["n"] / 2 * r["mse_right"])
    np.testing.assert_allclose(r["half_sse_grad"], RIGHT - T)


def test_cross_entropy_three_ways(r):
    assert r["ce_right"] == pytest.approx(-math.log(0.6 + 1e-7), abs=1e-6)
    assert r["ce_right"] == pytest.approx(0.51, abs=0.001)
    assert r["ce_wrong"] == pytest.approx(-math.log(0.1 + 1e-7), abs=1e-6)
    assert r["book_ce_right"] == pytest.approx(r["ce_right"], abs=1e-9)  # the book's NumPy version
    assert r["book_ce_wrong"] == pytest.approx(r["ce_wrong"], abs=1e-9)
    assert r["ce_from_logits"] == pytest.approx(-math.log(RIGHT[2] + 1e-7), abs=1e-5)


def test_curves_and_their_gradients(r):
    p = np.array(r["p"])
    np.testing.assert_allclose(r["ce_curve"], -np.log(p), rtol=1e-6)
    np.testing.assert_allclose(r["ce_grad"], -1 / p, rtol=1e-6)
    np.testing.assert_allclose(r["se_grad"], p - 1, atol=1e-9)
    assert r["max_se_push"] == pytest.approx(0.99)


def test_sentences_follow_the_numbers(r):
    with language("en"):
        text = "\n".join(loss.report(r))
    # the ratios are computed, not typed (0.5975/0.0975 = 6.13)
    assert "0.097500" in text and "0.510825" in text and "the same as above" in text
    assert "6.1× more squared error" in text and "4.5× more cross-entropy" in text
    assert "+0.50 and +1.79, cross-entropy grows more" in text
    assert "cross-entropy pushes hardest" in text and "at most 0.99" in text
    flipped = {**r, "ce_wrong": r["ce_right"] + 0.1, "book_ce_right": 9.0}
    flipped["ce_grad"] = [g / 1000 for g in r["ce_grad"]]
    with language("en"):
        text = "\n".join(loss.report(flipped))
    assert "squared error grows more" in text and "NOT the same as above" in text
    assert "squared error pushes harder" in text


def test_prints_the_code(r):
    text = "\n".join(loss.report(r))
    for name in ("def cross_entropy_error", "class SquaredError", "def mean_squared_error"):
        assert name in text, name
