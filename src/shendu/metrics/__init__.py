"""Evaluation measures (评价指标) for classification and regression, checked against scikit-learn.

Inputs may be lists, NumPy arrays or shendu Tensors; class predictions may be labels ``(N,)``
or scores ``(N, C)`` (logits or probabilities: the argmax of each row is taken). Classes are
the integers 0..C−1.

==========================  ===============================================================
``accuracy``                 fraction correct
``precision``                TP / (TP + FP)
``recall``                   TP / (TP + FN)
``f1_score``                 2 · precision · recall / (precision + recall)
``confusion_matrix``         counts, rows = true class, columns = predicted class
``classification_report``    all of the above per class, as a dict
``mean_squared_error``       (1/N) Σ (y − ŷ)²
``mean_absolute_error``      (1/N) Σ |y − ŷ|
``r2_score``                 1 − Σ(y − ŷ)² / Σ(y − ȳ)²
==========================  ===============================================================
"""

from shendu.metrics.classification import accuracy, classification_report, f1_score, precision, recall
from shendu.metrics.confusion import confusion_matrix
from shendu.metrics.regression import mean_absolute_error, mean_squared_error, r2_score

__all__ = [
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "confusion_matrix",
    "classification_report",
    "mean_squared_error",
    "mean_absolute_error",
    "r2_score",
]
