"""The degradation problem (退化问题) that ResNet fixes, reproduced small: plain vs residual deep MLPs.

He et al. (2015) found that a deeper plain network has a HIGHER training error than a shallower
one — not over-fitting (that would lower the training error), but harder optimisation — and that
adding identity shortcuts removes the problem. This module trains the same experiment at a size a
laptop runs in seconds: fully connected networks on ``mnist-5k`` digits averaged down to 14×14.

Each network: stem Linear(196 → W) → BN → ReLU, then B blocks, then Linear(W → 10); a block is

    plain:     y = relu(BN(L₂ relu(BN(L₁ x))))
    residual:  y = relu(BN(L₂ relu(BN(L₁ x))) + x)       (the shortcut: x added unchanged)

so a network has 2 + 2B weight layers, and a plain and a residual network of the same depth have
the same parameters and, with the same seed, the same initial weights: only the shortcut differs.
"""

from __future__ import annotations

import time

import numpy as np

import shendu
import shendu.nn.functional as F
from shendu import nn
from shendu.data import load_dataset

WIDTH = 32  # units per hidden layer: narrow, so twenty layers train in seconds
SIDE = 14  # digits averaged 2×2 down to 14×14 = 196 inputs
BATCH = 128


class Block(nn.Module):
    """Two fully connected layers with BatchNorm; ``residual=True`` adds the input back before the last ReLU.

    x: (N, W) -> (N, W).
    """

    def __init__(self, width: int, residual: bool) -> None:
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(width, width), nn.BatchNorm1d(width)
        self.fc2, self.bn2 = nn.Linear(width, width), nn.BatchNorm1d(width)
        self.residual = residual

    def forward(self, x):
        y = self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))
        return F.relu(y + x if self.residual else y)


class DeepMLP(nn.Module):
    """stem → ``blocks`` × :class:`Block` → head: ``2 + 2·blocks`` weight layers.  x: (N, D) -> (N, 10)."""

    def __init__(self, depth: int, residual: bool, inputs: int = SIDE * SIDE, width: int = WIDTH) -> None:
        super().__init__()
        if depth < 4 or depth % 2:
            raise ValueError(
                f"depth counts weight layers, 2 + 2·blocks: expected an even number ≥ 4, got {depth}"
            )
        self.stem = nn.Sequential(nn.Linear(inputs, width), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*(Block(width, residual) for _ in range((depth - 2) // 2)))
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def digits(n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mnist-5k as (train x, train labels, val x, val labels), 14×14 flattened; ``n`` training digits
    (a shuffled subset: the file is sorted by class)."""

    def shrink(images: np.ndarray) -> np.ndarray:
        m = images.reshape(len(images), SIDE, 2, SIDE, 2).mean(axis=(2, 4))
        return m.reshape(len(images), -1).astype(np.float32)

    train, val = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "val")
    order = np.random.default_rng(0).permutation(len(train))[:n]
    return shrink(train.images[order]), train.labels[order], shrink(val.images), val.labels


def evaluate(net: DeepMLP, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over all of ``x`` in eval mode."""
    net.eval()
    with shendu.no_grad():
        logits = net(shendu.tensor(x))
        loss = float(F.cross_entropy(logits, shendu.tensor(y)).item())
    return loss, float((logits.numpy().argmax(axis=1) == y).mean())


def train(
    depth: int,
    residual: bool,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = BATCH,
    lr: float = 0.1,
    seed: int = 0,
) -> dict:
    """Train one network with SGD + momentum 0.9; the training loss is measured after every epoch.

    Returns ``train_loss`` (per epoch, on the whole training set, eval mode), the final
    ``train_acc``, ``val_loss``, ``val_acc``, the number of ``params`` and the ``seconds`` it took.
    """
    x, y, xv, yv = data
    shendu.manual_seed(seed)
    net = DeepMLP(depth, residual)
    opt = shendu.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    start, history = time.perf_counter(), []
    for _ in range(epochs):
        net.train()
        for idx in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch_size)):
            opt.zero_grad()
            F.cross_entropy(net(shendu.tensor(x[idx])), shendu.tensor(y[idx])).backward()
            opt.step()
        history.append(evaluate(net, x, y)[0])
    seconds = time.perf_counter() - start
    train_acc = evaluate(net, x, y)[1]
    val_loss, val_acc = evaluate(net, xv, yv)
    return {
        "depth": depth,
        "residual": residual,
        "train_loss": history,
        "train_acc": train_acc,
        "val_loss": val_loss,
        "val_acc": val_acc,
        "params": sum(p.numel() for p in net.parameters()),
        "seconds": seconds,
    }


def degradation(quick: bool = False, full: bool = False) -> dict:
    """Plain and residual networks at each depth, same data, same budget.

    Default: depths 8 and 20, 4 epochs on 4,500 digits in batches of 128 (lr 0.1); ``quick`` (tests):
    1,500 digits, 3 epochs in batches of 64 (lr 0.05: enough steps for BatchNorm's running statistics,
    which the eval-mode loss uses, to settle); ``full``: depths 8, 20 and 32, 10 epochs.
    """
    depths = (8, 20, 32) if full else (8, 20)
    epochs = 10 if full else 3 if quick else 4
    batch, lr = (64, 0.05) if quick else (BATCH, 0.1)
    data = digits(1500 if quick else None)
    runs = [train(d, res, data, epochs, batch, lr) for d in depths for res in (False, True)]
    return {
        "depths": list(depths),
        "epochs": epochs,
        "batch_size": batch,
        "lr": lr,
        "steps": epochs * max(1, len(data[0]) // batch),
        "n_train": len(data[0]),
        "width": WIDTH,
        "runs": runs,
    }
