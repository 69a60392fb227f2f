"""通用近似定理: the lesson's fits, restarts and conclusions checked on its own numbers (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import approx
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("approx")


def test_six_neurons_fit_the_cubic_and_fewer_cannot(r):
    loss, params, var = r["final_loss"], r["params"], r["target_variance"]
    x = np.linspace(-2, 2, r["n_points"])
    assert var == pytest.approx(np.var(x**3 + x**2 - x - 1), rel=1e-5)
    assert loss["6 neurons (course)"] < 0.01  # below 0.2% of f's variance (about 5.9)
    assert loss["6 neurons (course)"] < min(loss["1 neuron"], loss["2 neurons"]) / 10
    assert loss["1 neuron"] > 0.05 * var  # one tanh is an S-curve: it cannot bend twice
    assert params["6 neurons (course)"] == 3 * 6 + 1  # 6 weights in, 6 biases, 6 weights out, 1 bias
    assert r["ordered"]


def test_the_reported_fit_is_the_best_restart(r):
    for name, finals in r["restart_finals"].items():
        assert len(finals) == approx.RESTARTS and r["final_loss"][name] == min(finals)
    # the notes' 2-neuron local minimum: a restart escapes it (the best is well below the worst)
    two = r["restart_finals"]["2 neurons"]
    assert min(two) < 0.8 * max(two)


def test_same_budget_shapes(r):
    for name, b in r["budget"].items():
        assert 40 <= r["params"][name] <= 60  # the comparison is at a similar parameter count
        assert b["best"] <= b["median"] <= b["worst"]
        assert b["best"] == r["final_loss"][name] < 0.01  # every shape can fit the curve
    assert r["lowest_median"] == min(r["budget"], key=lambda k: r["budget"][k]["median"])
    assert r["fit_best"] == list(approx.SAME_BUDGET)


def test_conclusions_follow_the_numbers(r):
    flipped = {**r, "final_loss": {**r["final_loss"], "6 neurons (course)": 1.0}}
    c = approx.conclusions(flipped)
    assert not c["ordered"]
    with language("zh"):
        text = "\n".join(approx.report({**flipped, **c}))
    assert "神经元更多并不总是更好" in text
    bad = {k: {**v, "best": 1.0, "worst": 2.0} for k, v in r["budget"].items()}
    c = approx.conclusions({**r, "budget": bad})
    assert c["fit_best"] == [] and c["fit_worst"] == []
    with language("en"):
        text = "\n".join(approx.report({**r, "budget": bad, **c}))
    assert "did not fit the curve even at best" in text
