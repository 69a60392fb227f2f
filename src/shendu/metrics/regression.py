"""Regression measures: mean squared error, mean absolute error and R².

For targets ``(N,)`` or ``(N, K)`` (K outputs); with K outputs each measure is computed per
output and averaged, as scikit-learn's ``multioutput='uniform_average'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.metrics._inputs import as_array, check_same_length


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
    for arr, name in ((t, "y_true"), (p, "y_pred")):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2):
            raise ValueError(f"{name}: expected shape (N,) or (N, K), got {arr.shape}")
    check_same_length(t, p)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t.astype(np.float64), p.astype(np.float64)


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """MSE = (1/N) Σ (yᵢ − ŷᵢ)².

    >>> mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.3333333333333333
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """MAE = (1/N) Σ |yᵢ − ŷᵢ|.

    >>> mean_absolute_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    0.6666666666666666
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination R² = 1 − Σ(yᵢ − ŷᵢ)² / Σ(yᵢ − ȳ)².

    1 is a perfect fit, 0 is no better than always predicting the mean ȳ, negative is worse.
    For a constant ``y_true`` (denominator 0) it is 1 for a perfect fit and 0 otherwise,
    as in scikit-learn.

    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    t, p = _pair(y_true, y_pred)
    if len(t) < 2:
        raise ValueError(f"r2_score needs at least 2 samples, got {len(t)}")
    ss_res = np.atleast_1d(((t - p) ** 2).sum(axis=0))  # one value per output
    ss_tot = np.atleast_1d(((t - t.mean(axis=0)) ** 2).sum(axis=0))
    r2 = np.where(ss_res == 0, 1.0, 0.0)  # what a constant y_true scores
    ok = ss_tot != 0
    r2[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    return float(np.mean(r2))
