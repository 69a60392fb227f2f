"""Figures of a training run: learning curves and the confusion matrix (matplotlib, Agg backend).

Labels are in English so the figures render without a CJK font.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from shendu.training.history import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: History | list[dict], path: str | os.PathLike) -> Path:
    """Loss and accuracy per epoch, training beside validation, in two panels -> PNG at ``path``.

    A validation curve that turns up while the training curve keeps falling shows over-fitting;
    both curves high and flat show under-fitting.
    """
    h = history if isinstance(history, History) else History(history)
    plt = _pyplot()
    epochs = h["epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    panels = (
        (ax_loss, "loss", "Loss", "cross-entropy loss (mean per image)", 1.0),
        (ax_acc, "acc", "Accuracy", "accuracy (%)", 100.0),
    )
    for ax, key, title, ylabel, scale in panels:
        for split, style in (("train", "o-"), ("val", "s--")):
            values = h[f"{split}_{key}"]
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
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


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
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
