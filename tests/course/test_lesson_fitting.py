"""过拟合与欠拟合: the three regimes and the cures, checked on the lesson's own numbers (no PyTorch).

The noise floor σ² is known because the lesson makes the noise: a training loss far below it means
the network learnt the noise; a validation loss near it is the best any model can do.
"""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import fitting
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("fitting")


def test_the_data_has_the_stated_noise(r):
    x, y = (np.array(v) for v in r["train_xy"])
    assert len(x) == fitting.N_TRAIN and r["noise_floor"] == pytest.approx(0.25**2)
    residual = y - np.sin(1.5 * x)
    assert 0.5 * fitting.NOISE < residual.std() < 1.5 * fitting.NOISE


def test_parameter_counts(r):
    p = {k: v["params"] for k, v in r["regimes"].items()}
    assert p == {
        "small": 1 + 1 + 1 + 1,
        "good": 4 + 4 + 4 + 1,
        "large": 100 + 100 + 100 * 100 + 100 + 100 + 1,
    }


def test_under_fitting_both_losses_high_and_flat(r):
    small, floor = r["regimes"]["small"], r["noise_floor"]
    assert small["final"]["train"] > 3 * floor and small["final"]["val"] > 3 * floor
    train = small["curve"]["train"]
    k = len(train) // 5
    assert (train[-k - 1] - train[-1]) / train[-k - 1] < 0.01  # no longer improving
    assert r["regime"]["small"] == "under"


def test_over_fitting_train_to_zero_while_validation_rises(r):
    large, floor = r["regimes"]["large"], r["noise_floor"]
    val = large["curve"]["val"]
    assert large["final"]["train"] < 0.05 * large["final"]["val"]  # memorised
    assert large["final"]["train"] < floor / 10  # below the noise: it learnt the noise
    assert large["final"]["val"] > 1.2 * min(val)  # validation loss rose after its minimum
    assert int(np.argmin(val)) < len(val) // 2
    assert r["regime"]["large"] == "over"


def test_good_fit_near_the_noise_floor(r):
    good, floor = r["regimes"]["good"], r["noise_floor"]
    assert good["final"]["val"] < 1.5 * floor
    assert good["final"]["val"] < 0.7 * r["regimes"]["large"]["final"]["val"]
    assert good["final"]["val"] < 0.3 * r["regimes"]["small"]["final"]["val"]
    assert r["regime"]["good"] == "good"


def test_weight_decay_early_stopping_and_more_data_really_help(r):
    base = r["regimes"]["large"]["final"]["test"]
    cures = r["cures"]
    for name in ("weight decay", "early stopping", "more data"):
        assert cures[name]["final"]["test"] < 0.85 * base, name
        assert r["verdict"][name] == "helps"
    # early stopping restores the weights of the lowest validation loss seen
    assert cures["early stopping"]["final"]["val"] == pytest.approx(
        min(r["regimes"]["large"]["curve"]["val"])
    )
    # weight decay keeps the network from learning the noise
    assert cures["weight decay"]["final"]["train"] > r["noise_floor"] / 2
    for name, c in cures.items():
        assert r["verdict"][name] == fitting.verdict(base, c["final"]["test"])


def test_regime_and_verdict_follow_the_numbers():
    floor = 0.0625

    def fake(train, val, curve_train, curve_val):
        return {"final": {"train": train, "val": val}, "curve": {"train": curve_train, "val": curve_val}}

    flat = [0.5] * 10
    assert fitting.regime(fake(0.5, 0.5, flat, flat), floor) == "under"
    falling = [1.0 - 0.05 * i for i in range(10)]
    assert fitting.regime(fake(0.5, 0.5, falling, falling), floor) != "under"  # still improving
    assert fitting.regime(fake(0.001, 0.12, flat, [0.08] * 9 + [0.12]), floor) == "over"
    assert fitting.regime(fake(0.001, 0.08, flat, [0.08] * 10), floor) != "over"  # validation did not rise
    assert fitting.regime(fake(0.04, 0.07, flat, [0.07] * 10), floor) == "good"
    assert fitting.verdict(0.1, 0.05) == "helps" and fitting.verdict(0.1, 0.2) == "hurts"
    assert fitting.verdict(0.1, 0.101) == "no change"


def test_report_says_what_the_numbers_say(r):
    with language("zh"):
        text = "\n".join(fitting.report(r))
    for term in (
        "欠拟合",
        "过拟合",
        "合适的拟合",
        "噪声下限",
        "权重衰减",
        "Dropout",
        "早停",
        "数据增强",
        "更多数据",
    ):
        assert term in text, term
    flipped = {**r, "verdict": {**r["verdict"], "weight decay": "hurts"}}
    with language("zh"):
        helped = "\n".join(fitting.report(flipped)).split("有效的：")[1].splitlines()[0]
    assert "权重衰减" not in helped
    with language("en"):
        en = "\n".join(fitting.report(r))
    assert "over-fitting" in en and "欠拟合" not in en
