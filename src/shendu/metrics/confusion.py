"""The confusion matrix (混淆矩阵): how often class i was predicted as class j."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.metrics._inputs import class_labels


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """``M[i, j]`` = number of samples of true class i predicted as class j (as scikit-learn).

    Rows are true classes, columns predicted classes: the diagonal holds the correct
    predictions, ``M.sum(1)`` the support of each class, ``M.sum(0)`` how often each class
    was predicted. Per class c: TP = M[c, c], FP = column sum − TP, FN = row sum − TP.

    Args:
        y_true: labels ``(N,)`` or one-hot ``(N, C)``.
        y_pred: labels ``(N,)`` or scores ``(N, C)`` (the argmax of each row is the class).
        num_classes: C; by default one more than the largest label seen.

    Returns: an int64 array ``(C, C)``.

    >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    """
    t, p, c = class_labels(y_true, y_pred, num_classes)
    # each (true, pred) pair gets one index in a C×C grid; bincount counts them all at once
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)
