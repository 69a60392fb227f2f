"""Compiled kernels (numba, run without Python's GIL) for loops NumPy runs as many small calls.

col2im adds KH·KW strided slices of col into the image gradient: in NumPy that is KH·KW calls
per chunk of images, and each call takes the GIL to start and to finish. Threads that share out
the chunks then queue for the GIL between calls: two threads on LeNet's backward spent about a
quarter more CPU time than one. Compiled, a chunk is one call that holds no GIL. It makes the
same additions in the same order, so the bits are those of the NumPy loop
(:func:`~shendu.nn.functional.im2col.col2im_channels_last` keeps that loop, the readable
version, and uses it where no kernel is at hand).

ReLU, forward and gradient: one select per element (NumPy's max against zeros is a call per
run of 32K elements, each taking the GIL; compiled, a piece is one call, twice as fast). The
gradient (where NumPy needs a mask array, then a product that
turns an infinite G at y ≤ 0 into NaN, or ``np.where``, three times slower).

Max pooling's gradient likewise: NumPy's takes KH·KW strided writes per piece of the batch (or
an unbuffered scatter-add where windows overlap); compiled, a piece is one call that adds each
window's G at its argmax, windows in (p, q) order: the scatter-add's bits. Windows apart, and
overlapping ones of up to 16 taps, take G-or-0 at every tap instead, which vectorises over the
channels (3×3 windows: 2x faster than the scatter).

Max pooling's forward, for the 2×2 and 3×3 windows of the course's networks: NumPy's separable
passes read and write the batch ~15 times; compiled, each window is read once, its taps written
out so that the channel loop is the innermost loop and is vectorised (a loop over the taps kept
the scan scalar and slower than NumPy: 6–9 ms against 5 for SimpleConvNet's pool; written out,
0.5 ms). It keeps the first maximum in row-major order, as the passes do, and reports whether
it met a NaN, for the caller to redo those images with the passes (NaN wins there, as in PyTorch).

Waiting: a thread of shendu's pool that has finished its piece polls a counter for a while
(:func:`spin_kernel`, without the GIL) before it sleeps on a lock, as OpenMP's threads do. On a
virtual machine a sleeping thread's core halts, and waking it for the next kernel costs tens of
microseconds and a cold cache, dozens of times a training step.

Optional: without numba, on a GPU's arrays, for dtypes other than float32/float64, or with
``SHENDU_COMPILED=0`` in the environment, the ``*_kernel`` functions return None. numba is
imported, and the kernels compiled (or loaded from numba's cache), on first use only.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

import numpy as np

__all__ = [
    "col2im_kernel",
    "enabled",
    "loaded",
    "max_pool_grad_kernel",
    "max_pool_grad_taps_kernel",
    "max_pool_kernel",
    "relu_grad_kernel",
    "relu_kernel",
    "spin_kernel",
]


def col2im_kernel(gxp: Any, taps: Any) -> Callable[..., None] | None:
    """The compiled col2im for these arrays, or None (use the NumPy loop).

    Call it as ``kernel(taps, gxp, kh, kw, sh, sw, dh, dw)`` with taps: (N, OH, OW, KH, KW, C)
    and gxp: (N, Hp, Wp, C) of one dtype, any strides: for each offset (i, j) in turn,
    gxp[n, i·dh + p·sh, j·dw + q·sw, c] += taps[n, p, q, i, j, c].
    """
    return _kernel(_col2im, [(taps, 6), (gxp, 4)])


def max_pool_grad_kernel(gy: Any, place: Any, gp: Any) -> Callable[..., None] | None:
    """The compiled max-pooling gradient for these arrays, or None. ``kernel(gy, place, gp, kh,
    kw, sh, sw, dh, dw)``, all indexed (N, H, W, C): gp[n, p·sh + i·dh, q·sw + j·dw, c] +=
    gy[n, p, q, c] at each window's place i·kw + j, windows in (p, q) order (gp zeroed first)."""
    return _kernel(_max_pool_grad, [(gy, 4), (place, 4), (gp, 4)])


def max_pool_grad_taps_kernel(gy: Any, place: Any, gp: Any) -> Callable[..., None] | None:
    """As :func:`max_pool_grad_kernel`, tap by tap: ``kernel(gy, place, gp, kh, kw, sh, sw, dh, dw,
    add)`` gives every tap of every window G where it is the argmax, else 0, over the channels
    (vectorised). add = 0 writes it (windows that never overlap: gp need not be zeroed where
    they cover it); add = 1 adds it to a zeroed gp (overlapping windows of few taps: each pixel
    gets its windows' G in (p, q) order, and the +0.0 adds keep the scatter-add's bits, as a
    sum from +0.0 is never −0.0)."""
    return _kernel(_max_pool_grad_taps, [(gy, 4), (place, 4), (gp, 4)])


def max_pool_kernel(xp: Any, y: Any, place: Any, kernel: tuple[int, int]) -> Callable[..., bool] | None:
    """The compiled max pooling (with each window's argmax) for these C-contiguous (N, H, W, C)
    arrays and a 2×2 or 3×3 window, or None. ``kernel(xp, y, place, sh, sw, dh, dw)`` writes
    y[n, p, q, c] = the first maximum, in row-major order, of the window at (p·sh, q·sw) of xp,
    and place = its tap i·KW + j (int8); it returns whether any tap was NaN (then y and place
    are not PyTorch's there: redo those images). Only once numba is loaded, as :func:`relu_kernel`."""
    fn = _MAX_POOL.get(kernel)
    arrays = [(xp, 4), (y, 4), (place, 4)]
    if fn is None or not loaded() or place.dtype != np.int8:
        return None
    if not all(a.flags.c_contiguous for a, _ in arrays):  # the channel loop must be one run to vectorise
        return None
    return _kernel(fn, arrays, returns="boolean")


def relu_kernel(x: Any, out: Any) -> Callable[..., None] | None:
    """The compiled ReLU for these 1-D arrays, or None: ``kernel(x, out)`` writes out[i] =
    max(x[i], 0) with np.maximum's bits (NaN kept, −0.0 becomes +0.0). Only once numba is loaded
    (a training step's backward loads it): a forward alone (``shendu predict``) never pays
    numba's import for it."""
    if not loaded():
        return None
    return _kernel(_relu, [(x, 1), (out, 1)])


def relu_grad_kernel(gy: Any, y: Any, out: Any) -> Callable[..., None] | None:
    """The compiled ReLU gradient for these 1-D arrays, or None: ``kernel(gy, y, out)`` writes
    out[i] = 0 where y[i] ≤ 0, else gy[i] (one pass, no mask array; NaN in y passes gy)."""
    return _kernel(_relu_grad, [(gy, 1), (y, 1), (out, 1)])


def spin_kernel() -> Callable[..., bool] | None:
    """The compiled wait, or None: ``spin(counters, i, seen, tries)`` reads counters[i] (int64)
    up to ``tries`` times, without the GIL, and returns whether it changed from ``seen``. Each
    read is an atomic acquire load (the compiler cannot keep the value in a register), and
    between reads the thread offers its core to any other that is ready (``sched_yield``)."""
    key = ("_spin", (), True)
    kernel = _compiled.get(key)
    if kernel is None:
        numba = _numba()
        if numba is None or sys.platform == "win32":  # no sched_yield there
            return None
        with _lock:
            kernel = _compiled.get(key)
            if kernel is None:
                _define_load_acquire(numba)
                types = numba.types
                signature = types.boolean(types.Array(types.int64, 1, "C"), *[types.int64] * 3)
                kernel = _compiled[key] = _jit(numba, _spin, signature)
    return kernel


# numba's atomic load (an intrinsic) and the C library's sched_yield, defined with the spin kernel
_load_acquire: Any = None
_sched_yield: Any = None


def _define_load_acquire(numba: Any) -> None:
    global _load_acquire, _sched_yield
    if _load_acquire is not None:
        return
    _sched_yield = numba.types.ExternalFunction("sched_yield", numba.types.int32())
    from numba.core import cgutils
    from numba.extending import intrinsic

    def load_acquire(typingctx, array, index):  # noqa: ANN001, ANN202 - numba's intrinsic protocol
        def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
            return builder.load_atomic(ptr, "acquire", aryty.dtype.bitwidth // 8)

        return array.dtype(array, index), codegen

    _load_acquire = intrinsic(load_acquire)


def loaded() -> bool:
    """Whether numba is imported and a kernel compiled already (without importing anything)."""
    return bool(_module) and _module[0] is not None and bool(_compiled)


def enabled() -> bool:
    """Whether compiled kernels are used: numba imports and ``SHENDU_COMPILED`` is not ``0``."""
    return _numba() is not None


def _col2im(taps, gxp, kh, kw, sh, sw, dh, dw):  # pragma: no cover - runs compiled
    n, oh, ow, c = taps.shape[0], taps.shape[1], taps.shape[2], taps.shape[5]
    for i in range(kh):  # offsets outermost: each element gets its terms in the NumPy loop's order
        for j in range(kw):
            for b in range(n):
                for p in range(oh):
                    h = i * dh + p * sh
                    for q in range(ow):
                        dst, src = gxp[b, h, j * dw + q * sw], taps[b, p, q, i, j]
                        for ch in range(c):
                            dst[ch] += src[ch]


def _max_pool_2x2(xp, y, place, sh, sw, dh, dw):  # pragma: no cover - runs compiled
    n, oh, ow, c = y.shape
    nan = False
    for b in range(n):
        for p in range(oh):
            h0, h1 = p * sh, p * sh + dh
            for q in range(ow):
                w0, w1 = q * sw, q * sw + dw
                t0, t1, t2, t3 = xp[b, h0, w0], xp[b, h0, w1], xp[b, h1, w0], xp[b, h1, w1]
                out, arg = y[b, p, q], place[b, p, q]
                for ch in range(c):  # strict >: ties keep the first tap
                    m, k = t0[ch], 0
                    seen = m != m
                    v = t1[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 1
                    v = t2[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 2
                    v = t3[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 3
                    nan |= seen
                    out[ch], arg[ch] = m, k
    return nan


def _max_pool_3x3(xp, y, place, sh, sw, dh, dw):  # pragma: no cover - runs compiled
    n, oh, ow, c = y.shape
    nan = False
    for b in range(n):
        for p in range(oh):
            r0, r1, r2 = xp[b, p * sh], xp[b, p * sh + dh], xp[b, p * sh + 2 * dh]
            for q in range(ow):
                w0, w1, w2 = q * sw, q * sw + dw, q * sw + 2 * dw
                t0, t1, t2 = r0[w0], r0[w1], r0[w2]
                t3, t4, t5 = r1[w0], r1[w1], r1[w2]
                t6, t7, t8 = r2[w0], r2[w1], r2[w2]
                out, arg = y[b, p, q], place[b, p, q]
                for ch in range(c):  # strict >: ties keep the first tap
                    m, k = t0[ch], 0
                    seen = m != m
                    v = t1[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 1
                    v = t2[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 2
                    v = t3[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 3
                    v = t4[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 4
                    v = t5[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 5
                    v = t6[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 6
                    v = t7[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 7
                    v = t8[ch]
                    seen |= v != v
                    if v > m:
                        m, k = v, 8
                    nan |= seen
                    out[ch], arg[ch] = m, k
    return nan


_MAX_POOL = {(2, 2): _max_pool_2x2, (3, 3): _max_pool_3x3}


def _spin(counters, i, seen, tries):  # pragma: no cover - runs compiled
    for _ in range(tries):
        if _load_acquire(counters, i) != seen:
            return True
        _sched_yield()
    return False


def _relu(x, out):  # pragma: no cover - runs compiled
    zero = out.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        out[i] = v if v > zero or v != v else zero  # NaN passes; −0.0 and 0.0 give +0.0


def _relu_grad(gy, y, out):  # pragma: no cover - runs compiled
    zero = out.dtype.type(0)
    for i in range(gy.size):
        out[i] = zero if y[i] <= 0 else gy[i]


def _max_pool_grad_taps(gy, place, gp, kh, kw, sh, sw, dh, dw, add):  # pragma: no cover - runs compiled
    n, oh, ow, c = gy.shape
    zero = gp.dtype.type(0)
    for b in range(n):
        for p in range(oh):
            for q in range(ow):
                g, arg = gy[b, p, q], place[b, p, q]
                for i in range(kh):
                    for j in range(kw):
                        out, t = gp[b, p * sh + i * dh, q * sw + j * dw], i * kw + j
                        # G is loaded whatever the place: a load under the condition kept this
                        # loop scalar, 4x slower. 0 + G: the scatter-add's bits (−0.0 becomes +0.0).
                        if add:
                            for ch in range(c):
                                v = g[ch]
                                out[ch] += v if arg[ch] == t else zero
                        else:
                            for ch in range(c):
                                v = zero + g[ch]
                                out[ch] = v if arg[ch] == t else zero


def _max_pool_grad(gy, place, gp, kh, kw, sh, sw, dh, dw):  # pragma: no cover - runs compiled
    n, oh, ow, c = gy.shape
    rows, cols = np.empty(kh * kw, np.int64), np.empty(kh * kw, np.int64)  # place -> (i·dh, j·dw)
    for t in range(kh * kw):  # a table, not a division per element
        rows[t], cols[t] = (t // kw) * dh, (t % kw) * dw
    for b in range(n):
        for p in range(oh):
            for q in range(ow):
                g, arg, h, w = gy[b, p, q], place[b, p, q], p * sh, q * sw
                for ch in range(c):
                    gp[b, h + rows[arg[ch]], w + cols[arg[ch]], ch] += g[ch]


_lock = threading.Lock()
_module: list[Any] = []  # [numba] once imported, [None] when not available or switched off
_compiled: dict[tuple[str, tuple[tuple[np.dtype, int, bool], ...], bool], Callable[..., Any]] = {}
_FLOATS = {np.dtype(np.float32), np.dtype(np.float64)}


def _numba() -> Any:
    if not _module:
        with _lock:
            if not _module:
                _module.append(_import_numba())
    return _module[0]


def _import_numba() -> Any:
    if os.environ.get("SHENDU_COMPILED", "1") == "0":
        return None
    try:
        import numba
    except ImportError:  # an optional speed-up: the NumPy loops give the same bits
        return None
    return numba


def _kernel(
    fn: Callable[..., Any], arrays: list[tuple[np.ndarray, int]], returns: str = "void"
) -> Callable[..., Any] | None:
    """``fn`` compiled for these (array, number of axes) arguments, then int64 ones, returning
    the numba type named ``returns``; float arrays
    must be float32 or float64 (and all of one type), others integers. Once per process and kind
    of arguments (numba keeps the machine code on disk); None without numba. All C-ordered
    arrays (the usual case) get a version whose channel loops are vectorised, others one for
    any strides; read-only inputs (a broadcast gradient) are typed so."""
    if any(type(a) is not np.ndarray for a, _ in arrays):  # a GPU's arrays: no kernel
        return None
    floats = {a.dtype for a, _ in arrays if a.dtype.kind == "f"}  # dtypes, not str(): called per chunk
    if len(floats) != 1 or not floats <= _FLOATS:
        return None
    if any(a.dtype.kind not in "fiu" for a, _ in arrays):
        return None
    contiguous = all(a.flags.c_contiguous for a, _ in arrays)
    kinds = tuple((a.dtype, nd, a.flags.writeable) for a, nd in arrays)
    key = (fn.__name__, kinds, contiguous)
    kernel = _compiled.get(key)
    if kernel is None:
        numba = _numba()
        if numba is None:
            return None
        types = numba.types
        layout = "C" if contiguous else "A"
        args = [types.Array(getattr(types, str(d)), nd, layout, readonly=not w) for d, nd, w in kinds]
        args += [types.int64] * (fn.__code__.co_argcount - len(arrays))
        with _lock:
            kernel = _compiled.get(key) or _jit(numba, fn, getattr(types, returns)(*args))
            _compiled[key] = kernel
    return kernel


def _jit(numba: Any, fn: Callable[..., Any], signature: Any) -> Callable[..., Any]:
    """``fn`` compiled now for ``signature``, its machine code kept in numba's disk cache, or
    kept in memory only where no cache directory can be written (a read-only install)."""
    try:
        return numba.njit(signature, nogil=True, cache=True)(fn)
    except (RuntimeError, OSError):  # numba: "cannot cache function ...: no locator available"
        return numba.njit(signature, nogil=True)(fn)
