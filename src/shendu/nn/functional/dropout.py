"""Dropout (随机失活): randomly zero activations while training, so units cannot co-adapt.

Inverted dropout: each element is kept with probability 1 − p and scaled by 1/(1 − p), so
the expected activation is unchanged and evaluation needs no rescaling. The mask comes from
``shendu.random.default_generator()`` (seed with ``shendu.manual_seed``); on a GPU it is drawn
on the host and copied over, so a seed gives the same masks on every device.
"""

from __future__ import annotations

import numpy as np

from shendu import backend
from shendu import random as _random
from shendu.autograd.function import Function
from shendu.tensor import Tensor, as_tensor

__all__ = ["dropout", "dropout2d"]


class Dropout(Function):
    """y = x ⊙ m,  m = keep/(1 − p) with keep ~ Bernoulli(1 − p);  ∂y/∂x = m."""

    def forward(self, x, mask):
        self.save(mask)
        return x * mask

    def backward(self, gy):
        (mask,) = self.saved
        return gy * mask


def _check_p(p: float, name: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    """Kept positions hold 1/(1 − p), dropped ones 0, in ``dtype`` (float32 for float32 input)."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    u = _random.default_generator().random(shape, dtype=np.float32)
    return np.where(u >= p, dtype.type(1.0 / (1.0 - p)), dtype.type(0))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p) (only if ``training``).

    ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> y = F.dropout(shendu.ones(1000), p=0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(shendu.ones(3), p=0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    _check_p(p, "dropout")
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: input must be a floating-point tensor, got dtype {x.dtype}")
    return Dropout.apply(x, Tensor._wrap(backend.like(x._data, _mask(x.shape, p, x.dtype))))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout: zero whole feature maps.  x: (N, C, H, W) (or (C, H, W)); mask (N, C, 1, 1)."""
    _check_p(p, "dropout2d")
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if not training or p == 0.0:
        return x
    shape = x.shape[:-2] + (1, 1)
    return Dropout.apply(x, Tensor._wrap(backend.like(x._data, _mask(shape, p, x.dtype))))
