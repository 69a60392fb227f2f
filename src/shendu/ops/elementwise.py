"""Elementwise functions: exp, log, sqrt, abs, maximum, minimum, where, clip; dtype casts."""

from __future__ import annotations

from typing import Any

import numpy as np

from shendu import backend
from shendu.autograd.function import Function
from shendu.tensor import Tensor, as_tensor, binary_operands


class Cast(Function):
    """y = x converted to another dtype;  the gradient is converted back."""

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, gy):
        return gy  # the engine casts to the input's dtype


def cast(x: Tensor, dtype: Any) -> Tensor:
    """``x.to(dtype)``: differentiable between float types; an integer or bool result has no
    gradient (``requires_grad`` is False), as in PyTorch. The same dtype returns ``x`` itself."""
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if not np.issubdtype(dtype, np.floating):
        return Tensor._wrap(x._data.astype(dtype))
    return Cast.apply(x, dtype=dtype)


def _float(x: Tensor) -> Tensor:
    """Integer input to a transcendental function computes in float32, as in PyTorch."""
    return x if np.issubdtype(x.dtype, np.floating) else x.float()


class Exp(Function):
    """y = eˣ;  dy/dx = eˣ = y."""

    def forward(self, x):
        y = np.exp(x)
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.save(x)
        return np.log(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / x


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2√x)."""

    def forward(self, x):
        y = np.sqrt(x)
        self.save(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy / (2 * y)


def sign_for_grad(x):
    """sign(x) as PyTorch's gradients of |x| take it: −1, 0 or 1, and 0 at NaN (np.sign gives NaN)."""
    return np.nan_to_num(np.sign(x), nan=0.0)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0 and at NaN, as PyTorch)."""

    def forward(self, x):
        self.save(x)
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * sign_for_grad(x)


def _shares(gy, a, b, a_loses, b_loses):
    """G for a and for b of an elementwise max or min: all of it to the winner, half each on a
    tie, and all of it to both where a NaN leaves neither the loser (as PyTorch)."""
    tie = a == b
    wa = np.where(tie, 0.5, np.where(a_loses, 0.0, 1.0)).astype(gy.dtype, copy=False)
    wb = np.where(tie, 0.5, np.where(b_loses, 0.0, 1.0)).astype(gy.dtype, copy=False)
    return gy * wa, gy * wb


class Maximum(Function):
    """z = max(a, b) elementwise; the gradient goes to the larger (split in half on ties)."""

    def forward(self, a, b):
        self.save(a, b)
        return np.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved
        return _shares(gy, a, b, a < b, a > b)


class Minimum(Function):
    """z = min(a, b) elementwise; the gradient goes to the smaller (split in half on ties)."""

    def forward(self, a, b):
        self.save(a, b)
        return np.minimum(a, b)

    def backward(self, gy):
        a, b = self.saved
        return _shares(gy, a, b, a > b, a < b)


class Where(Function):
    """z = a where cond else b;  dz/da = cond, dz/db = not cond."""

    def forward(self, cond, a, b):
        self.save(cond)
        return np.where(cond, a, b)

    def backward(self, gy):
        (cond,) = self.saved
        zero = gy.dtype.type(0)
        return None, np.where(cond, gy, zero), np.where(cond, zero, gy)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0."""

    def forward(self, x, lo, hi):
        self.save(x)
        self.lo, self.hi = lo, hi
        return np.clip(x, lo, hi)

    def backward(self, gy):
        (x,) = self.saved
        mask = np.ones_like(x, dtype=bool)
        if self.lo is not None:
            mask &= x >= self.lo
        if self.hi is not None:
            mask &= x <= self.hi
        return gy * mask


def exp(x: Tensor) -> Tensor:
    """eˣ elementwise.

    >>> import shendu
    >>> round(shendu.exp(shendu.tensor(1.0)).item(), 4)
    2.7183
    """
    return Exp.apply(_float(as_tensor(x)))


def log(x: Tensor) -> Tensor:
    """Natural logarithm ln x elementwise."""
    return Log.apply(_float(as_tensor(x)))


def sqrt(x: Tensor) -> Tensor:
    """√x elementwise."""
    return Sqrt.apply(_float(as_tensor(x)))


def abs(x: Tensor) -> Tensor:
    """|x| elementwise."""
    return Abs.apply(as_tensor(x))


def maximum(a, b) -> Tensor:
    """Elementwise maximum of two broadcastable tensors."""
    return Maximum.apply(*binary_operands(a, b))


def minimum(a, b) -> Tensor:
    """Elementwise minimum of two broadcastable tensors."""
    return Minimum.apply(*binary_operands(a, b))


def where(condition, a, b) -> Tensor:
    """Choose ``a`` where ``condition`` holds, else ``b`` (all broadcast together).

    >>> import shendu
    >>> x = shendu.tensor([-1., 2.])
    >>> shendu.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    cond = as_tensor(condition)
    if cond.dtype != np.bool_:
        cond = Tensor._wrap(cond._data.astype(bool))
    a, b = binary_operands(a, b)
    return Where.apply(cond, a, b)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Clamp every element into [min, max] (``clamp`` in PyTorch)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    x = as_tensor(x)
    lo, hi = _bound(min), _bound(max)
    if not np.issubdtype(x.dtype, np.floating) and any(
        b is not None and (b.dtype if backend.is_array(b) else np.asarray(b).dtype).kind == "f"
        for b in (lo, hi)
    ):
        x = x.float()  # an integer tensor clamped to float bounds becomes float32, as in PyTorch
    if np.issubdtype(x.dtype, np.floating):
        # Bounds in the tensor's dtype: NumPy would promote float32 to float64 for np.float64 bounds.
        lo, hi = (None if b is None else _in_dtype(b, x) for b in (lo, hi))
    return Clip.apply(x, lo=lo, hi=hi)


def _in_dtype(b, x: Tensor):
    """A bound in ``x``'s dtype: a NumPy scalar, or an array on ``x``'s device."""
    return backend.like(x._data, b.astype(x.dtype)) if backend.is_array(b) else x.dtype.type(b)


def _bound(b):
    """A clip bound as a number or ndarray (a Tensor bound is a constant: no gradient flows to it)."""
    if b is None:
        return None
    return b._data if isinstance(b, Tensor) else b
