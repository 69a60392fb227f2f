"""RMSprop: AdaGrad with a moving average, so old gradients are forgotten."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.optim.optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes): divide by a running RMS of recent gradients.

    With ``g = ∂L/∂W + λW``::

        v ← α v + (1 − α) g ⊙ g
        d ← √v + ε                           (centered: m ← α m + (1 − α) g;  d ← √(v − m⊙m) + ε)
        W ← W − η g / d                      (momentum μ: b ← μ b + g / d;  W ← W − η b)

    Args:
        lr: η.  alpha: α, the smoothing constant.  eps: ε.  weight_decay: λ.
        momentum: μ.  centered: normalise by an estimate of the gradient's variance.

    >>> import shendu
    >>> w = shendu.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.sum().backward()             # g = 1: v = 0.25, so W ← 1 − 0.01 · 1/0.5
    >>> opt.step()
    >>> round(w.item(), 6)
    0.98
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_non_negative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        alpha, wd, mu = float(group["alpha"]), float(group["weight_decay"]), float(group["momentum"])
        if wd != 0:
            grad = grad + wd * param
        v = state["square_avg"]
        v *= alpha
        v += (1.0 - alpha) * grad * grad
        if group["centered"]:
            m = state.setdefault("grad_avg", np.zeros_like(param))
            m += (1.0 - alpha) * (grad - m)
            denom = np.sqrt(v - m * m)
        else:
            denom = np.sqrt(v)
        denom += float(group["eps"])
        if mu > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(param))
            buf *= mu
            buf += grad / denom
            param -= float(group["lr"]) * buf
        else:
            param -= float(group["lr"]) * grad / denom
