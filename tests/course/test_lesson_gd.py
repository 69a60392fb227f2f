"""梯度下降: batch, stochastic and mini-batch gradient descent on the lesson's own numbers (no PyTorch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shendu.lessons import gd
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("gd")


def test_least_squares_from_numpy(r):
    x, y = gd.make_data(r["n"])
    w, b = np.polyfit(x.ravel().astype(float), y.ravel().astype(float), 1)
    np.testing.assert_allclose(r["least_squares"], [w, b], rtol=1e-6)
    assert r["loss_floor"] == pytest.approx(np.mean((w * x + b - y) ** 2), rel=1e-5)


def test_steps_per_method(r):
    n, epochs = r["n"], r["epochs"]
    assert r["steps"] == {"BGD": epochs, "MBGD": epochs * math.ceil(n / 16), "SGD": epochs * n}


def test_batch_descends_every_step_stochastic_does_not(r):
    worse, jump = r["share_of_steps_worse"], r["worst_step_increase"]
    assert worse["BGD"] == 0.0  # the exact gradient with a small step always descends
    assert worse["SGD"] > 0.2  # one sample's gradient often points uphill for the whole loss
    assert jump["SGD"] > jump["MBGD"] > jump["BGD"] == 0.0
    bgd = r["epoch_losses"]["BGD"]
    assert all(a > b for a, b in zip(bgd, bgd[1:], strict=False))
    assert r["noisiest"] == "SGD" and r["steadiest"] == "BGD"


def test_many_small_steps_get_near_the_minimum_first(r):
    floor, w_b = r["loss_floor"], r["least_squares"]
    # per epoch, MBGD and SGD take many steps and reach the minimum while BGD is still on its way
    assert r["epochs_to_minimum"]["MBGD"] is not None
    assert r["epoch_losses"]["MBGD"][2] < r["epoch_losses"]["BGD"][2]
    assert r["final_loss"]["MBGD"] < 1.01 * floor
    np.testing.assert_allclose(r["final_params"]["MBGD"], w_b, atol=0.05)
    np.testing.assert_allclose(r["final_params"]["SGD"], w_b, atol=0.3)
    assert r["fastest_per_epoch"] in ("MBGD", "SGD")


def test_conclusions_follow_the_numbers(r):
    flipped = {**r, "share_of_steps_worse": {"BGD": 0.9, "MBGD": 0.1, "SGD": 0.0}}
    assert gd.conclusions(flipped)["noisiest"] == "BGD"
    flipped = {**r, "epochs_to_minimum": {"BGD": 1, "MBGD": None, "SGD": None}}
    c = gd.conclusions(flipped)
    assert c["fastest_per_epoch"] == "BGD"
    with language("zh"):
        text = "\n".join(gd.report({**flipped, **c}))
    assert "按轮数算最快的是批量梯度下降" in text and "第 1 轮到了最小值" in text
    with language("en"):
        en = "\n".join(gd.report(r))
    assert "mini-batch" in en and "批量" not in en
