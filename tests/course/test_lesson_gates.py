"""感知机: the gates lesson's numbers, from its compute(), against truths computed here (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import gates
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers

PAIRS = [(0, 0), (1, 0), (0, 1), (1, 1)]
XOR = [a ^ b for a, b in PAIRS]


@pytest.fixture(scope="module")
def r():
    return numbers("gates")


def test_truth_tables_of_the_course_weights(r):
    t = r["truth_tables"]
    assert t["AND"] == [int(a and b) for a, b in PAIRS]
    assert t["OR"] == [int(a or b) for a, b in PAIRS]
    assert t["NAND"] == [int(not (a and b)) for a, b in PAIRS]
    assert t["XOR (AND(NAND, OR))"] == t["XOR (4 NAND)"] == XOR
    assert r["xor_methods_right"] == ["XOR (AND(NAND, OR))", "XOR (4 NAND)"]


def test_no_single_line_separates_xor(r):
    # the best line still gets one of four wrong, and that line really does (checked here)
    assert r["xor_best_line_errors"] == 1 and not r["xor_separable_by_one_line"]
    w, b = np.array(r["xor_best_line"]["w"]), r["xor_best_line"]["b"]
    assert ((np.array(PAIRS) @ w + b > 0).astype(int) != XOR).sum() == 1
    # while AND's line separates AND: the search finds 0 errors there
    assert gates.best_line(np.array(PAIRS, float), np.array([0, 0, 0, 1]))["errors"] == 0


def test_hidden_layer_makes_xor_separable(r):
    nand = [int(not (a and b)) for a, b in PAIRS]
    orr = [int(a or b) for a, b in PAIRS]
    assert r["hidden"] == [list(p) for p in zip(nand, orr, strict=True)]
    assert r["hidden_class1"] == [[1, 1]] and r["hidden_class1_is_one_point"]
    assert r["and_on_hidden"] == XOR and r["two_layers_solve_xor"]


def test_learning_rule_converges_on_and_or_not_xor(r):
    learnt = r["learnt"]
    assert learnt["AND"]["converged"] and learnt["OR"]["converged"] and not learnt["XOR"]["converged"]
    assert learnt["AND"]["errors"][-1] == 0 and min(learnt["XOR"]["errors"]) > 0
    assert learnt["XOR"]["epochs"] == r["max_epochs"]
    assert r["and_learnt_predictions"] == [0, 0, 0, 1]


def test_sentences_follow_the_numbers(r):
    with language("zh"):
        text = "\n".join(gates.report(r))
        assert "不是线性可分的" in text and "正是异或" in text and "异或门：20 轮后仍不收敛" in text
        flipped = {**r, "and_on_hidden": [0, 1, 1, 1], "xor_best_line_errors": 0}
        flipped.update(gates.conclusions(flipped))
        text = "\n".join(gates.report(flipped))
        assert "不是异或" in text and "与理论矛盾" in text and "正是异或" not in text
    with language("en"):
        assert "did NOT converge in 20 epochs" in "\n".join(gates.report(r))


def test_prints_the_perceptron_code(r):
    text = "\n".join(gates.report(r))
    assert "shendu/models/perceptron.py:" in text and "def xor_gate" in text and "def gate" in text
    assert "def fit" in text
