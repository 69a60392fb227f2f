"""神经元与前向传播: the neuron lesson's forward pass and XOR network, from its compute() (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import neuron
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("neuron")


def test_forward_pass_the_library_way_and_the_books(r):
    # the book's output for its weights
    np.testing.assert_allclose(r["forward"]["y"], [0.31682708, 0.69627909], atol=1e-8)
    np.testing.assert_allclose(r["forward_book"], r["forward"]["y"], rtol=1e-12)
    z1 = 1 / (1 + np.exp(-(np.array(neuron.X) @ np.array(neuron.W1) + neuron.B1)))
    np.testing.assert_allclose(r["forward"]["steps"][0]["z"], z1.ravel(), rtol=1e-12)


def test_xor_with_every_threshold_half(r):
    assert r["xor"]["output"] == [0, 1, 1, 0] and r["xor"]["thresholds"] == [0.5, 0.5, 0.5]


def test_report_prints_the_forward_code_and_checks_it(r):
    with language("zh"):
        text = "\n".join(neuron.report(r))
        assert "def forward_book" in text and "与上面相同" in text
        text = "\n".join(neuron.report({**r, "forward_book": [0.0, 0.0]}))
        assert "与上面不同" in text
