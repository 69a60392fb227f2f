"""Indexing and joining: ``x[idx]``, cat, stack, pad."""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from shendu import backend
from shendu.autograd.function import Function
from shendu.backend import get_array_module
from shendu.ops.elementwise import where
from shendu.tensor import Tensor, array_of, as_tensor, result_dtype


def _is_basic(idx) -> bool:
    """True for an index of ints, slices, None and Ellipsis only (a view, no repeats)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _plain_index(idx, x):
    """Replace Tensors and lists inside an index with arrays on ``x``'s device."""
    if isinstance(idx, tuple):
        return tuple(_plain_index(i, x) for i in idx)
    if isinstance(idx, Tensor):
        return backend.like(x._data, idx._data)
    if isinstance(idx, list):
        return backend.like(x._data, np.asarray(idx))
    return idx


class GetItem(Function):
    """y = x[idx];  backward scatters the gradient into zeros at idx (summing repeated indices)."""

    def forward(self, x, idx):
        self.shape, self.idx = x.shape, idx
        y = x[idx]
        if isinstance(y, np.generic):  # x[0] of a vector: a 0-d view (as torch), not a copied scalar
            y = x[(*idx, Ellipsis) if isinstance(idx, tuple) else (idx, Ellipsis)]
        return y

    def backward(self, gy):
        g = np.zeros_like(gy, shape=self.shape)
        if _is_basic(self.idx):
            g[self.idx] = gy
        else:
            get_array_module(g).add.at(g, self.idx, gy)  # np.add.at, or CuPy's on a GPU
        return g


def getitem(x: Tensor, idx) -> Tensor:
    """``x[idx]`` with NumPy's rules: slices, integer arrays, boolean masks.

    >>> import shendu
    >>> x = shendu.arange(6.).reshape(2, 3)
    >>> x[:, 1].tolist(), x[x > 3].tolist()
    ([1.0, 4.0], [4.0, 5.0])
    """
    x = as_tensor(x)
    return GetItem.apply(x, idx=_plain_index(idx, x))


class Cat(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  backward splits the gradient at the same points."""

    def forward(self, *xs, axis):
        self.axis = axis
        self.bounds = list(itertools.accumulate(x.shape[axis] for x in xs))[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, gy):
        return tuple(np.split(gy, self.bounds, axis=self.axis))


class Stack(Function):
    """y = [x₁, x₂, …] stacked along a new ``axis``;  backward takes the slices back apart."""

    def forward(self, *xs, axis):
        self.axis = axis
        return np.stack(xs, axis=axis)

    def backward(self, gy):
        return tuple(np.moveaxis(gy, self.axis, 0))


def _joinable(tensors: Sequence[Tensor], name: str) -> list[Tensor]:
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = result_dtype(dtype, t.dtype)  # float beats int: float32 with int64 gives float32
    return [t if t.dtype == dtype else t.to(dtype) for t in ts]


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis ``dim`` (``axis`` is accepted as its alias, as PyTorch
    does); the other axes must agree.

    >>> import shendu
    >>> shendu.cat([shendu.ones(2, 3), shendu.zeros(1, 3)]).shape
    (3, 3)
    >>> shendu.cat([shendu.ones(2, 1)] * 2, axis=1).shape
    (2, 2)
    """
    if axis is not None:
        dim = axis
    ts = _joinable(tensors, "cat")
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise ValueError(f"cat: a 0-d tensor (at position {i}) cannot be concatenated; use stack")
    axis = _dim(dim, ts[0].ndim, "cat")
    try:
        return Cat.apply(*ts, axis=axis)
    except ValueError:
        shapes = [t.shape for t in ts]
        raise ValueError(f"cat: shapes {shapes} do not agree outside dim {dim}") from None


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis ``dim``."""
    ts = _joinable(tensors, "stack")
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in ts]}")
    return Stack.apply(*ts, axis=_dim(dim, ts[0].ndim + 1, "stack"))


def _dim(dim: int, ndim: int, name: str) -> int:
    """``dim`` in [−ndim, ndim) as a non-negative axis (a wrap-around would join along the wrong axis)."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim} is out of range for {ndim} possible axes")
    return dim % ndim


class Pad(Function):
    """y = x surrounded by a constant;  backward crops the gradient back to x's region."""

    def forward(self, x, widths, value):
        self.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape, strict=True))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, gy):
        return gy[self.crop]


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding with PyTorch's ``F.pad`` convention: ``pad`` lists (left, right) pairs
    starting from the last axis, e.g. ``(1, 1, 2, 2)`` pads W by 1 and H by 2 on each side.
    """
    x = as_tensor(x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of sizes, at most 2 × {x.ndim}, got {tuple(pad)}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding is not supported, got {tuple(pad)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, widths=tuple(widths), value=value)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` (bool, broadcast to x) is True, else x; the gradient flows to x
    where the mask is False.

    >>> import shendu
    >>> shendu.tensor([1.0, 2.0, 3.0]).masked_fill(shendu.tensor([True, False, True]), 0.0).tolist()
    [0.0, 2.0, 0.0]
    """
    x = as_tensor(x)
    m = array_of(mask)  # a GPU mask stays there
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to {x.shape}") from None
    fill = np.asarray(value.item() if isinstance(value, Tensor) else value, dtype=x.dtype)
    out = where(Tensor._wrap(m), Tensor._wrap(fill), x)
    return out if out.shape == x.shape else out.expand(*x.shape)


def topk(
    x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> tuple[Tensor, Tensor]:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, as ``torch.topk``.

    Values are gathered with an index, so the gradient flows back to the chosen elements. Ties
    keep the lower index first.

    >>> import shendu
    >>> v, i = shendu.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
    >>> v.tolist(), i.tolist()
    ([5.0, 4.0], [1, 3])
    """
    x = as_tensor(x)
    axis = _dim(dim, max(x.ndim, 1), "topk")
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) must lie in [0, {n}] for dimension {dim} of size {n}")
    if x.ndim == 0:
        return x, Tensor._wrap(np.asarray(0, np.int64))
    data = x._data
    key = -data if largest else data
    order = np.argsort(key, axis=axis, kind="stable")
    idx = order[(slice(None),) * axis + (slice(0, k),)].astype(np.int64)
    xp = get_array_module(data)  # the index grids on x's device (a GPU's arrays index only with its own)
    grids = [
        xp.arange(s).reshape([-1 if j == i else 1 for j in range(idx.ndim)]) for i, s in enumerate(idx.shape)
    ]
    grids[axis] = idx
    values = getitem(x, tuple(grids))
    return values, Tensor._wrap(idx)
