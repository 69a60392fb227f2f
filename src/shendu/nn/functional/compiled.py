"""Compiled kernels (numba, run without Python's GIL) for loops NumPy runs as many small calls.

col2im adds KH·KW strided slices of col into the image gradient: in NumPy that is KH·KW calls
per chunk of images, and each call takes the GIL to start and to finish. Threads that share out
the chunks then queue for the GIL between calls: two threads on LeNet's backward spent about a
quarter more CPU time than one. Compiled, a chunk is one call that holds no GIL. It makes the
same additions in the same order, so the bits are those of the NumPy loop
(:func:`~shendu.nn.functional.im2col.col2im_channels_last` keeps that loop, the readable
version, and uses it where no kernel is at hand).

Optional: without numba, on a GPU's arrays, for dtypes other than float32/float64, or with
``SHENDU_COMPILED=0`` in the environment, :func:`col2im_kernel` returns None. numba is imported,
and the kernels compiled (or loaded from numba's cache), on the first call only.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np

__all__ = ["col2im_kernel", "enabled"]


def col2im_kernel(gxp: Any, taps: Any) -> Callable[..., None] | None:
    """The compiled col2im for these arrays, or None (use the NumPy loop).

    Call it as ``kernel(taps, gxp, kh, kw, sh, sw, dh, dw)`` with taps: (N, OH, OW, KH, KW, C)
    and gxp: (N, Hp, Wp, C) of one dtype, any strides: for each offset (i, j) in turn,
    gxp[n, i·dh + p·sh, j·dw + q·sw, c] += taps[n, p, q, i, j, c].
    """
    if type(gxp) is not np.ndarray or type(taps) is not np.ndarray or gxp.dtype != taps.dtype:
        return None
    # C-ordered arrays (the usual case) get a version whose channel loop is vectorised
    contiguous = gxp.flags.c_contiguous and taps.flags.c_contiguous
    return _kernel(_col2im, str(gxp.dtype), contiguous, 6, 4)


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


_lock = threading.Lock()
_module: list[Any] = []  # [numba] once imported, [None] when not available or switched off
_compiled: dict[tuple[str, str, bool], Callable[..., None]] = {}


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


def _kernel(fn: Callable[..., None], dtype: str, contiguous: bool, *ndims: int) -> Callable[..., None] | None:
    """``fn`` compiled for arrays of ``dtype`` with these numbers of axes, C-ordered (``contiguous``)
    or of any strides, then int64 arguments; once per process (numba keeps the machine code on
    disk). None without numba."""
    if dtype not in ("float32", "float64"):
        return None
    key = (fn.__name__, dtype, contiguous)
    kernel = _compiled.get(key)
    if kernel is None:
        numba = _numba()
        if numba is None:
            return None
        n_ints = fn.__code__.co_argcount - len(ndims)
        last = "::1" if contiguous else ":"
        arrays = ", ".join(f"{dtype}[{', '.join([':'] * (nd - 1) + [last])}]" for nd in ndims)
        signature = f"void({arrays}, {', '.join(['int64'] * n_ints)})"
        with _lock:
            kernel = _compiled.get(key) or numba.njit(signature, nogil=True, cache=True)(fn)
            _compiled[key] = kernel
    return kernel
