"""The fully connected (全连接 / Affine) layer as a function: y = x Wᵀ + b."""

from __future__ import annotations

import numpy as np

from shendu import parallel
from shendu.autograd.function import Function
from shendu.backend import matmul_precision
from shendu.tensor import Tensor, as_tensor

__all__ = ["linear"]


class Linear(Function):
    """y = x Wᵀ + b.  x: (*, in), W: (out, in), b: (out,) -> y: (*, out).

    ∂L/∂x = G W,   ∂L/∂W = Gᵀ x (summed over all leading axes),   ∂L/∂b = Σ G over leading axes.
    One matrix product forward, one per wanted gradient backward; a large one is split into
    bands over shendu's threads (:func:`shendu.parallel.matmul`).
    """

    def forward(self, x, w, *b):
        # ∂L/∂x needs W, ∂L/∂W needs x: keep only those (as PyTorch, which then reports an in-place
        # change of W, e.g. by optimizer.step() before backward, only where W was kept)
        self.save(x if self.needs_grad[1] else None, w if self.needs_grad[0] else None)
        matmul_precision(x)  # on a GPU: TF32 as shendu.backends.cuda.matmul.allow_tf32 says
        y = _matmul(x, w.T)
        if b:
            y += b[0]  # y is a fresh array, so adding in place is safe
        return y

    def backward(self, gy):
        x, w = self.saved
        matmul_precision(gy)
        gx = gw = gb = None
        if self.needs_grad[0]:
            gx = _matmul(gy, w)
        g2 = gy.reshape(-1, gy.shape[-1])
        if self.needs_grad[1]:
            gw = parallel.matmul(g2.T, x.reshape(-1, x.shape[-1]))
        if len(self.needs_grad) > 2 and self.needs_grad[2]:
            gb = parallel.column_sums(g2)
        return gx, gw, gb


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for a: (*, k), b: (k, n), through the banded product over the leading axes."""
    if a.ndim == 2:
        return parallel.matmul(a, b)
    return parallel.matmul(a.reshape(-1, a.shape[-1]), b).reshape(*a.shape[:-1], b.shape[1])


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map y = x Wᵀ + b, as ``torch.nn.functional.linear``.

    input: (*, in_features), weight: (out_features, in_features), bias: (out_features,).

    >>> import shendu
    >>> import shendu.nn.functional as F
    >>> F.linear(shendu.ones(2, 3), shendu.ones(4, 3), shendu.zeros(4)).shape
    (2, 4)
    """
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features in its last "
            f"dimension, but weight of shape {w.shape} expects {w.shape[1]}"
        )
    if x.dtype != w.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} differs from weight dtype {w.dtype} (use .float())")
    if bias is None:
        return Linear.apply(x, w)
    b = as_tensor(bias)
    if b.shape != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w.shape[0]},), got {b.shape}")
    return Linear.apply(x, w, b)
