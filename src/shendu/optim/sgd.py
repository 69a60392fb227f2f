"""Stochastic gradient descent (随机梯度下降), with optional momentum (动量) and Nesterov momentum.

Batch, stochastic and mini-batch gradient descent are the *same* optimiser: what differs is how
many samples the gradient ∂L/∂W is averaged over, i.e. the DataLoader's ``batch_size``:

==================================  ===================  ==========================================
course name                         batch_size           one step uses
==================================  ===================  ==========================================
batch gradient descent (BGD)        ``len(dataset)``     every sample: exact gradient, 1 step/epoch
stochastic gradient descent (SGD)   ``1``                one sample: noisy, N steps/epoch
mini-batch gradient descent (MBGD)  ``n`` (e.g. 64)      n samples: the usual compromise
==================================  ===================  ==========================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.backend import get_array_module
from shendu.optim.optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    r"""Gradient descent: ``W ← W − η ∂L/∂W``, optionally with momentum.

    With weight decay λ the gradient is ``g = ∂L/∂W + λW``. With momentum μ (PyTorch's form,
    dampening τ)::

        b ← g                    on the first step
        b ← μ b + (1 − τ) g      afterwards
        W ← W − η b              (Nesterov: W ← W − η (g + μ b))

    The course writes momentum as ``v ← αv − η ∂L/∂W;  W ← W + v``: with τ = 0 and constant η
    this is the same sequence of weights, because v = −η b. 动量 (momentum). Book-style twins in
    the course's form: ``shendu.reference.optim.SGD`` and ``Momentum`` (``tests/course`` follows
    both paths for 30 steps).

    Args:
        params: tensors or parameter groups to optimise.
        lr: learning rate η.
        momentum: μ (0 disables momentum).
        dampening: τ, scales the new gradient in the momentum buffer.
        weight_decay: λ, L2 penalty.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).

    >>> import shendu
    >>> w = shendu.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()       # ∂L/∂w = 2w
    >>> opt.step()
    >>> w
    tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        super().__init__(params, defaults)

    _read_before_step = ("momentum_buffer",)

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_non_negative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, mu, wd = float(group["lr"]), float(group["momentum"]), float(group["weight_decay"])
        if wd != 0:
            grad = grad + wd * param
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = get_array_module(grad).array(grad, copy=True)  # 0-d too
            else:
                buf *= mu
                buf += (1.0 - float(group["dampening"])) * grad
            grad = grad + mu * buf if group["nesterov"] else buf
        param -= lr * grad
