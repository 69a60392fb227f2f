"""Reverse-mode differentiation (反向传播): walk the graph from the output back to the leaves.

The walk is iterative (no recursion), in reverse topological order, so a node used twice
receives the sum of both gradients before it passes its own gradient on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shendu.autograd.function import Function, unbroadcast
from shendu.backend import is_array

if TYPE_CHECKING:
    from shendu.tensor import Tensor

FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Specify retain_graph=True in the first "
    "backward() call if you need to backward through the graph a second time."
)


def _topological_order(root: Function) -> list[Function]:
    """Nodes reachable from ``root``, each listed after every node that consumes it.

    Kahn's algorithm on dependency counts (as PyTorch's engine does): first count, for each
    node, how many edges from other reachable nodes point at it; then a node is ready only once
    all its consumers have been listed. Correct for any DAG, and iterative (no recursion limit).
    """
    if root.parents is None:
        raise RuntimeError(FREED_MSG)
    consumers: dict[int, int] = {id(root): 0}
    stack = [root]
    while stack:
        fn = stack.pop()
        for p in fn.parents or ():
            if isinstance(p, Function):
                if p.parents is None:
                    raise RuntimeError(FREED_MSG)
                key = id(p)
                if key in consumers:
                    consumers[key] += 1
                else:
                    consumers[key] = 1
                    stack.append(p)
    order: list[Function] = []
    ready = [root]
    while ready:
        fn = ready.pop()
        order.append(fn)
        for p in fn.parents or ():
            if isinstance(p, Function):
                key = id(p)
                consumers[key] -= 1
                if consumers[key] == 0:
                    ready.append(p)
    return order


def _accumulate_leaf(leaf: Tensor, g: np.ndarray) -> None:
    if leaf.grad is None:
        # A fresh array: never alias (and later modify) a gradient someone else owns.
        # (leaf._wrap makes a plain Tensor: the engine sits below tensor.py and does not import it.)
        leaf.grad = leaf._wrap(g.astype(leaf._data.dtype, copy=True))
    else:
        leaf.grad._data = leaf.grad._data + g  # _data: the slot behind .data (hot path)


def _hooked_leaves(order: list[Function]) -> dict[int, list]:
    """``{id(leaf): [leaf, edges]}`` for the leaves with post-accumulate hooks: ``edges`` counts
    the graph's edges into the leaf, so the hooks run after its last contribution."""
    hooked: dict[int, list] = {}
    for fn in order:
        for p in fn.parents or ():
            if (
                p is not None
                and not isinstance(p, Function)
                and getattr(p, "_post_accumulate_grad_hooks", None)
            ):
                entry = hooked.setdefault(id(p), [p, 0])
                entry[1] += 1
    return hooked


def _edge_done(hooked: dict[int, list], leaf: Tensor) -> None:
    entry = hooked.get(id(leaf))
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0 and leaf.grad is not None:
        _run_post_accumulate_hooks(leaf)


def _run_post_accumulate_hooks(leaf: Tensor) -> None:
    hooks = getattr(leaf, "_post_accumulate_grad_hooks", None)
    for hook in list(hooks.values()) if hooks else ():
        hook(leaf)


def backward(root: Tensor, gradient: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate ``gradient`` (d out / d root) to every leaf that requires grad."""
    if root._ctx is None:
        _accumulate_leaf(root, gradient)
        _run_post_accumulate_hooks(root)
        return
    order = _topological_order(root._ctx)
    hooked = _hooked_leaves(order)
    grads: dict[int, np.ndarray] = {id(root._ctx): gradient}
    for fn in order:
        gy = grads.pop(id(fn))
        out = fn.out_ref()
        if out is not None and out._retains_grad:
            _accumulate_leaf(out, gy)
        if "watched" in fn.__dict__ or "out_saved" in fn.__dict__:
            fn.check_saved_versions()
        gxs = fn.backward(gy)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for parent, gx, shape, dtype in zip(
            fn.parents or (), gxs, fn.input_shapes, fn.input_dtypes, strict=False
        ):
            if parent is None:
                continue
            if gx is None:
                if hooked and not isinstance(parent, Function):
                    _edge_done(hooked, parent)
                continue
            gx = unbroadcast(gx if isinstance(gx, np.ndarray) or is_array(gx) else np.asarray(gx), shape)
            if gx.dtype != dtype:
                gx = gx.astype(dtype)
            if isinstance(parent, Function):
                key = id(parent)
                # Sum into a new array: the incoming gradient may be shared with another node.
                grads[key] = grads[key] + gx if key in grads else gx
            else:
                _accumulate_leaf(parent, gx)
                if hooked:
                    _edge_done(hooked, parent)
        if not retain_graph:
            fn.release()
