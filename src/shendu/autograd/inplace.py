"""In-place ops in the graph (PyTorch's rule): ``h.add_(y)`` rewrites ``h``'s history.

When ``h`` or an operand needs a gradient, the op is computed out of place on a copy of ``h``'s
old values (``result``), the values are written into ``h``'s storage, and ``h`` takes
``result``'s node: what used ``h`` before keeps the old node, what uses it after gets the new
one. For a view ``v`` of a base ``b``, ``b`` takes a :class:`CopySlices` node (``b`` with the
region of ``v`` replaced by ``result``), and every view of ``b`` is made again from ``b``'s new
node, so its gradient reaches the new history too.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from shendu.autograd import grad_mode
from shendu.autograd.function import Function, ViewInfo, check_no_grad_view, replay

if TYPE_CHECKING:
    from shendu.tensor import Tensor

LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF_MSG = "a view of a leaf Variable that requires grad is being used in an in-place operation."
NO_GRAD_VIEW_MSG = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "This use case is ambiguous: clone() the view first, or make it outside no_grad()."
)


def check_inplace_allowed(t: Tensor, name: str, through_view: bool = False) -> None:
    """PyTorch's refusals for an in-place op that the graph would record (``through_view``: the op
    writes through a view of ``t``, as ``t[0] = v`` does). A view made under no_grad is refused
    before, by ``is_recorded``."""
    view: ViewInfo | None = t._view
    if view is None:
        if t.requires_grad and t._ctx is None:
            if through_view:
                raise RuntimeError(f"{name}: {VIEW_OF_LEAF_MSG}")
            raise RuntimeError(
                f"{name}: {LEAF_MSG} Do it under `with shendu.no_grad():` (optimiser or init "
                "code) or use the out-of-place op"
            )
        return
    base = view.base
    if base.requires_grad and base._ctx is None:
        raise RuntimeError(f"{name}: {VIEW_OF_LEAF_MSG}")
    if not view.tracked:
        raise RuntimeError(
            f"{name}: this tensor is a view made from several tensors, so an in-place change of it "
            "cannot be recorded in the graph; change a copy (x = x.clone()) instead"
        )


class CopySlices(Function):
    """b' = b with the region of view ``v`` replaced by ``r``:
    ∂L/∂b = g with that region zeroed; ∂L/∂r = g's region."""

    def forward(self, b, r, chain):
        self.chain = chain  # the steps only, not the base: the base holds this node
        return b  # already written in place (rebase_history): b's storage is the result

    def _region(self, shape: tuple[int, ...]) -> np.ndarray:
        # Flat positions of the view's elements in a C-ordered array shaped like the base: works
        # whatever the base's memory layout and for any view op (slices, transposes, reshapes).
        return np.asarray(replay(self.chain, np.arange(int(np.prod(shape))).reshape(shape)))

    def backward(self, gy):
        flat = self._region(gy.shape)
        gb = gy.copy()
        gr = gb.reshape(-1)[flat]
        gb.reshape(-1)[flat] = 0
        return gb, gr


def _wrapper(t: Tensor, data: Any = None) -> Tensor:
    """A tensor that stands for ``t`` as it is now (same node; ``t``'s storage, or ``data``), as an
    input of Function.apply."""
    w = t._wrap(t._data if data is None else data)
    w.requires_grad, w._ctx = t.requires_grad, t._ctx
    return w


def _adopt(t: Tensor, result: Tensor) -> None:
    """``t`` takes over ``result``'s node (and so the gradient path through it)."""
    node = result._ctx
    t.requires_grad = result.requires_grad or t.requires_grad
    if node is not None:
        t._ctx = node
        node.out_ref = weakref.ref(t)


def regenerate_views(base: Tensor) -> None:
    """Make every live view of ``base`` again from ``base``'s current node."""
    refs = base._views
    if not refs:
        return
    live = []
    for ref in refs:
        v = ref()
        if v is None or v._view is None:
            continue
        live.append(ref)
        if v._view.no_grad:  # stays a leaf; using it in the graph now raises (check_no_grad_view)
            v.requires_grad = base.requires_grad
            continue
        t = _wrapper(base)
        with grad_mode.enable_grad():
            for cls, params in v._view.chain:
                t = cls.apply(t, **params)
        v.requires_grad = t.requires_grad
        v._ctx = t._ctx
        if t._ctx is not None:
            t._ctx.out_ref = weakref.ref(v)
    base._views = live


def rebase_history(t: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` (computed out of place from ``t``'s old values) into ``t``'s storage and
    give ``t`` (or its base, if ``t`` is a view) the new history. Returns ``t``."""
    t._data[...] = result._data
    t._bump_version()
    view: ViewInfo | None = t._view
    if view is None:
        _adopt(t, result)
        regenerate_views(t)
        return t
    base = view.base
    new = CopySlices.apply(_wrapper(base), result, chain=view.chain)
    _adopt(base, new)
    regenerate_views(base)
    return t


def snapshot(t: Tensor) -> Tensor:
    """A copy of ``t``'s values that keeps ``t``'s place in the graph: the old ``t`` as an input
    of the out-of-place op (so the in-place write cannot change what that op saved)."""
    return _wrapper(t, t._data.copy())


def is_recorded(t: Tensor, others: tuple[Any, ...], name: str, through_view: bool = False) -> bool:
    """Whether an in-place op on ``t`` with ``others`` must be recorded in the graph (``t`` or an
    operand needs a gradient, in grad mode); raises PyTorch's error where it may not be done."""
    if not grad_mode.is_grad_enabled():
        return False
    view: ViewInfo | None = t._view
    needed = t.requires_grad or any(getattr(o, "requires_grad", False) for o in others)
    # a view made under no_grad: refused if the op would be recorded, or if its base needs a gradient
    if view is not None and view.no_grad and (needed or view.base.requires_grad):
        if through_view and view.base.requires_grad:  # x[i] = v first takes the view x[i]: refused
            check_no_grad_view(name, t)  # with PyTorch's other message if x changed since it was made
        raise RuntimeError(f"{name}: {NO_GRAD_VIEW_MSG}")
    if not needed:
        return False
    check_inplace_allowed(t, name, through_view)
    return True
