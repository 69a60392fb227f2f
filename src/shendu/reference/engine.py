"""A backward engine in thirty lines: values remember their inputs and each input's 局部导数.

``backward()`` orders the graph so every node has all its gradient before it passes it on
(a node used twice gets both contributions), then applies the 链式法则: an input's gradient is
the sum over its consumers of (consumer's gradient × local derivative).
"""

from __future__ import annotations

import numpy as np


class Value:
    def __init__(self, data, inputs=(), local=(), op=""):
        self.data, self.grad = np.asarray(data, dtype=float), 0.0
        self.inputs, self.local, self.op = inputs, local, op  # local[i]: ∂self/∂inputs[i]

    def __add__(self, other):  # 加法节点: local derivatives 1 and 1
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):  # 乘法节点: local derivatives are the other input
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "×")

    def __pow__(self, k):
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),), f"x^{k}")

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # depth-first, without recursion: deep graphs do not hit the recursion limit
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((i, False) for i in node.inputs)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):  # consumers before their inputs
            for inp, d in zip(node.inputs, node.local, strict=True):
                inp.grad = inp.grad + node.grad * d
