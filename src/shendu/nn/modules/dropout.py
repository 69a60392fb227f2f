"""Dropout (随机失活): during training, zero each element with probability p and scale the
survivors by 1/(1 − p), so the expected activation is unchanged and evaluation needs no rescaling.
In ``eval()`` mode the layers pass their input through.
"""

from __future__ import annotations

from shendu.nn import functional as F
from shendu.nn.modules.module import Module
from shendu.tensor import Tensor


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` while training (masks from the library's generator).

    >>> import shendu
    >>> from shendu import nn
    >>> drop = nn.Dropout(0.5).eval()
    >>> drop, drop(shendu.ones(3)).tolist()
    (Dropout(p=0.5, inplace=False), [1.0, 1.0, 1.0])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) with probability ``p``.  x: (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)
