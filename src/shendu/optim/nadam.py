"""NAdam: Adam with Nesterov momentum (the step looks one momentum step ahead)."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.optim.adam import Adam, decay_and_moments
from shendu.optim.optimizer import Optimizer, ParamsT


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as PyTorch computes it. With ``g = ∂L/∂W + λW`` and t = 1, 2, ...::

        μₜ = β₁ (1 − ½ · 0.96^(t ψ))            momentum schedule (ψ = momentum_decay)
        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g ⊙ g
        d = √(v / (1 − β₂ᵗ)) + ε
        W ← W − η (1 − μₜ) / (1 − Πμ₁..ₜ) · g / d − η μₜ₊₁ / (1 − Πμ₁..ₜ₊₁) · m / d

    ``decoupled_weight_decay=True`` shrinks W by (1 − ηλ) instead of adding λW to g.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        Adam._check_group(self, group)  # type: ignore[arg-type]
        self._check_non_negative(group, "momentum_decay")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "step": 0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param),
        }

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        t = state["step"]
        lr, eps, wd, psi = (float(group[k]) for k in ("lr", "eps", "weight_decay", "momentum_decay"))
        beta1, beta2 = (float(b) for b in group["betas"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = mu_product = float(state["mu_product"]) * mu
        grad, m, v = decay_and_moments(
            param, grad, state, lr, wd, beta1, beta2, group["decoupled_weight_decay"]
        )
        denom = np.sqrt(v / (1.0 - beta2**t)) + eps
        param -= (lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom
        param -= (lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
