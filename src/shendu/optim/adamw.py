"""AdamW: Adam with weight decay applied to the weights, not mixed into the gradient."""

from __future__ import annotations

from shendu.optim.adam import Adam
from shendu.optim.optimizer import ParamsT


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the weights, ``W ← W (1 − ηλ)``, then takes an Adam step on the
    plain gradient ``g = ∂L/∂W`` (see :class:`~shendu.optim.Adam`). In Adam, the L2 term λW
    gets divided by √v̂ like the rest of the gradient, so weights with large gradients are
    hardly regularised; AdamW decays every weight at the same rate.

    >>> import shendu
    >>> w = shendu.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = shendu.tensor([0.0])  # no gradient signal: only the decay acts
    >>> opt.step()
    >>> round(w.item(), 6)
    0.95
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)
