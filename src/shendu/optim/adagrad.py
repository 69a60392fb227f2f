"""AdaGrad: a learning rate per weight that shrinks as that weight's gradients add up."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.optim.optimizer import Optimizer, ParamsT


class Adagrad(Optimizer):
    r"""AdaGrad (Duchi et al., 2011): weights that have moved a lot take smaller steps.

    With ``g = ∂L/∂W + λW`` and step count t::

        h ← h + g ⊙ g
        W ← W − η_t g / (√h + ε),    η_t = η / (1 + (t − 1)·lr_decay)

    The course writes ``h ← h + g⊙g;  W ← W − η g/√h`` (ε only guards against division by 0).

    Args:
        lr: η.  lr_decay: decay of η with the step count.  weight_decay: λ.
        initial_accumulator_value: the starting value of h.  eps: ε.

    >>> import shendu
    >>> w = shendu.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> w.sum().backward()             # g = 1, so h = 1 and each weight moves by η
    >>> opt.step()
    >>> w
    tensor([ 0.5000, -2.5000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_non_negative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        wd = float(group["weight_decay"])
        if wd != 0:
            grad = grad + wd * param
        clr = float(group["lr"]) / (1.0 + (state["step"] - 1) * float(group["lr_decay"]))
        h = state["sum"]
        h += grad * grad
        param -= clr * grad / (np.sqrt(h) + float(group["eps"]))
