"""In-place ops recorded in the graph: ``h.mul_(w)``, ``h[0] = v``, ``h.copy_(x)`` where a gradient
is needed, as PyTorch records them.

Each is computed out of place on a snapshot of the old values (the op of the same name, or one of
the two below), then written into the tensor's storage by
:func:`shendu.autograd.inplace.rebase_history`, which gives the tensor (or its base) the new node.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from shendu.autograd.function import Function
from shendu.autograd.inplace import rebase_history, snapshot
from shendu.ops.arithmetic import add, div, mul, sub
from shendu.ops.elementwise import cast, clip
from shendu.ops.indexing import masked_fill
from shendu.ops.transfer import to
from shendu.tensor import Tensor, _index_arrays, as_tensor


class Overwrite(Function):
    """y = s broadcast to a's shape (``a.copy_(s)``, ``a.fill_(s)``):  ∂L/∂a = 0, ∂L/∂s = g
    (summed back to s's shape by the engine)."""

    def forward(self, a, s):
        return np.broadcast_to(s, a.shape).astype(a.dtype, copy=True)

    def backward(self, gy):
        return np.zeros_like(gy), gy


class SetItem(Function):
    """y = a with y[idx] = v:  ∂L/∂a = g with g[idx] zeroed, ∂L/∂v = g[idx]."""

    def forward(self, a, v, idx):
        self.idx = idx
        y = a.copy()
        y[idx] = v
        return y

    def backward(self, gy):
        ga = gy.copy()
        ga[self.idx] = 0
        return ga, gy[self.idx]


def _scaled(o: Any, alpha: Any) -> Any:
    return o if alpha == 1 else o * alpha


def _overwrite(a: Tensor, s: Any) -> Tensor:
    s = as_tensor(s, like=a)
    if s.device != a.device:
        s = to(s, a.device)
    return Overwrite.apply(a, s)


#: name of the in-place op -> its out-of-place computation from the old values ``a``.
OUT_OF_PLACE: dict[str, Callable[..., Tensor]] = {
    "add_": lambda a, o, alpha=1: add(a, _scaled(o, alpha)),
    "sub_": lambda a, o, alpha=1: sub(a, _scaled(o, alpha)),
    "mul_": mul,
    "div_": div,
    "clamp_": clip,
    "masked_fill_": masked_fill,
    "copy_": _overwrite,
    "fill_": _overwrite,
    "setitem": lambda a, v, idx: SetItem.apply(a, as_tensor(v, like=a), idx=_index_arrays(idx, a._data)),
}


def record_inplace(self: Tensor, name: str, *args: Any, **kw: Any) -> Tensor:
    """``self`` ← OUT_OF_PLACE[name](old self, ...), in place and in the graph."""
    result = OUT_OF_PLACE[name](snapshot(self), *args, **kw)
    if result.shape != self.shape:
        raise ValueError(
            f"{name}: a result of shape {result.shape} does not fit the tensor's shape {self.shape}"
        )
    if result.dtype != self.dtype:
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise TypeError(
                f"{name}: result dtype {result.dtype} cannot be stored in a tensor of dtype {self.dtype}"
            )
        result = cast(result, self.dtype)
    return rebase_history(self, result)
