"""The course's layers, one class per node, each with ``forward`` and ``backward`` (book style).

Backward takes dout = ∂L/∂(output) and returns ∂L/∂(input) = dout × 局部导数 (local derivative):
the 链式法则 (chain rule) one node at a time. No backward changes ``dout`` in place: a node may
feed two consumers, and both must see the same upstream gradient.
"""

from __future__ import annotations

import numpy as np


class MulLayer:
    """乘法节点 z = x·y: backward swaps the inputs, ∂L/∂x = dout·y, ∂L/∂y = dout·x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        dx = dout * self.y  # the other input is the local derivative
        dy = dout * self.x
        return dx, dy


class AddLayer:
    """加法节点 z = x + y: backward passes dout on unchanged to both inputs (局部导数 = 1)."""

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1


class Relu:
    """y = max(0, x); ∂y/∂x = 1 where x > 0, else 0."""

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()  # the book writes dout[mask] = 0: that would change dout for other consumers
        dx[self.mask] = 0
        return dx


class Sigmoid:
    """y = 1 / (1 + exp(−x)); ∂y/∂x = y(1 − y)."""

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:
    """y = x·W + b with x (N, D), W (D, M), b (M,): dx = dout·Wᵀ, dW = xᵀ·dout, db = Σₙ dout."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dx


def softmax(x):
    """yₖ = exp(xₖ − max x) / Σᵢ exp(xᵢ − max x) over the last axis (subtracting the max avoids overflow)."""
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """E = −(1/N) Σₙ Σₖ tₙₖ log(yₙₖ + δ), δ = 1e-7; t one-hot (N, K) or class indices (N,)."""
    if y.ndim == 1:
        y, t = y.reshape(1, -1), np.reshape(t, (1, -1))
    if t.size == y.size:  # one-hot: turn into class indices
        t = t.argmax(axis=1)
    n = y.shape[0]
    return -np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy: forward gives E, backward gives (y − t)/N."""

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        return cross_entropy_error(self.y, t)

    def backward(self, dout=1):
        n = self.y.shape[0]
        if self.t.size == self.y.size:  # one-hot target
            return dout * (self.y - self.t) / n
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dout * dx / n
