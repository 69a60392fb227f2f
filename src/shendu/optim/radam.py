"""RAdam: Adam whose adaptive step is switched on only once its variance estimate is reliable."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shendu.optim.adam import Adam, decay_and_moments
from shendu.optim.optimizer import Optimizer, ParamsT


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2020). With m, v as in Adam and t = 1, 2, ...::

        ρ∞ = 2 / (1 − β₂) − 1,   ρₜ = ρ∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        m̂ = m / (1 − β₁ᵗ)
        if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρₜ))
                    W ← W − η m̂ · r · √(1 − β₂ᵗ) / (√v + ε)
        else:       W ← W − η m̂                 (plain momentum while v is too noisy)

    ``decoupled_weight_decay=True`` shrinks W by (1 − ηλ) instead of adding λW to g.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    _check_group = Adam._check_group

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        t = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        grad, m, v = decay_and_moments(
            param, grad, state, lr, wd, beta1, beta2, group["decoupled_weight_decay"]
        )
        bias_correction2 = 1.0 - beta2**t
        m_hat = m / (1.0 - beta1**t)
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = math.sqrt(bias_correction2) / (np.sqrt(v) + eps)
            param -= m_hat * lr * adaptive * rect
        else:
            param -= m_hat * lr
