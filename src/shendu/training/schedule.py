"""The learning-rate schedule of ``shendu train``: half-cosine cycles, extendable after a run.

``CosineCycles(optimizer, cycles=[15])`` is PyTorch's ``CosineAnnealingLR(T_max=15)`` in closed
form: over cycle ``k`` of ``T_k`` epochs starting at epoch ``s_k``::

    lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi * (e - s_k) / T_k)) / 2

A run extended with ``shendu train --resume --epochs N`` appends a cycle of the added epochs:
the learning rate jumps back to ``base_lr`` and follows a new half cosine to ``eta_min`` (a warm
restart, as in SGDR), since continuing the finished cosine would train at a rate of zero. Being a
closed form of the epoch, a resumed run gets exactly the rates of one that never stopped.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from shendu.optim.lr_scheduler import LRScheduler


class CosineCycles(LRScheduler):
    """Half-cosine learning-rate cycles of the given lengths (epochs); after the last, ``eta_min``.

    >>> import shendu
    >>> opt = shendu.optim.SGD([shendu.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = CosineCycles(opt, cycles=[2, 2])
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    ...     sched.step()
    >>> lrs, sched.get_last_lr()
    ([1.0, 0.5, 1.0, 0.5], [0.0])
    """

    def __init__(self, optimizer, cycles: Sequence[int], eta_min: float = 0.0, last_epoch: int = -1) -> None:
        cycles = [int(c) for c in cycles]
        if not cycles or any(c < 1 for c in cycles):
            raise ValueError(f"CosineCycles: cycles must be positive epoch counts, got {cycles}")
        self.cycles = cycles
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, start = max(self.last_epoch, 0), 0
        for length in self.cycles:
            if e < start + length:
                t = (e - start) / length
                return [
                    self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * t)) / 2 for b in self.base_lrs
                ]
            start += length
        return [self.eta_min for _ in self.base_lrs]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the position; the cycles stay those given here (an extended run adds one)."""
        cycles = self.cycles
        super().load_state_dict(state_dict)
        self.cycles = cycles
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = float(lr)
        self._last_lr = self._current_lrs()
