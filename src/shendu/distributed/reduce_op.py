"""How ``all_reduce`` combines the ranks' values (归约运算): PyTorch's ``ReduceOp`` names."""

from __future__ import annotations

import enum


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (PyTorch's names)."""

    SUM = "SUM"
    PRODUCT = "PROD"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"
    AVG = "AVG"  # the sum divided by the world size (floating-point tensors)
