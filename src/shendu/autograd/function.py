"""The node of the computational graph (计算图): one differentiable op.

Each op subclasses :class:`Function` and writes ``forward`` (ndarrays in, ndarray out)
right beside ``backward`` (upstream gradient in, one gradient per input out), with the
local derivative in the docstring, so the chain rule is visible op by op.
"""

from __future__ import annotations

import traceback
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from shendu import allocator, parallel
from shendu.autograd import anomaly_mode, grad_mode

if TYPE_CHECKING:
    from shendu.tensor import Tensor


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting.

    A broadcast input was used once per copy, so its gradient is the sum over the copies.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if extra:
        out = out.reshape(out.shape[extra:])
    return out.reshape(shape)


def same_device(name: str, inputs: tuple[Tensor | None, ...]) -> list:
    """The inputs' arrays, all on one device: a 0-d CPU tensor that needs no gradient joins the
    others' device (as a Python number would, PyTorch's rule); any other mix is PyTorch's error."""
    from shendu import backend
    from shendu.device import CPU, device_mismatch

    present = [t for t in inputs if t is not None]
    target = next((t.device for t in present if t.device != CPU or t.ndim > 0), present[0].device)
    arrays = []
    for t in inputs:
        d = None if t is None else t.device
        if t is None or d == target:
            arrays.append(None if t is None else t._data)
        elif d == CPU and t.ndim == 0 and not t.requires_grad:
            arrays.append(backend.to_device(t._data, target))
        else:
            raise device_mismatch(name, target, d)
    return arrays


def _share_version_with_base(out: Tensor, inputs: tuple[Tensor | None, ...]) -> Tensor | None:
    """A view shares its base's version counter, so an in-place change through either is seen
    by every saved use of both (PyTorch's rule). ``may_share_memory`` only compares bounds: an
    output that is a view of an input always overlaps it, a fresh array never does.
    Returns the input ``out`` is a view of (None if it is a fresh array)."""
    arr = out._data
    for t in inputs:
        if t is not None and type(t._data) is np.ndarray and np.may_share_memory(arr, t._data):
            out._vc = t._version_counter()
            return t
    return None


def check_no_grad_view(name: str, t: Tensor) -> None:
    """A view made under ``no_grad()`` of a base that requires grad enters the graph as a leaf,
    unless it (or its base, or another view of it) was changed in place since: then its history
    is ambiguous and PyTorch refuses it."""
    view = t._view
    if view is not None and view.no_grad and t._version_counter()[0] != view.version:
        raise RuntimeError(f"{name}: {STALE_VIEW_MSG}")


def _scalar_output(fn: Function, value: np.generic) -> np.ndarray:
    arr = np.asarray(value)
    saved = fn.__dict__.get("saved")
    if saved:
        fn.saved = tuple(arr if a is value else a for a in saved)
    return arr


class ViewInfo:
    """What makes a tensor a view: its root ``base`` and the ops that lead from the base to it.

    ``chain`` holds ``(Function subclass, params)`` per step, so the view can be made again from
    the base (after an in-place change rewrote the base's history) and its region located.
    ``no_grad``: made while grad mode was off; ``tracked``: False for a view of several tensor
    inputs, whose region cannot be replayed from one base.
    """

    __slots__ = ("base", "chain", "no_grad", "tracked", "version")

    def __init__(self, base: Tensor, chain: tuple, no_grad: bool, tracked: bool, version: int) -> None:
        self.base, self.chain, self.no_grad, self.tracked = base, chain, no_grad, tracked
        self.version = version  # of the shared counter when the view was made


def replay(chain: tuple, arr: Any) -> Any:
    """The view that ``chain`` (a ViewInfo's steps) takes of its base, taken of ``arr`` instead
    (an array shaped like the base)."""
    for cls, params in chain:
        fn = cls()
        fn.needs_grad = (False,)
        arr = fn.forward(arr, **params)
    return arr


def _register_view(out: Tensor, src: Tensor, step: tuple, n_inputs: int, enabled: bool) -> None:
    """Record that ``out`` is a view of ``src`` (made by ``step``), under ``src``'s root base.

    The base keeps weak references to its views, so that they can be re-derived from it when an
    in-place op rewrites its history; not for a leaf that requires grad, whose history cannot be
    rewritten (an in-place op on it, or on a view of it, is refused)."""
    info = src._view
    base, chain, no_grad = (src, (), False) if info is None else (info.base, info.chain, info.no_grad)
    version = out._version_counter()[0]
    out._view = ViewInfo(base, chain + (step,), no_grad or not enabled, n_inputs == 1, version)
    if not enabled and base.requires_grad:
        out.requires_grad = True  # PyTorch: a view made under no_grad requires grad if its base does
    if base.requires_grad and base._ctx is None:
        return
    views = base._views
    if views is None:
        views = base._views = []
    views.append(weakref.ref(out))
    n = len(views)
    if n >= 16 and n & (n - 1) == 0:  # at each power of two drop dead entries: amortised O(1)
        views[:] = [r for r in views if r() is not None]


STALE_VIEW_MSG = (
    "A view was created in no_grad mode and its base or another view of its base has been modified "
    "inplace with grad mode enabled. This view is ambiguous to use in the graph: clone() it first, or "
    "make it outside no_grad()."
)

_process_ready = False


def _ready_process() -> None:
    """Before shendu's first op: NumPy's BLAS to one thread (a small product, not split over the
    pool, is 2.5x slower with BLAS threads) and malloc set to reuse freed memory (:mod:`shendu.allocator`)."""
    global _process_ready
    parallel._limit_blas()
    allocator.keep_freed_memory()
    _process_ready = True


class Function:
    """Base of every op. Subclasses define ``forward(*arrays, **params)`` and ``backward(gy)``.

    ``backward`` returns one gradient (ndarray or None) per tensor input; broadcasting is
    undone by the engine, so an op may return the gradient in the broadcast shape.
    ``self.save(...)`` keeps what backward needs; it is dropped when the graph is freed.
    """

    # Set by apply(); a freed node has parents None.
    parents: list | None
    needs_grad: tuple[bool, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    input_dtypes: tuple[np.dtype | None, ...]
    saved: tuple
    out_ref: Any
    # (version counter, version when saved, shape, "input"/"output") per saved tensor
    watched: list[tuple[list[int], int, tuple[int, ...], str]] = []
    forward_stack: list[str]  # the forward call, kept only under detect_anomaly()

    def save(self, *arrays: Any) -> None:
        self.saved = arrays

    def forward(self, *arrays: Any, **params: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(
        self, gy: np.ndarray
    ) -> tuple[np.ndarray | None, ...] | np.ndarray | None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor | None, **params: Any) -> Tensor:
        """Run forward on the inputs' arrays and, if any input needs a gradient, link the node.

        An input may be ``None`` (an optional bias or weight): forward receives ``None`` there
        and backward's gradient for it is ignored.
        """
        fn = cls()
        if not _process_ready:
            _ready_process()
        # Known before forward, so forward can save only what the wanted gradients need (PyTorch
        # saves ``b`` of ``a * b`` only when ``a`` requires grad, and reports changes to it only then).
        enabled = grad_mode.is_grad_enabled()
        fn.needs_grad = needs = tuple(t is not None and t.requires_grad and enabled for t in inputs)
        # t._data: the array behind Tensor.data, read without the property (this is the hot path).
        arrays = [None if t is None else t._data for t in inputs]
        first = inputs[0]
        if first is None:
            first = next(t for t in inputs if t is not None)
        if len(arrays) > 1 and any(type(a) is not type(first._data) for a in arrays if a is not None):
            arrays = same_device(fn.name, inputs)
        out_arr = fn.forward(*arrays, **params)
        if isinstance(out_arr, np.generic):  # NumPy gives a scalar for 0-d input: make it the 0-d
            out_arr = _scalar_output(fn, out_arr)  # array the tensor holds, in what forward saved too
        out = first._wrap(out_arr)  # a plain Tensor (see Tensor._wrap)
        # forward may have returned a view of an input (reshape, x[i], .T): share its version counter
        if type(out_arr) is np.ndarray and out_arr.base is not None:
            src = _share_version_with_base(out, inputs)
            if src is not None:
                n_inputs = sum(t is not None for t in inputs)
                _register_view(out, src, (cls, params), n_inputs, enabled)
        if True in needs:
            # Point at the creator node of non-leaf inputs, not at the tensor itself, so
            # an intermediate array lives only as long as the user (or a save) holds it.
            fn.parents = [
                (t._ctx if t._ctx is not None else t) if t is not None and t.requires_grad else None
                for t in inputs
            ]
            for t in inputs:
                if t is not None and t._view is not None and t.requires_grad:
                    check_no_grad_view(fn.name, t)
            fn.input_shapes = tuple(() if a is None else a.shape for a in arrays)
            fn.input_dtypes = tuple(None if a is None else a.dtype for a in arrays)
            fn.out_ref = weakref.ref(out)
            out.requires_grad = True
            out._ctx = fn
            saved = fn.__dict__.get("saved")
            if saved:
                fn._watch_saved(saved, inputs, out)
            if anomaly_mode._enabled:
                fn.forward_stack = traceback.format_stack()[:-1]
        return out

    def _watch_saved(self, saved: tuple, inputs: tuple[Tensor | None, ...], out: Tensor) -> None:
        """Remember the version counter and version of every tensor (input or output) whose
        very array ``save`` kept, so that backward can refuse it if it was changed in place
        since, through itself or any view sharing its memory (as PyTorch does).

        The counter (a one-element list shared by a tensor and its views) is held, not the
        tensor: a view may outlive the tensor and still change the saved array.
        """
        watched = []
        for t in (*inputs, out):
            if t is None:
                continue
            arr = t._data
            for a in saved:
                if a is arr:
                    counter = t._version_counter()
                    watched.append((counter, counter[0], t.shape, "output" if t is out else "input"))
                    break
        if watched:
            self.watched = watched

    def check_saved_versions(self) -> None:
        """Raise PyTorch's error if a tensor saved for backward was modified in place after the
        forward (through itself, a view of it, its base, or ``detach()``)."""
        for counter, version, shape, role in self.watched:
            if counter[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: the {role} of shape {shape} saved by {self.name} is at version "
                    f"{counter[0]}; expected version {version} instead. Change a copy (x = x + 1) "
                    "instead, or do it after backward()"
                )

    def release(self) -> None:
        """Drop the links and saved arrays: the graph behind this node is freed."""
        self.parents = None
        self.saved = ()
        self.watched = []

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"
