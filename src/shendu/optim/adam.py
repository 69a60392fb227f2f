"""Adam: momentum plus RMSprop, with bias correction for the zero start."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shendu.optim.optimizer import Optimizer, ParamsT


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015): adaptive moment estimation: 动量 plus 偏差修正 (bias correction).

    Book-style twin: ``shendu.reference.optim.Adam``.

    With ``g = ∂L/∂W + λW`` and step count t = 1, 2, ...::

        m ← β₁ m + (1 − β₁) g                 first moment (momentum)
        v ← β₂ v + (1 − β₂) g ⊙ g             second moment (as RMSprop)
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)  bias correction: m and v start at 0
        W ← W − η m̂ / (√v̂ + ε)

    ``amsgrad=True`` uses the largest v seen so far in place of v. With
    ``decoupled_weight_decay=True`` (what :class:`AdamW` is), weight decay shrinks the weights
    directly, ``W ← W (1 − ηλ)``, instead of entering the gradient.

    Args:
        lr: η.  betas: (β₁, β₂).  eps: ε.  weight_decay: λ.  amsgrad: see above.

    >>> import shendu
    >>> w = shendu.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * 3).sum().backward()       # the first step moves each weight by ≈ η·sign(g)
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -1.1000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_non_negative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": 0,
            "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        t = state["step"]
        lr, wd, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        grad, m, v = decay_and_moments(
            param, grad, state, lr, wd, beta1, beta2, group["decoupled_weight_decay"]
        )
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(param))
            np.maximum(v_max, v, out=v_max)
            v = v_max
        bias_correction1 = 1.0 - beta1**t
        bias_correction2 = 1.0 - beta2**t
        denom = np.sqrt(v) / math.sqrt(bias_correction2) + eps
        param -= (lr / bias_correction1) * m / denom


def decay_and_moments(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    lr: float,
    wd: float,
    beta1: float,
    beta2: float,
    decoupled: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The start of every Adam-family step (Adam, NAdam, RAdam): weight decay, then the moments.

    Weight decay adds λW to g, or (``decoupled``) shrinks W by (1 − ηλ) in place; then, in place,
    m ← β₁ m + (1 − β₁) g (computed as PyTorch's lerp) and v ← β₂ v + (1 − β₂) g ⊙ g.
    Returns (g, m, v), g with the coupled decay added.
    """
    if wd != 0:
        if decoupled:
            param *= 1.0 - lr * wd
        else:
            grad = grad + wd * param
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m += (1.0 - beta1) * (grad - m)
    v *= beta2
    v += (1.0 - beta2) * grad * grad
    return grad, m, v
