"""池化层: the pooling lesson's numbers, from its compute(), against NumPy (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import pooling
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("pooling")


def test_the_course_example(r):
    x = np.array(pooling.COURSE_X, dtype=float)
    windows = x.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    np.testing.assert_array_equal(r["max_pool"], windows.max(-1))
    np.testing.assert_allclose(r["avg_pool"], windows.mean(-1))
    assert r["max_pool"] == [[2, 3], [4, 2]] and r["avg_pool"] == [[1, 1.5], [2.25, 1]]
    assert r["book_max_pool"] == r["max_pool"] and r["book_equals_library"]


def test_no_parameters_and_channels_kept(r):
    assert r["pool_params"] == 0 and r["conv_params"] == 6 * 6 * 2 * 2 + 6
    assert r["pooled_shape"] == [1, 6, 14, 14]


def test_shift_robustness_is_partial(r):
    c = r["relative_change"]
    for name in pooling.POOLS:
        assert c[name] < c[pooling.NO_POOL]
    assert c["max 3×3, stride 3"] < c["max 2×2"] and r["bigger_window_helps"]
    assert r["max_pool_unchanged_fraction"] > r["pixel_unchanged_fraction"]
    for k, v in r["reduction"].items():  # a partial cut, stated as measured
        assert v == pytest.approx(1 - c[k] / c[pooling.NO_POOL]) and 0 < v < 1
    assert r["best"] == "max 3×3, stride 3"
    ex = r["example"]  # the drawn digit really is the shifted one
    np.testing.assert_array_equal(ex["shifted"][:, 1:], ex["digit"][:, :-1])


def test_sentences_follow_the_numbers(r):
    with language("zh"):
        text = "\n".join(pooling.report(r))
    for v in r["reduction"].values():
        assert f"{v:.0%}" in text
    assert "池化只带来部分的平移不变性，窗口越大越明显" in text and "def forward" in text
    flipped = {**r, "relative_change": {**r["relative_change"], "max 2×2": 1.0}}
    flipped.update(pooling.conclusions(flipped))
    with language("zh"):
        text = "\n".join(pooling.report(flipped))
    assert "不是每种池化都减少了变化" in text and "平移不变性，" not in text
