"""概述: the overview lesson's timeline and learning paradigms, from its compute() (no PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from shendu.lessons import overview
from shendu.lessons._i18n import language
from tests.course.lesson_numbers import numbers


@pytest.fixture(scope="module")
def r():
    return numbers("overview")


def test_timeline_has_the_notes_dates(r):
    years = [y for y, _, _ in r["timeline"]]
    assert years == sorted(years)
    assert {1943, 1949, 1958, 1982, 1986, 1995, 1998, 2006, 2016} <= set(years)


def test_paradigm_scores_are_computed_from_the_predictions(r):
    p = r["paradigms"]
    t, clusters, semi = (np.array(p[k]) for k in ("t", "clusters", "semi_supervised"))
    assert p["semi_supervised_acc"] == pytest.approx(np.mean(semi == t))
    # purity: each cluster counted by its majority label, computed here without the lesson's helper
    majority = sum(max(np.sum((clusters == c) & (t == k)) for k in range(3)) for c in range(3))
    assert p["kmeans_purity"] == pytest.approx(majority / len(t))
    assert (semi[p["labelled"]] == t[p["labelled"]]).all()  # self-training keeps the given labels
    assert p["supervised_acc"] > 0.85 and p["kmeans_purity"] > 0.85


def test_kmeans_finds_the_three_clouds():
    x, t = overview.blobs()
    clusters = overview.kmeans(x, 3)
    assert overview.purity(t, clusters) > 0.9 and len(np.unique(clusters)) == 3


def test_report_prints_kmeans_and_reads_the_gain(r):
    with language("zh"):
        text = "\n".join(overview.report(r))
    assert "def kmeans" in text and "半监督学习把准确率提高了" in text
