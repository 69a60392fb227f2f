"""Turning what users pass (lists, ndarrays, Tensors, scores) into plain NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu import backend


def as_array(x: Any, name: str) -> np.ndarray:
    """``x`` as an ndarray: a Tensor gives its data (no graph), a list is converted."""
    from shendu.tensor import Tensor

    if isinstance(x, Tensor):
        return backend.to_host(x._data)  # measures are computed on the host, whatever the device
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected numbers, got an array of Python objects")
    return arr


def as_labels(x: Any, name: str) -> np.ndarray:
    """Class labels ``(N,)`` as int64.

    Accepts labels ``(N,)`` (ints, bools, or floats holding whole numbers) and scores
    ``(N, C)`` (logits, probabilities or one-hot rows: the class is the argmax of each row).
    """
    arr = as_array(x, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        return np.argmax(arr, axis=1).astype(np.int64)
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: expected labels of shape (N,) or scores of shape (N, C), got shape {arr.shape}"
        )
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            bad = arr[~np.isfinite(arr) | (arr != np.round(arr))][0]
            raise ValueError(
                f"{name}: class labels must be whole numbers, found {bad}; "
                "pass labels (N,) or scores (N, C) whose argmax is the class"
            )
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def check_same_length(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred have different lengths: {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty")


def class_labels(y_true: Any, y_pred: Any, num_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Both label arrays (checked to lie in 0..C−1) and the number of classes C.

    Without ``num_classes``, C is one more than the largest label in either array.
    """
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_same_length(t, p)
    for arr, name in ((t, "y_true"), (p, "y_pred")):
        if arr.min() < 0:
            raise ValueError(f"{name}: class labels must be 0..C-1, found {arr.min()}")
    largest = int(max(t.max(), p.max()))
    if num_classes is None:
        return t, p, largest + 1
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if largest >= num_classes:
        name = "y_true" if t.max() == largest else "y_pred"
        raise ValueError(
            f"{name}: label {largest} is out of range for num_classes={num_classes} "
            f"(labels 0..{num_classes - 1})"
        )
    return t, p, int(num_classes)
