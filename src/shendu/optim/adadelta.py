"""Adadelta: a learning rate per weight from running averages of squared gradients and steps."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.optim.optimizer import Optimizer, ParamsT


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), the optimiser of PyTorch's official MNIST example.

    With ``g = ∂L/∂W + λW``::

        v ← ρ v + (1 − ρ) g ⊙ g                  running mean of squared gradients
        Δ = √(u + ε) / √(v + ε) ⊙ g              step, in the units of W
        u ← ρ u + (1 − ρ) Δ ⊙ Δ                  running mean of squared steps
        W ← W − η Δ

    Args: lr: η (1.0 as in the paper).  rho: ρ.  eps: ε.  weight_decay: λ.
    """

    def __init__(
        self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_non_negative(group, "lr", "eps", "weight_decay")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        lr, rho, eps, wd = (float(group[k]) for k in ("lr", "rho", "eps", "weight_decay"))
        if wd != 0:
            grad = grad + wd * param
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1.0 - rho) * grad * grad
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
        u *= rho
        u += (1.0 - rho) * delta * delta
        param -= lr * delta
