"""The perceptron (感知机): logic gates with hand-set weights, and Rosenblatt's learning rule.

A perceptron with inputs x, weights w and bias b outputs

    y = 1  if  w·x + b > 0,   else 0        (b = −θ, θ the threshold)

The course sets the weights by hand: AND w = (0.5, 0.5), θ = 0.7; OR w = (0.5, 0.5), θ = 0.2;
NAND is AND negated, w = (−0.5, −0.5), b = 0.7. XOR is not linearly separable, so no single
perceptron computes it; a two-layer perceptron does: XOR = AND(NAND, OR), or four NAND gates.

Gates accept Python numbers (and return an ``int``) or arrays of any broadcastable shapes
(and return an int64 array of 0s and 1s), so ``and_gate(X[:, 0], X[:, 1])`` evaluates a whole
truth table at once.

>>> [and_gate(a, b) for a, b in [(0, 0), (1, 0), (0, 1), (1, 1)]]
[0, 0, 0, 1]
>>> [xor_gate(a, b) for a, b in [(0, 0), (1, 0), (0, 1), (1, 1)]]
[0, 1, 1, 0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "AND_WEIGHTS",
    "OR_WEIGHTS",
    "NAND_WEIGHTS",
    "gate",
    "and_gate",
    "or_gate",
    "nand_gate",
    "xor_gate",
    "Perceptron",
    "PerceptronResult",
]

# (w1, w2, b) as the course gives them; b = −θ.
AND_WEIGHTS = (0.5, 0.5, -0.7)
OR_WEIGHTS = (0.5, 0.5, -0.2)
NAND_WEIGHTS = (-0.5, -0.5, 0.7)


def gate(x1: Any, x2: Any, w1: float, w2: float, b: float) -> Any:
    """One perceptron with two inputs: y = 1 if w1·x1 + w2·x2 + b > 0 else 0.

    ``x1`` and ``x2`` are numbers or broadcastable arrays; numbers give an ``int``,
    arrays an int64 array of the broadcast shape.
    """
    scalar = np.ndim(x1) == 0 and np.ndim(x2) == 0
    a1 = np.asarray(x1, dtype=np.float64)
    a2 = np.asarray(x2, dtype=np.float64)
    # float64 here on purpose: 0.5 + 0.5 − 0.7 must not round across the threshold.
    y = (w1 * a1 + w2 * a2 + b > 0).astype(np.int64)
    return int(y) if scalar else y


def and_gate(x1: Any, x2: Any) -> Any:
    """AND: w = (0.5, 0.5), θ = 0.7 — fires only when both inputs are 1."""
    return gate(x1, x2, *AND_WEIGHTS)


def or_gate(x1: Any, x2: Any) -> Any:
    """OR: w = (0.5, 0.5), θ = 0.2 — fires when either input is 1."""
    return gate(x1, x2, *OR_WEIGHTS)


def nand_gate(x1: Any, x2: Any) -> Any:
    """NAND (NOT AND): AND's weights and bias negated, w = (−0.5, −0.5), b = 0.7."""
    return gate(x1, x2, *NAND_WEIGHTS)


def xor_gate(x1: Any, x2: Any, method: str = "and-nand-or") -> Any:
    """XOR as a two-layer perceptron.

    ``method='and-nand-or'``: s1 = NAND(x1, x2), s2 = OR(x1, x2), y = AND(s1, s2)
    (the course's figure: layer 0 the inputs, layer 1 NAND and OR, layer 2 AND).
    ``method='nand'``: four NAND gates, m = NAND(x1, x2), y = NAND(NAND(x1, m), NAND(x2, m))
    (NAND alone is universal: any circuit, even a computer, can be built from it).

    >>> xor_gate(1, 1, method='nand'), xor_gate(1, 0, method='nand')
    (0, 1)
    """
    if method == "and-nand-or":
        return and_gate(nand_gate(x1, x2), or_gate(x1, x2))
    if method == "nand":
        m = nand_gate(x1, x2)
        return nand_gate(nand_gate(x1, m), nand_gate(x2, m))
    raise ValueError(f"xor_gate: method must be 'and-nand-or' or 'nand', got {method!r}")


@dataclass
class PerceptronResult:
    """What :meth:`Perceptron.fit` found.

    ``converged``: an epoch passed with no misclassified sample; ``epochs``: epochs run;
    ``errors``: misclassified samples in each epoch (counted while the weights were updated);
    ``weights`` and ``bias``: the final values.
    """

    converged: bool
    epochs: int
    errors: list[int] = field(default_factory=list)
    weights: np.ndarray | None = None
    bias: float = 0.0

    def __str__(self) -> str:
        state = "converged" if self.converged else "did NOT converge"
        return f"Perceptron {state} after {self.epochs} epochs (errors per epoch: {self.errors})"


class Perceptron:
    """Rosenblatt's perceptron, trained with his learning rule.

    For each sample x with target t ∈ {0, 1}, prediction y = step(w·x + b):

        w ← w + η (t − y) x,        b ← b + η (t − y)

    so the weights move only on a mistake, toward x when the unit should have fired and away
    from it when it should not have. If the classes are linearly separable the rule stops
    making mistakes after finitely many updates (Novikoff's theorem); AND and OR converge in
    a few epochs. XOR is not separable: the rule cycles forever, so ``fit`` stops after
    ``max_epochs`` and returns a result with ``converged=False`` (no exception).

    The rule is online: each update depends on the weights the previous sample left, which is
    why ``fit`` walks the samples one by one within an epoch.

    >>> X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    >>> p = Perceptron(lr=0.1)
    >>> p.fit(X, np.array([0, 0, 0, 1])).converged
    True
    >>> p.predict(X).tolist()
    [0, 0, 0, 1]
    >>> Perceptron(max_epochs=20).fit(X, np.array([0, 1, 1, 0])).converged
    False
    """

    def __init__(
        self, lr: float = 0.1, max_epochs: int = 100, init: str = "zeros", seed: int | None = None
    ) -> None:
        if lr <= 0:
            raise ValueError(f"Perceptron: lr must be positive, got {lr}")
        if max_epochs < 1:
            raise ValueError(f"Perceptron: max_epochs must be at least 1, got {max_epochs}")
        if init not in ("zeros", "random"):
            raise ValueError(f"Perceptron: init must be 'zeros' or 'random', got {init!r}")
        self.lr = float(lr)
        self.max_epochs = int(max_epochs)
        self.init = init
        self.seed = seed
        self.weights: np.ndarray | None = None
        self.bias = 0.0

    def decision_function(self, X: Any) -> np.ndarray:
        """w·x + b for each row of ``X: (N, D)``."""
        if self.weights is None:
            raise RuntimeError("Perceptron: call fit() before predict()")
        X = self._check_X(X, self.weights.shape[0])
        return X @ self.weights + self.bias

    def predict(self, X: Any) -> np.ndarray:
        """step(w·x + b) for each row of ``X: (N, D)``: int64 0s and 1s."""
        return (self.decision_function(X) > 0).astype(np.int64)

    def fit(self, X: Any, t: Any) -> PerceptronResult:
        """Train on ``X: (N, D)`` with targets ``t: (N,)`` in {0, 1}; returns a :class:`PerceptronResult`."""
        X = self._check_X(X)
        t = np.asarray(t)
        if t.shape != (X.shape[0],):
            raise ValueError(f"Perceptron.fit: targets must have shape ({X.shape[0]},), got {t.shape}")
        if not np.isin(t, (0, 1)).all():
            raise ValueError(f"Perceptron.fit: targets must be 0 or 1, got values {np.unique(t).tolist()}")
        if self.init == "zeros":
            w = np.zeros(X.shape[1])
            b = 0.0
        else:
            rng = np.random.default_rng(self.seed)
            w = rng.normal(0.0, 0.01, X.shape[1])
            b = 0.0
        errors: list[int] = []
        for _ in range(self.max_epochs):
            mistakes = 0
            # online rule: each step sees the previous step's weights
            for x, target in zip(X, t, strict=True):
                y = 1 if x @ w + b > 0 else 0
                if y != target:
                    w = w + self.lr * (target - y) * x
                    b = b + self.lr * (target - y)
                    mistakes += 1
            errors.append(mistakes)
            if mistakes == 0:
                break
        self.weights, self.bias = w, float(b)
        return PerceptronResult(errors[-1] == 0, len(errors), errors, w.copy(), float(b))

    @staticmethod
    def _check_X(X: Any, features: int | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"Perceptron expects inputs of shape (N, D), got {X.shape}")
        if features is not None and X.shape[1] != features:
            raise ValueError(f"Perceptron was fitted on {features} features, got inputs of shape {X.shape}")
        return X
