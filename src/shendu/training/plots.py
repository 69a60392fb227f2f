"""Figures of a training run: learning curves and the confusion matrix (matplotlib, Agg backend).

Labels are in English so the figures render without a CJK font.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from shendu import serialization
from shendu.training.history import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Render ``fig`` as PNG in memory and write it through the atomic writer (never half a file)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata=metadata)
    serialization.atomic_write(path, buffer.getvalue())
    return Path(path)


#: PNG text key of curves.png holding the number of epochs drawn (checked by tests and resume)
EPOCHS_KEY = "shendu-epochs"


def _metric_columns(h: History) -> list[str]:
    """The metrics the rows hold values for (``acc`` for accuracy), in their order."""
    names: list[str] = []
    for row in h:
        for key, value in row.items():
            name = (
                key[len("train_") :]
                if key.startswith("train_")
                else key[len("val_") :]
                if key.startswith("val_")
                else None
            )
            if name and name != "loss" and value is not None and name not in names:
                names.append(name)
    return names


def plot_history(history: History | list[dict], path: str | os.PathLike) -> Path:
    """Loss and each metric per epoch (accuracy for classes), training beside validation -> PNG at ``path``.

    A validation curve that turns up while the training curve keeps falling shows over-fitting;
    both curves high and flat show under-fitting. The PNG records the number of epochs drawn
    under the text key :data:`EPOCHS_KEY`.
    """
    h = history if isinstance(history, History) else History(history)
    plt = _pyplot()
    epochs = h["epoch"]
    metrics = _metric_columns(h)
    fig, axes = plt.subplots(
        1, 1 + len(metrics), figsize=(5 * (1 + len(metrics)), 4), constrained_layout=True
    )
    axes = list(np.atleast_1d(axes))
    panels = [(axes[0], "loss", "Loss", "loss (mean per sample)", 1.0)]
    for ax, name in zip(axes[1:], metrics, strict=True):
        panels.append(
            (ax, name, "Accuracy", "accuracy (%)", 100.0) if name == "acc" else (ax, name, name, name, 1.0)
        )
    for ax, key, title, ylabel, scale in panels:
        for split, style in (("train", "o-"), ("val", "s--")):
            values = [r.get(f"{split}_{key}") for r in h]
            if all(v is None for v in values):
                continue
            ys = [np.nan if v is None else v * scale for v in values]
            ax.plot(epochs, ys, style, label="training" if split == "train" else "validation", markersize=4)
        ax.set_title(f"{title} per epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    try:
        return save_figure(fig, path, metadata={EPOCHS_KEY: str(len(h))})
    finally:
        plt.close(fig)


def plot_confusion_matrix(
    cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike, title: str = "Confusion matrix"
) -> Path:
    """``cm[i, j]`` = images of true class ``i`` predicted as ``j``, as a heat map with the counts
    written in the cells -> PNG at ``path``. The diagonal holds the correct predictions."""
    cm = np.asarray(cm)
    k = len(classes)
    if cm.shape != (k, k):
        raise ValueError(f"plot_confusion_matrix: cm has shape {cm.shape} but there are {k} classes")
    plt = _pyplot()
    side = max(5.0, 0.6 * k + 2)
    fig, ax = plt.subplots(figsize=(side + 1, side), constrained_layout=True)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, label="images")
    ax.set_xticks(
        range(k),
        labels=list(classes),
        rotation=45 if max(map(len, classes)) > 2 else 0,
        ha="right" if max(map(len, classes)) > 2 else "center",
    )
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title} ({int(cm.sum())} images)")
    if k <= 30:
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(k):  # a loop over cells of a k×k table to write text, not over pixels
            for j in range(k):
                ax.text(
                    j,
                    i,
                    str(int(cm[i, j])),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if cm[i, j] > threshold else "black",
                )
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
