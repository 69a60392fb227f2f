"""卷积层: the conv lesson's numbers, from its compute(), against NumPy (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import conv
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


def correlate2d(x, w, mode):
    """Σ over each window of x·w (no flip), as scipy.signal.correlate2d; 'same' pads with zeros.

    Written here with NumPy's sliding windows: scipy.signal imports scipy.stats, which fails
    where PyTorch is absent (this folder must run without it)."""
    if mode == "same":
        x = np.pad(x, [(w.shape[0] // 2,) * 2, (w.shape[1] // 2,) * 2])
    return (np.lib.stride_tricks.sliding_window_view(x, w.shape) * w).sum(axis=(-2, -1))


X = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]])
W = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]])


@pytest.fixture(scope="module")
def r():
    return numbers("conv")


def test_one_dimensional(r):
    np.testing.assert_allclose(r["conv1d"], np.convolve([1, 2, 3, 4, 5], [1, 0.5, -1]), atol=1e-6)
    np.testing.assert_allclose(
        r["cross_correlation"], np.correlate([1, 2, 3, 4, 5], [1, 0.5, -1], "valid"), atol=1e-6
    )
    assert r["library_equals_numpy"]


def test_the_course_example(r):
    assert r["course_output"] == [[15, 16], [6, 15]]  # the course's figure
    np.testing.assert_array_equal(r["course_output"], correlate2d(X, W, "valid"))
    np.testing.assert_array_equal(r["course_output_bias"], correlate2d(X, W, "valid") + 3)
    np.testing.assert_array_equal(r["course_output_padded"], correlate2d(X, W, "same"))
    np.testing.assert_array_equal(r["book_output_bias"], correlate2d(X, W, "valid") + 3)
    assert r["book_equals_library"]
    assert r["im2col_shape"] == [4, 9] and r["im2col_first_row"] == X[:3, :3].ravel().tolist()
    sums = correlate2d(np.arange(49).reshape(7, 7), np.ones((3, 3)), "valid")[::2, ::2]
    np.testing.assert_array_equal(r["strided"], sums)


def test_output_sizes_and_shapes(r):
    assert r["output_size"] == [(28 + 2 * 2 - 5) // 3 + 1, (31 + 2 * 2 - 5) // 3 + 1] == [10, 11]
    assert r["output_size_real"] == [10, 11] and r["size_formula_matches"]
    for key, size in r["output_size_grid"].items():
        stride, pad = (int(v.split("=")[1]) for v in key.split(","))
        assert size == (28 + 2 * pad - 5) // stride + 1
    assert r["channel_sum_error"] < 1e-5
    assert r["one_filter_shape"] == [1, 1, 3, 3] and r["multi_shape"] == [2, 4, 3, 3]
    assert r["fc_params"] == 784 * 6 * 24 * 24 + 6 * 24 * 24 and r["conv_params"] == 6 * 25 + 6


def test_kernels_on_the_photograph(r):
    s = r["kernel_stats"]
    for name in ("sharpen", "box blur 5×5", "Gaussian blur σ=1"):
        assert s[name]["kernel_sum"] == pytest.approx(1.0, abs=1e-5)
    assert s["box blur 5×5"]["std"] < s["Gaussian blur σ=1"]["std"] < r["image_std"] < s["sharpen"]["std"]
    assert abs(s["all edges (Laplacian)"]["mean"]) < 0.01
    assert r["keeps_brightness"] == ["sharpen", "box blur 5×5", "Gaussian blur σ=1"]
    assert r["lowers_contrast"] == ["box blur 5×5", "Gaussian blur σ=1"]
    assert r["raises_contrast"] == ["sharpen"]
    assert r["flat_to_zero"] == ["vertical edges (Sobel x)", "all edges (Laplacian)"]


def test_sentences_follow_the_numbers(r):
    flipped = {**r, "image_std": 1.0, "output_size_real": [9, 9], "book_output_bias": [[0, 0], [0, 0]]}
    flipped.update(conv.conclusions(flipped))
    assert flipped["raises_contrast"] == []
    with language("zh"):
        text = "\n".join(conv.report(flipped))
        assert "（不一致！）" in text and "与 F.conv2d 不同" in text and "提高对比度：没有" in text
        text = "\n".join(conv.report(r))
        assert "提高对比度：锐化；" in text and "def im2col" in text and "def forward" in text
