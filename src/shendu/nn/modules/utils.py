"""Small helpers shared by the layers: argument tuples, input-shape errors, affine parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu.nn.functional._geometry import _ntuple, _pair, _single
from shendu.nn.parameter import Parameter


# PyTorch keeps these in torch.nn.modules.utils; shendu parses layer arguments in one place.
__all__ = ["_ntuple", "_single", "_pair", "format_shape", "input_error", "register_affine"]


def format_shape(shape: tuple) -> str:
    """``(8, 1, 28, 28)``; a 1-tuple prints as ``(3,)`` like Python."""
    return str(tuple(shape))


def input_error(module: Any, expected: str, shape: tuple) -> ValueError:
    """The layer's repr, the shape it expects and the one it got, e.g.
    ``Conv2d(3, 96, kernel_size=(11, 11), stride=(4, 4)) expects input (N, 3, H, W), got (8, 1, 28, 28)``."""
    return ValueError(f"{module!r} expects input {expected}, got {format_shape(shape)}")


def register_affine(module: Any, shape: tuple[int, ...], dtype: np.dtype, affine: bool, bias: bool) -> None:
    """Give a normalisation layer its learned γ (``weight``, ones) and β (``bias``, zeros) of
    ``shape``, or ``None`` placeholders (so the state-dict keys match PyTorch's)."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(np.zeros(shape, dtype=dtype))
    else:
        module.register_parameter("bias", None)
