"""Shape ops: reshape/view, permute/transpose, flatten, squeeze/unsqueeze, expand/broadcast_to.

They move no numbers, so each backward undoes the move on the gradient.
"""

from __future__ import annotations

import numpy as np

from shendu import parallel
from shendu.autograd.function import Function, unbroadcast
from shendu.tensor import Tensor, as_tensor


def _shape_arg(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    """y = x viewed with a new shape;  backward reshapes the gradient back.

    Where no view can show x in the new shape (a channels-last conv output flattened for a
    Linear layer), the elements are copied row-major, as NumPy's reshape copies them, with the
    copy shared among the threads."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        if type(x) is np.ndarray and not x.flags.c_contiguous and parallel.worth_sharing(x.size):
            new = _resolved(shape, x.size)
            if new is not None and view_strides(x.shape, x.strides, new) is None:
                return parallel.copyto(np.empty(x.shape, x.dtype), x).reshape(new)
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Contiguous(Function):
    """y = a row-major (C-ordered) copy of x;  backward passes the gradient through."""

    def forward(self, x):
        return x.copy(order="C")

    def backward(self, gy):
        return gy


class Permute(Function):
    """y = x with axes reordered by ``dims``;  backward applies the inverse order."""

    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, gy):
        return gy.transpose(self.inverse)


class Expand(Function):
    """y = x broadcast to ``shape`` (no copy);  backward sums over the broadcast axes."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.in_shape)


def _resolved(shape: tuple[int, ...], size: int) -> tuple[int, ...] | None:
    """``shape`` with its −1 filled in for ``size`` elements; None if it cannot hold them."""
    known = [d for d in shape if d != -1]
    product = int(np.prod(known))
    if len(known) == len(shape):
        return shape if product == size else None
    if len(shape) - len(known) > 1 or product == 0 or size % product or any(d < 0 for d in known):
        return None
    return tuple(size // product if d == -1 else d for d in shape)


class ReshapeError(RuntimeError, ValueError):
    """A shape that does not hold the tensor's elements: a ``RuntimeError`` as in PyTorch, and a
    ``ValueError`` as every bad-input error of shendu."""


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape; one size may be −1 (inferred).

    >>> import shendu
    >>> shendu.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    x = as_tensor(x)
    shape = _shape_arg(shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:
        raise ReshapeError(
            f"reshape: shape {shape} is invalid for input of shape {x.shape} ({x._data.size} elements)"
        ) from None


def view(x: Tensor, *shape) -> Tensor:
    """``reshape`` that never copies, as PyTorch's ``view``: the result shares x's memory.

    A tensor whose elements are not one run in memory (transposed, sliced with a step, expanded)
    cannot always be viewed: then it raises, as PyTorch does, instead of copying silently — a
    write through the result would not reach x. Tensors in the channels-last layout that
    shendu's conv and pooling outputs use (where PyTorch's are row-major) are copied instead.
    """
    x = as_tensor(x)
    target = _shape_arg(shape)
    out = reshape(x, target)  # its errors first (a bad shape, a stale no-grad view), as PyTorch
    a = x._data
    if not x.is_contiguous() and view_strides(a.shape, a.strides, out.shape) is None:
        raise RuntimeError(
            f"view: shape {target} is not compatible with input shape {x.shape} and strides "
            f"{tuple(st // a.itemsize for st in a.strides)} (its elements are not one run in "
            "memory, e.g. after .t() or a slice with a step); use .reshape(...) or "
            ".contiguous().view(...) instead"
        )
    return out


def view_strides(
    shape: tuple[int, ...], strides: tuple[int, ...], new_shape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The strides that show an array of ``shape`` and ``strides`` as ``new_shape`` without a
    copy, or None where there are none (then the elements must be copied to be reshaped).

    The axes fall into runs that are contiguous between themselves (stride[i] = stride[i+1] ·
    shape[i+1]); each run of the old shape must be exactly covered by consecutive new axes.
    """
    if int(np.prod(shape)) == 0 or not shape:
        return tuple(0 for _ in new_shape)
    old = [(n, st) for n, st in zip(shape, strides, strict=True) if n != 1]  # size 1: any stride
    runs: list[tuple[int, int]] = []  # (elements, stride of the run's last axis)
    for n, st in reversed(old):
        if runs and st == runs[-1][1] * runs[-1][0]:
            runs[-1] = (runs[-1][0] * n, runs[-1][1])
        else:
            runs.append((n, st))
    new = [0] * len(new_shape)
    axis = len(new_shape) - 1
    for elements, step in runs:  # innermost run first
        covered = 1
        while axis >= 0 and (covered < elements or new_shape[axis] == 1):
            new[axis] = step * covered
            covered *= new_shape[axis]
            axis -= 1
        if covered != elements:
            return None
    while axis >= 0:  # leading size-1 axes
        if new_shape[axis] != 1:
            return None
        axis -= 1
    return tuple(new)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """x itself when ``x.is_contiguous()``, else a row-major copy that stays in the graph
    (as PyTorch, whose ``contiguous`` copies a transposed or sliced tensor, so that a write to the
    result never reaches x). ``memory_format`` is accepted for PyTorch code and ignored."""
    x = as_tensor(x)
    return x if x.is_contiguous() else Contiguous.apply(x)


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the axes: ``y.shape[i] = x.shape[dims[i]]``."""
    x = as_tensor(x)
    dims = _shape_arg(dims)
    in_range = all(-x.ndim <= d < x.ndim for d in dims)
    if not in_range or sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
        raise ValueError(
            f"permute: dims {dims} are not a permutation of the {x.ndim} axes of shape {x.shape}"
        )
    return Permute.apply(x, dims=tuple(d % x.ndim for d in dims))


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (the last two by default)."""
    x = as_tensor(x)
    n = max(x.ndim, 1)
    for d in (dim0, dim1):
        if not -n <= d < n:
            raise IndexError(f"transpose: dim {d} out of range for a tensor of {x.ndim} dimensions")
    if x.ndim < 2:
        return x
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, dims=tuple(dims))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C·H·W) with start_dim=1."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    for d in (start_dim, end_dim):
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"flatten: dim {d} out of range for a tensor of {x.ndim} dimensions")
    s, e = start_dim % x.ndim, end_dim % x.ndim
    if s > e:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor of shape {x.shape}"
        )
    merged = int(np.prod(x.shape[s : e + 1]))  # not -1, which an empty tensor cannot resolve
    return reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1 :])


def squeeze(x: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Drop size-1 axes: all of them, or those among ``dim`` (an int or a tuple) that have size 1."""
    x = as_tensor(x)
    if dim is None:
        dims = set(range(x.ndim))
    else:
        n = max(x.ndim, 1)
        dims = set()
        for d in (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim):
            if not -n <= d < n:
                raise IndexError(f"squeeze: dim {d} out of range for a tensor of {x.ndim} dimensions")
            dims.add(int(d) % n)
    shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return x if shape == x.shape else reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 axis at ``dim``."""
    x = as_tensor(x)
    d = dim if dim >= 0 else dim + x.ndim + 1
    if not 0 <= d <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor of {x.ndim} dimensions")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x: Tensor, *shape) -> Tensor:
    """Broadcast to a larger shape without copying; −1 keeps a size."""
    x = as_tensor(x)
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if any(s == -1 for s in shape[:lead]):
        raise ValueError(
            f"expand: -1 is not allowed for a new leading dimension, got {shape} for input {x.shape}"
        )
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    try:
        return Expand.apply(x, shape=shape)
    except ValueError:
        raise ValueError(f"expand: shape {x.shape} cannot be broadcast to {shape}") from None


broadcast_to = expand


class ZeroSize(Function):
    """y = an array of ``shape`` with no elements, computed from the inputs (a layer given an
    empty batch);  every input's gradient is zero, since no output element depends on it."""

    def forward(self, *xs, shape):
        return np.zeros_like(next(x for x in xs if x is not None), shape=shape)  # on the inputs' device

    def backward(self, gy):
        return tuple(
            None if shape is None or dtype is None else np.zeros_like(gy, shape=shape, dtype=dtype)
            for shape, dtype in zip(self.input_shapes, self.input_dtypes, strict=True)
        )


def zero_size(shape: tuple[int, ...], *inputs: Tensor | None) -> Tensor:
    """An empty result of ``shape`` (one size is 0) that stays in the graph of ``inputs``, so
    backward through a layer given an empty batch gives zero gradients, as in PyTorch."""
    if 0 not in shape:
        raise ValueError(f"zero_size: shape {shape} has elements")
    return ZeroSize.apply(*inputs, shape=tuple(shape))


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along axis ``i`` (extra leading sizes add new axes), as
    ``Tensor.repeat``; built from reshape and expand, so the gradient sums over the copies.

    >>> import shendu
    >>> shendu.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = as_tensor(x)
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(
            f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the tensor's ({x.ndim})"
        )
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    inter = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(sizes, shape, strict=True) for v in (r, n))
    final = tuple(r * n for r, n in zip(sizes, shape, strict=True))
    return reshape(expand(reshape(x, inter), wide), final)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``x`` along ``dim``: of ``split_size`` each (the last may be smaller), or of the
    listed sizes (which must add up to the dimension), as ``torch.split``.

    >>> import shendu
    >>> [p.tolist() for p in shendu.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    axis = dim % x.ndim if -x.ndim <= dim < x.ndim else None
    if axis is None:
        raise IndexError(f"split: dim {dim} is out of range for {x.ndim} possible axes")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but dimension {dim} has size {n}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(x[index])
        start += size
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size ``ceil(n / chunks)`` along ``dim`` (the last may be
    smaller), as ``torch.chunk``."""
    x = as_tensor(x)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[dim] if x.ndim else 0
    return split(x, max(-(-n // chunks), 1), dim)
