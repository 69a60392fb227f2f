"""Reductions over axes: sum, mean, max/min (amax/amin), var; argmax/argmin (not differentiable).

``dim`` (PyTorch) and ``axis`` (NumPy) are the same argument; so are ``keepdim`` and ``keepdims``.
"""

from __future__ import annotations

from typing import Any

import builtins
from collections import namedtuple

import numpy as np

from shendu.autograd.function import Function
from shendu.ops.elementwise import maximum, minimum
from shendu.tensor import Tensor, as_tensor

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _axes(dim, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    n = builtins.max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"dimension {d} is out of range for a tensor of {ndim} dimensions")
        if int(d) % n in out:
            raise ValueError(f"dim {d} appears multiple times in the list of dims {dims}")
        out.append(int(d) % n)
    return tuple(out) if ndim else None  # reducing a 0-d tensor over "its" dim leaves it as it is


def _expand_back(gy: np.ndarray, shape: tuple, axes, keepdims: bool) -> np.ndarray:
    """Reinsert reduced axes into the upstream gradient so it broadcasts against the input."""
    if axes is None:
        return np.reshape(gy, (1,) * len(shape))
    if not keepdims and len(shape):
        gy = np.expand_dims(gy, axes)
    return gy


class Sum(Function):
    """y = Σ x over axes;  dy/dx = 1 (the gradient is copied back over the summed axes)."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, gy):
        return np.broadcast_to(_expand_back(gy, self.shape, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """y = (1/n) Σ x over axes;  dy/dx = 1/n."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, gy):
        g = _expand_back(gy, self.shape, self.axes, self.keepdims) / gy.dtype.type(self.n)
        return np.broadcast_to(g, self.shape)


class Amax(Function):
    """y = max x over axes;  the gradient is shared evenly among the maxima (as ``torch.amax``)."""

    reduce = staticmethod(np.max)

    def forward(self, x, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims
        y = self.reduce(x, axis=axes, keepdims=True)
        self.save(x, y)
        return y if keepdims else np.squeeze(y, axis=axes)

    def backward(self, gy):
        x, y = self.saved
        mask = self.winners(x, y)
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand_back(gy, x.shape, self.axes, self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):  # a NaN result: 0/0, NaN as in PyTorch
            return g * mask / count.astype(gy.dtype)

    @staticmethod
    def winners(x, y):
        """Where x holds its reduction's result (a NaN result matches nothing: NaN everywhere)."""
        return x == y


class Amin(Amax):
    """y = min x over axes;  the gradient is shared evenly among the minima."""

    reduce = staticmethod(np.min)


class _Extreme:
    """``torch.max(x)`` / ``torch.min(x)`` of every element: as amax/amin, but a NaN result's
    gradient is shared among the NaNs (amax's is NaN everywhere, as in PyTorch)."""

    @staticmethod
    def winners(x, y):
        return (x == y) | (np.isnan(x) & np.isnan(y))


class Max(_Extreme, Amax):
    """y = the largest element;  the gradient is shared evenly among the maxima (or the NaNs)."""


class Min(_Extreme, Amin):
    """y = the smallest element;  the gradient is shared evenly among the minima (or the NaNs)."""


class Var(Function):
    """y = Σ (x − x̄)² / (n − c) over axes (c = correction, 1 = unbiased);  dy/dx = 2(x − x̄)/(n − c)."""

    def forward(self, x, axes, correction, keepdims):
        self.axes, self.keepdims = axes, keepdims
        mean = x.mean(axis=axes, keepdims=True)
        d = x - mean
        n = x.size // mean.size
        self.denom = x.dtype.type(builtins.max(n - correction, 0))
        self.save(d)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (d * d).sum(axis=axes, keepdims=keepdims) / self.denom

    def backward(self, gy):
        (d,) = self.saved
        g = _expand_back(gy, d.shape, self.axes, self.keepdims)
        return g * 2 * d / self.denom


class Std(Var):
    """y = √var over axes;  dy/dx = (x − x̄)/((n − c)·y), and 0 where y = 0 (as PyTorch: √ at 0
    would give 0·∞ = NaN for a constant input)."""

    def forward(self, x, axes, correction, keepdims):
        y = np.sqrt(super().forward(x, axes, correction, keepdims))
        self.save(*self.saved, y)
        return y

    def backward(self, gy):
        d, y = self.saved
        g = _expand_back(gy, d.shape, self.axes, self.keepdims)
        root = _expand_back(y, d.shape, self.axes, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(root == 0, 0, g * d / (self.denom * root))


class IndexReduce(Function):
    """values = x[argmax along dim];  the gradient goes to that one index (as ``torch.max(x, dim)``)."""

    def forward(self, x, idx, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        idx = np.expand_dims(idx, axis)
        self.save(idx)
        y = np.take_along_axis(x, idx, axis)
        return y if keepdims else np.squeeze(y, axis)

    def backward(self, gy):
        (idx,) = self.saved
        g = np.zeros_like(gy, shape=self.shape)
        np.put_along_axis(g, idx, gy if self.keepdims else np.expand_dims(gy, self.axis), self.axis)
        return g


def _reduce_args(x, dim, axis, keepdim, keepdims):
    x = as_tensor(x)
    d = dim if dim is not None else axis
    return x, _axes(d, x.ndim), bool(keepdim or keepdims)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Σ x over ``dim`` (all axes if None).

    >>> import shendu
    >>> shendu.ones(2, 3).sum(dim=1).tolist()
    [3.0, 3.0]
    """
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    return Sum.apply(x, axes=axes, keepdims=kd)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Arithmetic mean over ``dim`` (all axes if None)."""
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.float()
    return Mean.apply(x, axes=axes, keepdims=kd)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Largest value over ``dim``; ties share the gradient."""
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    _check_nonempty(x, "amax")
    return Amax.apply(x, axes=axes, keepdims=kd)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Smallest value over ``dim``; ties share the gradient."""
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    _check_nonempty(x, "amin")
    return Amin.apply(x, axes=axes, keepdims=kd)


def _check_nonempty(x: Tensor, name: str) -> None:
    if x._data.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape}")


def _max_min(x, dim, axis, keepdim, keepdims, arg, whole, extreme):
    if isinstance(dim, (Tensor, np.ndarray)):
        # torch.max(a, b) with a second tensor is the elementwise maximum
        return (maximum if arg is np.argmax else minimum)(x, dim)
    if dim is None and axis is None:
        x = as_tensor(x)
        _check_nonempty(x, whole.__name__)
        return extreme.apply(x, axes=None, keepdims=False)
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    _check_nonempty(x, whole.__name__)
    if not x.ndim:  # a 0-d tensor is its own maximum, at index 0
        return MaxMin(x * 1, Tensor._wrap(np.zeros_like(x._data, dtype=np.int64)))
    if len(axes) != 1:
        return whole(x, axes, kd)
    ax = axes[0]
    idx = arg(x._data, axis=ax)
    values = IndexReduce.apply(x, idx=idx, axis=ax, keepdims=kd)
    indices = Tensor._wrap(np.expand_dims(idx, ax) if kd else idx)
    return MaxMin(values, indices)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Without ``dim``: the largest element. With ``dim``: ``(values, indices)`` as ``torch.max``.
    With a second tensor instead of ``dim``: the elementwise maximum, as ``torch.max(a, b)``.

    >>> import shendu
    >>> v, i = shendu.tensor([[1., 5.], [7., 2.]]).max(dim=1)
    >>> v.tolist(), i.tolist()
    ([5.0, 7.0], [1, 0])
    """
    return _max_min(x, dim, axis, keepdim, keepdims, np.argmax, amax, Max)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Without ``dim``: the smallest element. With ``dim``: ``(values, indices)`` as ``torch.min``.
    With a second tensor instead of ``dim``: the elementwise minimum, as ``torch.min(a, b)``."""
    return _max_min(x, dim, axis, keepdim, keepdims, np.argmin, amin, Min)


def var(x, dim=None, unbiased: bool = True, keepdim=False, **kw: Any) -> Tensor:
    """Variance over ``dim``; unbiased (divides by n − 1) by default, as in PyTorch; also
    ``axis=``, ``keepdims=``, ``correction=``."""
    return _spread(Var, x, dim, unbiased, keepdim, **kw)


def std(x, dim=None, unbiased: bool = True, keepdim=False, **kw: Any) -> Tensor:
    """Standard deviation √var over ``dim`` (unbiased by default, as in PyTorch)."""
    return _spread(Std, x, dim, unbiased, keepdim, **kw)


def _spread(
    fn: type[Var], x, dim, unbiased: bool, keepdim, *, axis=None, keepdims=False, correction=None
) -> Tensor:
    x, axes, kd = _reduce_args(x, dim, axis, keepdim, keepdims)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.float()  # as mean: integers give float32 (NumPy would give float64)
    c = correction if correction is not None else (1 if unbiased else 0)
    return fn.apply(x, axes=axes, correction=c, keepdims=kd)


def argmax(x, dim=None, keepdim=False, *, axis=None) -> Tensor:
    """Index of the largest element (of the flattened tensor if ``dim`` is None; ``axis`` is an
    alias of ``dim``, as in PyTorch)."""
    dim = axis if axis is not None else dim
    x = as_tensor(x)
    return Tensor._wrap(np.argmax(x._data, axis=dim, keepdims=keepdim))


def argmin(x, dim=None, keepdim=False, *, axis=None) -> Tensor:
    """Index of the smallest element (of the flattened tensor if ``dim`` is None; ``axis`` is an
    alias of ``dim``)."""
    dim = axis if axis is not None else dim
    x = as_tensor(x)
    return Tensor._wrap(np.argmin(x._data, axis=dim, keepdims=keepdim))
