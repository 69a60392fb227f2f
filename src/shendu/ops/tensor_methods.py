"""The Tensor methods that compute through ops, attached to :class:`~shendu.tensor.Tensor` here.

``tensor.py`` (layer 1) cannot import the ops (layer 2) without an import circle, so, as DeZero's
``setup_variable()``, the ops package attaches its operators and methods to the class when it is
imported: ``x + y`` is :func:`~shendu.ops.arithmetic.add`, ``x.exp()`` is
:func:`~shendu.ops.elementwise.exp`. ``shendu/__init__`` imports ``shendu.ops``, so every Tensor
has these methods as soon as ``import shendu`` (or any ``shendu.*``) has run.

A new Tensor method that computes through an op: write the op in ``shendu/ops/<family>.py``, add
one entry to :data:`METHODS` below, and declare its signature in the ``if TYPE_CHECKING:`` block
of ``Tensor`` (``tests/core/test_layering.py`` fails when the two lists differ).
"""

from __future__ import annotations

from typing import Any, Callable

from shendu.ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from shendu.ops.arithmetic import add, bmm, div, matmul, mm, mul, neg, pow, sub
from shendu.ops.elementwise import abs, cast, clip, exp, log, maximum, minimum, sqrt
from shendu.ops.indexing import getitem, masked_fill, topk
from shendu.ops.inplace import record_inplace
from shendu.ops.reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from shendu.ops.shape import (
    chunk,
    contiguous,
    expand,
    flatten,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    transpose,
    unsqueeze,
    view,
)
from shendu.ops.transfer import cpu, cuda, to
from shendu.tensor import Tensor, as_tensor, bool_, float32, float64, int32, int64


# ---- reflected operators: ``2 - x`` calls ``x.__rsub__(2)`` ------------------------------------
def _radd(self: Tensor, o: Any) -> Tensor:
    return add(o, self)


def _rsub(self: Tensor, o: Any) -> Tensor:
    return sub(o, self)


def _rmul(self: Tensor, o: Any) -> Tensor:
    return mul(o, self)


def _rtruediv(self: Tensor, o: Any) -> Tensor:
    return div(o, self)


def _rpow(self: Tensor, o: Any) -> Tensor:
    return pow(as_tensor(o, like=self), self)


def _rmatmul(self: Tensor, o: Any) -> Tensor:
    return matmul(o, self)


# ---- named arithmetic: ``x.add(y, alpha=2)`` as torch ------------------------------------------------
def _add(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self + alpha · other."""
    return add(self, other if alpha == 1 else other * alpha)


def _sub(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self − alpha · other."""
    return sub(self, other if alpha == 1 else other * alpha)


# ---- augmented assignment: ``x += y`` is ``x.add_(y)``, in place (recorded where a gradient is needed)
def _iadd(self: Tensor, o: Any) -> Tensor:
    return self.add_(o)


def _isub(self: Tensor, o: Any) -> Tensor:
    return self.sub_(o)


def _imul(self: Tensor, o: Any) -> Tensor:
    return self.mul_(o)


def _itruediv(self: Tensor, o: Any) -> Tensor:
    return self.div_(o)


# ---- dtype conversion ------------------------------------------------------------------------------
def _float(self: Tensor) -> Tensor:
    return cast(self, float32)


def _double(self: Tensor) -> Tensor:
    return cast(self, float64)


def _long(self: Tensor) -> Tensor:
    return cast(self, int64)


def _int(self: Tensor) -> Tensor:
    return cast(self, int32)


def _bool(self: Tensor) -> Tensor:
    return cast(self, bool_)


# ---- shapes ------------------------------------------------------------------------------------------
def _T(self: Tensor) -> Tensor:
    """All axes reversed (the transpose of a matrix)."""
    return permute(self, *reversed(range(self.ndim))) if self.ndim > 1 else self


def _mT(self: Tensor) -> Tensor:
    """The last two axes swapped (batched transpose)."""
    return transpose(self, -2, -1)


def _t(self: Tensor) -> Tensor:
    return transpose(self, 0, 1) if self.ndim == 2 else self


def _expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other.shape)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, other.shape)


# ---- others ----------------------------------------------------------------------------------------
def _clone(self: Tensor) -> Tensor:
    """A copy that stays in the graph (gradient flows back to self)."""
    return mul(self, 1) if self.requires_grad else Tensor._wrap(self._data.copy())


#: name on Tensor -> function of (self, ...) or property getter. One line per method.
METHODS: dict[str, Callable[..., Any]] = {
    "__add__": add,
    "__radd__": _radd,
    "__sub__": sub,
    "__rsub__": _rsub,
    "__mul__": mul,
    "__rmul__": _rmul,
    "__truediv__": div,
    "__rtruediv__": _rtruediv,
    "__pow__": pow,
    "__rpow__": _rpow,
    "__matmul__": matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": neg,
    "add": _add,
    "sub": _sub,
    "mul": mul,
    "div": div,
    "neg": neg,
    "__abs__": abs,
    "_record_inplace": record_inplace,
    "__iadd__": _iadd,
    "__isub__": _isub,
    "__imul__": _imul,
    "__itruediv__": _itruediv,
    "__getitem__": getitem,
    "clone": _clone,
    "to": to,
    "cpu": cpu,
    "cuda": cuda,
    "type": cast,
    "float": _float,
    "double": _double,
    "long": _long,
    "int": _int,
    "bool": _bool,
    "matmul": matmul,
    "pow": pow,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "maximum": maximum,
    "minimum": minimum,
    "clip": clip,
    "clamp": clip,
    "sum": sum,
    "mean": mean,
    "max": max,
    "min": min,
    "amax": amax,
    "amin": amin,
    "argmax": argmax,
    "argmin": argmin,
    "var": var,
    "std": std,
    "reshape": reshape,
    "view": view,
    "contiguous": contiguous,
    "view_as": _view_as,
    "permute": permute,
    "transpose": transpose,
    "t": _t,
    "flatten": flatten,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "expand": expand,
    "broadcast_to": expand,
    "expand_as": _expand_as,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "topk": topk,
    "masked_fill": masked_fill,
    "repeat": repeat,
    "chunk": chunk,
    "split": split,
    "mm": mm,
    "bmm": bmm,
}

#: name on Tensor -> getter of a read-only property.
PROPERTIES: dict[str, Callable[[Tensor], Tensor]] = {"T": _T, "mT": _mT}


def install_methods() -> None:
    """Attach :data:`METHODS` and :data:`PROPERTIES` to ``Tensor`` (run once, by ``shendu.ops``)."""
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name, getter in PROPERTIES.items():
        setattr(Tensor, name, property(getter, doc=getter.__doc__))
