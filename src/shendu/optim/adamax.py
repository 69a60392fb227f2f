"""Adamax: Adam with the infinity norm in place of the root mean square."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.optim.adam import Adam
from shendu.optim.optimizer import Optimizer, ParamsT


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1). With ``g = ∂L/∂W + λW`` and t = 1, 2, ...::

        m ← β₁ m + (1 − β₁) g
        u ← max(β₂ u, |g| + ε)                  exponentially weighted infinity norm
        W ← W − η / (1 − β₁ᵗ) · m / u

    Args: lr: η.  betas: (β₁, β₂).  eps: ε.  weight_decay: λ.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    _check_group = Adam._check_group

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_inf": np.zeros_like(param)}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if wd != 0:
            grad = grad + wd * param
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1.0 - beta1) * (grad - m)
        u *= beta2
        np.maximum(u, np.abs(grad) + eps, out=u)
        param -= (lr / (1.0 - beta1 ** state["step"])) * m / u
