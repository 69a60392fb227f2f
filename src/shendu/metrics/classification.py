"""Classification measures: accuracy, precision, recall, F1, and a per-class report.

Per class c, from the confusion matrix (rows true, columns predicted)::

    TP = predicted c and truly c      FP = predicted c, truly another class
    FN = truly c, predicted another   support = TP + FN (samples of class c)

    precision = TP / (TP + FP)        of the samples called c, the fraction that are c
    recall    = TP / (TP + FN)        of the samples that are c, the fraction found
    F1        = 2 · precision · recall / (precision + recall) = 2TP / (2TP + FP + FN)

Averages over classes (``average=``): ``None`` gives one value per class; ``'macro'`` the plain
mean over classes; ``'weighted'`` the mean weighted by support; ``'micro'`` pools TP, FP, FN of all
classes first (for single-label data micro precision = micro recall = accuracy). Classes that
occur neither in ``y_true`` nor in ``y_pred`` are left out of the averages, as scikit-learn does
when it is not given a label list. When a denominator is 0 the score is ``zero_division``
(0, 1, or ``nan`` to leave it out of the average).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from shendu.metrics._inputs import as_labels, check_same_length, class_labels
from shendu.metrics.confusion import confusion_matrix

AVERAGES = (None, "macro", "micro", "weighted")


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of correct predictions: ``mean(y_pred == y_true)``.

    ``y_pred`` may be labels ``(N,)`` or logits/probabilities ``(N, C)`` (argmax per row);
    ``y_true`` labels ``(N,)`` or one-hot ``(N, C)``.

    >>> accuracy([0, 1, 2, 1], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.0, 1.0, 0.0]])
    0.75
    """
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(t, p)
    return float(np.mean(t == p))


def _counts(y_true: Any, y_pred: Any, num_classes: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: TP, predicted count (TP + FP), true count (TP + FN)."""
    m = confusion_matrix(y_true, y_pred, num_classes)
    return np.diag(m), m.sum(axis=0), m.sum(axis=1)


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _check(average: str | None, zero_division: float) -> None:
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    if not (zero_division in (0, 1) or np.isnan(zero_division)):
        raise ValueError(f"zero_division must be 0, 1 or nan, got {zero_division}")


def _score(
    kind: str, y_true: Any, y_pred: Any, average: str | None, num_classes: int | None, zero_division: float
) -> float | np.ndarray:
    _check(average, zero_division)
    tp, pred, true = _counts(y_true, y_pred, num_classes)
    if average == "micro":  # pool the counts of all classes, then divide once
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    if kind == "precision":
        per_class = _divide(tp, pred, zero_division)
    elif kind == "recall":
        per_class = _divide(tp, true, zero_division)
    else:
        per_class = _divide(2 * tp, pred + true, zero_division)
    if average is None:
        return per_class
    if average == "micro":
        return float(per_class[0])
    present = (pred + true) > 0
    values = per_class[present]
    weights = true[present] if average == "weighted" else np.ones(values.shape)
    keep = ~np.isnan(values)  # zero_division=nan: leave undefined scores out
    if not keep.any():
        return float("nan")
    values, weights = values[keep], weights[keep]
    if weights.sum() == 0:
        return float(values.mean())
    return float(np.average(values, weights=weights))


def precision(
    y_true: Any,
    y_pred: Any,
    average: str | None = "macro",
    num_classes: int | None = None,
    zero_division: float = 0,
) -> float | np.ndarray:
    """Precision TP / (TP + FP): per class (``average=None``) or averaged (see the module doc).

    >>> precision([0, 0, 1, 1], [0, 1, 1, 1], average=None)
    array([1.        , 0.66666667])
    >>> round(precision([0, 0, 1, 1], [0, 1, 1, 1]), 4)   # macro: (1 + 2/3) / 2
    0.8333
    """
    return _score("precision", y_true, y_pred, average, num_classes, zero_division)


def recall(
    y_true: Any,
    y_pred: Any,
    average: str | None = "macro",
    num_classes: int | None = None,
    zero_division: float = 0,
) -> float | np.ndarray:
    """Recall TP / (TP + FN): per class (``average=None``) or averaged (see the module doc).

    >>> recall([0, 0, 1, 1], [0, 1, 1, 1], average=None)
    array([0.5, 1. ])
    """
    return _score("recall", y_true, y_pred, average, num_classes, zero_division)


def f1_score(
    y_true: Any,
    y_pred: Any,
    average: str | None = "macro",
    num_classes: int | None = None,
    zero_division: float = 0,
) -> float | np.ndarray:
    """F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN): per class or averaged (macro: mean of per-class F1).

    >>> f1_score([0, 0, 1, 1], [0, 1, 1, 1], average=None)
    array([0.66666667, 0.8       ])
    """
    return _score("f1", y_true, y_pred, average, num_classes, zero_division)


def classification_report(
    y_true: Any,
    y_pred: Any,
    num_classes: int | None = None,
    target_names: Sequence[str] | None = None,
    zero_division: float = 0,
) -> dict[str, Any]:
    """Precision, recall, F1 and support per class plus their averages, as a dict.

    The layout is scikit-learn's ``classification_report(..., output_dict=True)``: one entry per
    class name (``target_names`` or the class index as a string) holding ``precision``,
    ``recall``, ``f1-score`` and ``support``; then ``accuracy``, ``macro avg`` and ``weighted avg``.

    >>> r = classification_report([0, 0, 1, 1], [0, 1, 1, 1], target_names=["cat", "dog"])
    >>> r["dog"]["recall"], r["accuracy"], r["macro avg"]["support"]
    (1.0, 0.75, 4)
    """
    t, p, c = class_labels(y_true, y_pred, num_classes)
    if target_names is not None and len(target_names) != c:
        raise ValueError(f"target_names has {len(target_names)} names, but there are {c} classes")
    names = list(target_names) if target_names is not None else [str(i) for i in range(c)]
    kw: dict[str, Any] = dict(num_classes=c, zero_division=zero_division)
    per_class = [
        np.asarray(precision(t, p, None, **kw)),
        np.asarray(recall(t, p, None, **kw)),
        np.asarray(f1_score(t, p, None, **kw)),
    ]
    support = np.bincount(t, minlength=c)
    report: dict[str, Any] = {
        name: {
            "precision": float(per_class[0][i]),
            "recall": float(per_class[1][i]),
            "f1-score": float(per_class[2][i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(names)
    }
    report["accuracy"] = accuracy(t, p)
    for label, average in (("macro avg", "macro"), ("weighted avg", "weighted")):
        report[label] = {
            "precision": precision(t, p, average, **kw),
            "recall": recall(t, p, average, **kw),
            "f1-score": f1_score(t, p, average, **kw),
            "support": int(len(t)),
        }
    return report
