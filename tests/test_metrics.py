"""shendu.metrics against scikit-learn on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

import shendu
from shendu import metrics

AVERAGES = [None, "macro", "micro", "weighted"]
SK_AVERAGE = {None: None, "macro": "macro", "micro": "micro", "weighted": "weighted"}


def _random_labels(seed: int, n: int = 200, c: int = 6):
    """Labels where class c-1 is never predicted and class c-2 never occurs in y_true."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, c - 2, n)
    y_true[: n // 10] = c - 1
    # mostly right, sometimes a random wrong class (never c-1, sometimes c-2)
    wrong = rng.integers(0, c - 1, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, wrong)
    y_pred[y_pred == c - 1] = 0
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("name", ["precision", "recall", "f1_score"])
def test_prf_match_sklearn(seed, average, name):
    y_true, y_pred = _random_labels(seed)
    assert not np.any(y_pred == 5) and not np.any(y_true == 4)
    sk_fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1_score": skm.f1_score}[name]
    ours = getattr(metrics, name)(y_true, y_pred, average=average)
    if average is None:
        expected = sk_fn(y_true, y_pred, average=None, labels=np.arange(6), zero_division=0)
        assert isinstance(ours, np.ndarray) and ours.shape == (6,)
    else:
        expected = sk_fn(y_true, y_pred, average=SK_AVERAGE[average], zero_division=0)
        assert isinstance(ours, float)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
@pytest.mark.parametrize("average", AVERAGES)
def test_zero_division_matches_sklearn(zero_division, average):
    y_true = np.array([0, 1, 2, 2, 3, 3, 0])
    y_pred = np.array([0, 0, 0, 2, 2, 2, 0])  # 1 and 3 never predicted
    for ours_fn, sk_fn in (
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1_score, skm.f1_score),
    ):
        ours = ours_fn(y_true, y_pred, average=average, zero_division=zero_division)
        expected = sk_fn(y_true, y_pred, average=average, zero_division=zero_division)
        np.testing.assert_allclose(ours, expected, rtol=1e-12, equal_nan=True)


def test_classes_absent_everywhere_are_left_out_of_averages():
    y_true, y_pred = [0, 2, 2, 0], [0, 2, 0, 0]  # class 1 appears nowhere
    assert metrics.precision(y_true, y_pred, average=None).shape == (3,)
    assert metrics.f1_score(y_true, y_pred, num_classes=5) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro")
    )


@pytest.mark.parametrize("seed", range(3))
def test_confusion_matrix_and_accuracy_match_sklearn(seed):
    y_true, y_pred = _random_labels(seed)
    cm = metrics.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=np.arange(6)))
    assert cm.dtype == np.int64
    cm10 = metrics.confusion_matrix(y_true, y_pred, num_classes=10)
    assert cm10.shape == (10, 10) and cm10[:6, :6].tolist() == cm.tolist() and cm10.sum() == len(y_true)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)


def test_scores_tensors_and_lists_are_accepted():
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((50, 4)).astype(np.float32)
    y_true = rng.integers(0, 4, 50)
    y_pred = logits.argmax(1)
    expected = skm.accuracy_score(y_true, y_pred)
    assert metrics.accuracy(y_true, logits) == pytest.approx(expected)
    assert metrics.accuracy(
        shendu.tensor(y_true), shendu.tensor(logits, requires_grad=True)
    ) == pytest.approx(expected)
    assert metrics.accuracy(list(y_true), y_pred.tolist()) == pytest.approx(expected)
    assert metrics.accuracy(np.eye(4)[y_true], logits) == pytest.approx(expected)  # one-hot targets
    assert metrics.accuracy(y_true.astype(np.float32), y_pred) == pytest.approx(expected)
    np.testing.assert_allclose(
        metrics.f1_score(shendu.tensor(y_true), logits, average=None, num_classes=4),
        skm.f1_score(y_true, y_pred, average=None, labels=np.arange(4)),
    )


def test_classification_report_matches_sklearn():
    y_true, y_pred = _random_labels(11, c=4)
    names = ["a", "b", "c", "d"]
    ours = metrics.classification_report(y_true, y_pred, target_names=names)
    expected = skm.classification_report(
        y_true, y_pred, labels=np.arange(4), target_names=names, output_dict=True, zero_division=0
    )
    assert ours.keys() == expected.keys() | {"accuracy"}
    for name in names:
        for key in ("precision", "recall", "f1-score", "support"):
            assert ours[name][key] == pytest.approx(expected[name][key], abs=1e-12), (name, key)
    for key in ("precision", "recall", "f1-score"):
        assert ours["weighted avg"][key] == pytest.approx(expected["weighted avg"][key], abs=1e-12)
        assert ours["macro avg"][key] == pytest.approx(
            skm.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)[
                ("precision", "recall", "f1-score").index(key)
            ],
            abs=1e-12,
        )
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))


@pytest.mark.parametrize("shape", [(40,), (40, 3)])
def test_regression_metrics_match_sklearn(shape):
    rng = np.random.default_rng(5)
    y_true = rng.standard_normal(shape)
    y_pred = y_true + 0.5 * rng.standard_normal(shape)
    for ours, sk in (
        (metrics.mean_squared_error, skm.mean_squared_error),
        (metrics.mean_absolute_error, skm.mean_absolute_error),
        (metrics.r2_score, skm.r2_score),
    ):
        assert ours(y_true, y_pred) == pytest.approx(sk(y_true, y_pred), rel=1e-12)
        assert ours(shendu.tensor(y_true.astype(np.float32)), y_pred.astype(np.float32)) == pytest.approx(
            sk(y_true.astype(np.float32), y_pred.astype(np.float32)), rel=1e-5
        )


def test_r2_of_constant_target_matches_sklearn():
    assert (
        metrics.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
        == skm.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
        == 1.0
    )
    assert (
        metrics.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 2.0])
        == skm.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 2.0])
        == 0.0
    )


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: metrics.accuracy([0, 1, 2], [0, 1]), ValueError, "different lengths: 3 and 2"),
        (lambda: metrics.precision([0, 1], [0, 1, 1]), ValueError, "different lengths"),
        (lambda: metrics.confusion_matrix([0, -1], [0, 1]), ValueError, "y_true.*-1"),
        (
            lambda: metrics.confusion_matrix([0, 1], [0, 7], num_classes=3),
            ValueError,
            "y_pred: label 7.*num_classes=3",
        ),
        (lambda: metrics.recall([0.5, 1.0], [0, 1]), ValueError, "whole numbers.*0.5"),
        (
            lambda: metrics.accuracy(np.zeros((2, 3, 4)), [0, 1]),
            ValueError,
            r"shape \(N,\) or scores.*\(2, 3, 4\)",
        ),
        (lambda: metrics.f1_score([0, 1], [0, 1], average="binary"), ValueError, "average must be one of"),
        (lambda: metrics.precision([0, 1], [0, 1], zero_division=0.5), ValueError, "zero_division"),
        (lambda: metrics.accuracy([], []), ValueError, "empty"),
        (lambda: metrics.accuracy(["a", "b"], ["a", "b"]), TypeError, "integer class labels"),
        (
            lambda: metrics.mean_squared_error([1.0, 2.0], [[1.0], [2.0]]),
            ValueError,
            r"shape \(2,\) but y_pred has shape \(2, 1\)",
        ),
        (lambda: metrics.mean_absolute_error([1.0, 2.0, 3.0], [1.0]), ValueError, "different lengths"),
        (
            lambda: metrics.classification_report([0, 1], [0, 1], target_names=["x"]),
            ValueError,
            "1 names.*2 classes",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
