"""Reverse-mode differentiation (反向传播): walk the graph from the outputs back to the leaves.

The walk is iterative (no recursion), in reverse topological order, so a node used twice
receives the sum of both gradients before it passes its own gradient on. ``backward`` adds the
gradients into the leaves' ``.grad``; ``grad`` returns them instead and leaves ``.grad`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from shendu import parallel
from shendu.autograd import anomaly_mode
from shendu.autograd.function import Function, unbroadcast
from shendu.backend import is_array

if TYPE_CHECKING:
    from shendu.tensor import Tensor

FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Specify retain_graph=True in the first "
    "backward() call if you need to backward through the graph a second time."
)


def _topological_order(roots: Sequence[Function]) -> list[Function]:
    """Nodes reachable from ``roots``, each listed after every node that consumes it.

    Kahn's algorithm on dependency counts (as PyTorch's engine does): first count, for each
    node, how many edges from other reachable nodes point at it; then a node is ready only once
    all its consumers have been listed. Correct for any DAG, and iterative (no recursion limit).
    """
    consumers: dict[int, int] = {}
    stack = []
    for root in roots:
        if root.parents is None:
            raise RuntimeError(FREED_MSG)
        if id(root) not in consumers:
            consumers[id(root)] = 0
            stack.append(root)
    unique_roots = list(stack)
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
    ready = [r for r in unique_roots if consumers[id(r)] == 0]  # a root may feed another root
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
        leaf.grad = leaf._wrap(_fresh_copy(g, leaf._data.dtype))
    else:
        total = leaf.grad._data + g  # _data: the slot behind .data (hot path)
        # NumPy's sum of two 0-d arrays is a scalar: keep an array, so zero_() and .data write to it.
        leaf.grad._data = total if total.ndim else leaf._wrap(total)._data


def _fresh_copy(g: Any, dtype: Any) -> Any:
    """A new array of g's values in ``dtype`` and g's memory layout; a large NumPy array is
    copied by all of shendu's threads (a copy is a copy however it is cut)."""
    if type(g) is not np.ndarray or not parallel.worth_sharing(g.size):
        return g.astype(dtype, copy=True)
    return parallel.copyto(np.empty_like(g, dtype=dtype), g)


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


def _user_frame(stack: list[str]) -> str:
    """The innermost frame of a forward call stack that is not inside shendu itself."""
    for frame in reversed(stack):
        if "/shendu/" not in frame.split("\n", 1)[0] and "\\shendu\\" not in frame.split("\n", 1)[0]:
            return frame.rstrip()
    return stack[-1].rstrip() if stack else "  (unknown)"


def _check_finite(fn: Function, gxs: tuple) -> None:
    """detect_anomaly: raise at the first NaN/Inf gradient, naming the op and its forward call."""
    for i, gx in enumerate(gxs):
        if gx is None:
            continue
        gx = np.asarray(gx)
        if gx.dtype.kind in "fc" and not np.isfinite(gx).all():
            kind = "nan" if np.isnan(gx).any() else "inf"
            stack = fn.__dict__.get("forward_stack", [])
            raise RuntimeError(
                f"Function '{fn.name}Backward' returned {kind} values in its {i}th output. "
                f"It is the backward of the forward op {fn.name}, called here:\n{_user_frame(stack)}\n"
                "Forward traceback, last frames (most recent call last):\n" + "".join(stack[-8:])
            )


def _backprop(
    roots: Sequence[Function],
    grads: dict[int, np.ndarray],
    retain_graph: bool,
    capture: dict[int, Any] | None = None,
) -> None:
    """Run backward from ``roots`` seeded with ``grads`` (id(node) -> d out / d node's output).

    ``capture`` None: add each leaf's gradient into ``leaf.grad`` (and into ``.grad`` of
    non-leaves that ``retain_grad()``). Else only collect, under the keys already in ``capture``
    (id of a leaf, or id of the node that made a non-leaf), the gradients that reach them.
    """
    order = _topological_order(roots)
    anomaly = anomaly_mode._enabled
    hooked = _hooked_leaves(order) if capture is None else {}
    for fn in order:
        gy = grads.pop(id(fn), None)
        if gy is None:  # every consumer returned None for it (no gradient flows here)
            if hooked:
                for p in fn.parents or ():
                    if p is not None and not isinstance(p, Function):
                        _edge_done(hooked, p)
            if not retain_graph:
                fn.release()
            continue
        if capture is None:
            out = fn.out_ref()
            if out is not None and out._retains_grad:
                _accumulate_leaf(out, gy)
        elif id(fn) in capture:
            capture[id(fn)] = gy
        if fn.watched:
            fn.check_saved_versions()
        gxs = fn.backward(gy)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if anomaly:
            _check_finite(fn, gxs)
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
                grads[key] = parallel.binary(np.add, grads[key], gx) if key in grads else gx
            elif capture is None:
                _accumulate_leaf(parent, gx)
                if hooked:
                    _edge_done(hooked, parent)
            elif id(parent) in capture:
                prev = capture[id(parent)]
                capture[id(parent)] = gx if prev is None else prev + gx
        if not retain_graph:
            fn.release()


def backward(root: Tensor, gradient: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate ``gradient`` (d out / d root) to every leaf that requires grad."""
    if root._ctx is None:
        _accumulate_leaf(root, gradient)
        _run_post_accumulate_hooks(root)
        return
    _backprop([root._ctx], {id(root._ctx): gradient}, retain_graph)


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _seed(out: Tensor, g: Any, i: int) -> np.ndarray:
    if g is None:
        if out._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs: output {i} has shape "
                f"{out.shape}; pass grad_outputs"
            )
        return np.ones(out.shape, dtype=out.dtype)
    arr = np.asarray(getattr(g, "_data", g), dtype=out.dtype)
    if arr.shape != out.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {arr.shape} and output[{i}] "
            f"has a shape of {out.shape}."
        )
    return arr


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients d(Σ grad_outputs · outputs) / d input, one per input, as ``torch.autograd.grad``.

    Unlike ``backward()`` it returns them and leaves every ``.grad`` untouched. ``inputs`` may
    be leaves or intermediate tensors. ``grad_outputs`` may be left out for one-element outputs.
    The graph is freed unless ``retain_graph=True``. An input that the outputs do not depend on
    is an error, or gets ``None`` with ``allow_unused=True``.

    >>> import shendu
    >>> x = shendu.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = shendu.autograd.grad((x * x).sum(), x)
    >>> gx.tolist(), x.grad
    ([2.0, 4.0], None)
    """
    if create_graph:
        raise NotImplementedError(
            "shendu.autograd.grad: create_graph=True (a graph of the gradient, for higher-order "
            "derivatives) is not supported; shendu's backward computes gradients as plain arrays"
        )
    outs, ins = _as_tuple(outputs), _as_tuple(inputs)
    gouts = (None,) * len(outs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(gouts) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(gouts)} tensors, but there are {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    keys = [id(t._ctx) if t._ctx is not None else id(t) for t in ins]
    capture: dict[int, Any] = dict.fromkeys(keys)
    roots: list[Function] = []
    seeds: dict[int, np.ndarray] = {}
    for i, (out, g) in enumerate(zip(outs, gouts, strict=True)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        seed = _seed(out, g, i)
        if out._ctx is None:  # an output that is itself a leaf input
            if id(out) in capture:
                prev = capture[id(out)]
                capture[id(out)] = seed if prev is None else prev + seed
            continue
        key = id(out._ctx)
        seeds[key] = seeds[key] + seed if key in seeds else seed
        roots.append(out._ctx)
    if roots:
        _backprop(roots, seeds, bool(retain_graph), capture)
    result: list[Tensor | None] = []
    for i, (t, key) in enumerate(zip(ins, keys, strict=True)):
        g = capture[key]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
            result.append(None)
        else:
            result.append(t._wrap(np.array(g, dtype=t.dtype, copy=True)))
    return tuple(result)
