"""Keep freed memory for the next arrays: glibc's ``malloc`` tuned once, at shendu's first op.

A training step allocates the same large arrays every step (activations, gradients, im2col
columns). With glibc's defaults, freed blocks of more than a few hundred KiB go back to the
operating system, so the next step's arrays are fresh pages that the kernel zeroes on first
touch, one 4 KiB page at a time, under a lock the threads share. On the 2-core machine that
was a fifth of a SimpleConvNet training step and more on 2 threads (benchmarks/bench_layers.py:
38 → 30 ms a step at 2 threads, 52 → 40 ms at 1). PyTorch users get the same effect by
preloading jemalloc or tcmalloc; shendu asks glibc itself, through ``mallopt``:

* ``M_MMAP_THRESHOLD`` = 32 MiB: blocks up to that size come from the heap, which is reused,
  not from a mapping of their own that is unmapped when freed;
* ``M_TRIM_THRESHOLD`` = 1 GiB: free memory at the top of the heap is kept for reuse up to that.

Peak memory does not grow (a SimpleConvNet epoch: 88 MiB before, 84 after); memory freed after a
peak stays with the process, for its next arrays, until it exits. ``SHENDU_MALLOC=default``
leaves glibc as it is; other C libraries (macOS, Windows, musl) are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory"]

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30

_state: bool | None = None  # None: not tried yet; then whether glibc took the settings


def keep_freed_memory() -> bool:
    """Tune glibc's malloc to reuse freed memory (once per process); whether it was done."""
    global _state
    if _state is None:
        _state = _tune()
    return _state


def _tune() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("SHENDU_MALLOC", "").lower() == "default":
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl's malloc has no such settings
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
