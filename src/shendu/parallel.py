"""The one place that owns shendu's threads: ``set_num_threads`` / ``get_num_threads`` and a pool.

NumPy runs each operation on one core (only its BLAS matrix products may be threaded), but it
releases Python's GIL inside large copies, ufuncs and BLAS calls. So Python threads that each
take a slice of the work — a few images of the batch, a band of a matrix product — do run at the
same time, on as many cores as there are threads. That is how shendu's kernels go parallel.

Three rules every parallel kernel keeps:

* **n threads in all.** The calling thread and a pool of n − 1 helpers share a kernel's pieces.
  NumPy's BLAS is set to ONE thread (through threadpoolctl) the first time shendu runs a kernel:
  a product big enough to share is split by :func:`matmul` over the pool instead, so BLAS
  threads and shendu's never add up to more than n (no oversubscription).
* **Same bits whatever n.** Work is cut into pieces chosen from the shapes alone, never from
  the thread count; each piece is computed by the same NumPy calls whichever thread runs it,
  and pieces that add into one result are added in piece order. One thread or sixteen, a
  training run gives identical weights.
* **A plain version beside each kernel.** The readable NumPy code (what a learner reads, e.g.
  ``im2col_reference``) stays next to the fast kernel, and tests check they agree bit for bit.

>>> import shendu
>>> shendu.set_num_threads(2); shendu.get_num_threads()
2
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from shendu import compiled

__all__ = [
    "cores",
    "get_num_threads",
    "set_num_threads",
    "share_cores",
    "run",
    "pieces",
    "row_pieces",
    "matmul",
    "product",
    "sum_in_order",
    "column_sums",
    "constant_run",
    "elementwise",
    "binary",
    "memory_run",
    "copyto",
]

T = TypeVar("T")

_lock = threading.Lock()
_num_threads: int | None = None  # None: not chosen yet, the cores this process may use
_pool: _Pool | None = None
_blas_limited = False
_local = threading.local()  # .inside: this thread is running a piece (nested kernels run in place)

# A matrix product is split into bands of at least this many multiply-adds (~0.15 ms on one
# core; handing a band to a thread costs ~20 µs) and at least MATMUL_MIN_BAND rows or columns
# (narrower bands run BLAS well below its best: measured 32 wide → 75–85%, 64 → 85–95% of a whole product).
MATMUL_BAND_WORK = 1 << 23
MATMUL_MIN_BAND = 48
MATMUL_BLOCK = 8  # band widths are whole blocks of this many rows or columns (a vector of float32s)
# Element-wise work is split into pieces of at least this many elements (smaller ones cost more
# to hand out than to compute). Element-wise results do not depend on how they are split.
ELEMENTWISE_PIECE = 1 << 16
# Reads of a counter a waiting thread makes before it sleeps (see _Helper), a sched_yield() after
# each: ~3 ms on the 2-core VM, longer than the Python between two kernels of a training step.
SPIN_TRIES = 4096


def cores() -> int:
    """The cores this process may run on (its CPU affinity), as PyTorch's default."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _env_threads() -> int | None:
    """``$OMP_NUM_THREADS`` when it is a positive integer (PyTorch's default honours it too)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def get_num_threads() -> int:
    """The number of threads shendu's kernels use: the last ``set_num_threads``, else
    ``$OMP_NUM_THREADS``, else the cores this process may use (PyTorch's order)."""
    if _num_threads is not None:
        return _num_threads
    return _env_threads() or cores()


def share_cores(processes: int) -> None:
    """Give this process ``cores // processes`` threads (at least one) when ``processes`` ranks
    share the machine and neither ``set_num_threads`` nor ``$OMP_NUM_THREADS`` chose a number:
    ranks that each take every core would ask for ``processes`` times the cores there are."""
    if processes > 1 and _num_threads is None and _env_threads() is None:
        set_num_threads(max(1, cores() // processes))


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for shendu's kernels, as ``torch.set_num_threads``.

    NumPy's BLAS is kept at one thread (shendu splits large products itself), so the process
    runs at most ``n`` busy threads. Results are the same, bit for bit, for every ``n``.
    """
    global _num_threads, _pool
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    with _lock:
        if _pool is not None and n != get_num_threads():
            _pool.shutdown()
            _pool = None
        _num_threads = int(n)
    _limit_blas()


def _limit_blas() -> None:
    """Set NumPy's BLAS to one thread, once (threadpoolctl). PyTorch's libraries are left alone."""
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency; without it BLAS keeps its threads
        return
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    controller = ThreadpoolController().select(user_api="blas")
    own = [lib for lib in controller.lib_controllers if _is_numpy_lib(lib.filepath, numpy_dir)]
    for lib in own or controller.lib_controllers:
        lib.set_num_threads(1)


def _is_numpy_lib(path: str, numpy_dir: str) -> bool:
    """Whether a loaded BLAS belongs to NumPy: inside the package or its wheel's ``numpy.libs``
    beside it (SciPy's and PyTorch's own BLAS sit in other folders of the same site-packages)."""
    path = os.path.realpath(path)
    root = os.path.realpath(numpy_dir)
    return any(path.startswith(os.path.join(root, d) + os.sep) for d in ("numpy", "numpy.libs"))


class _Helper:
    """One persistent helper thread, handed a task through two locks (one wake-up each way).

    A ``concurrent.futures`` pool costs a Future, a queue and a condition per task: ~70 µs a
    hand-off on the 2-core VM against ~25 µs for this, and a kernel has many hand-offs.

    Before sleeping on a lock, each side polls a counter for up to SPIN_TRIES reads without the
    GIL (``compiled.spin_kernel``; skipped without numba): the helper for its next task, the
    caller for the helper's end. The locks alone decide who runs what; the polling only keeps a
    core awake between the kernels of a step, as OpenMP's threads do.
    """

    def __init__(self, name: str, counters: _Counters, index: int) -> None:
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._task: Callable[[], None] | None = None
        self._counters, self._index = counters, index
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        counters, i = self._counters, self._index
        taken = 0  # tasks taken so far: go[i] > taken means the next one is handed over already
        while True:
            counters.wait(counters.go, i, taken)
            self._go.acquire()
            taken += 1
            task = self._task
            if task is None:  # stop()
                return
            try:
                task()
            finally:
                counters.done[i] += 1
                self._done.release()

    def start(self, task: Callable[[], None]) -> None:
        self._task = task
        self._counters.go[self._index] += 1
        self._go.release()

    def wait(self) -> BaseException | None:
        """Until the task has finished, even through a Ctrl-C (returned, for the caller to raise):
        a helper left running would release ``_done`` into the next kernel's hand-off."""
        # every earlier task has finished (its wait came first): this one is done at done == go
        counters, i = self._counters, self._index
        counters.wait(counters.done, i, counters.go[i] - 1)
        interrupted: BaseException | None = None
        while True:
            try:
                self._done.acquire()
                return interrupted
            except BaseException as error:  # noqa: BLE001 - returned
                interrupted = error

    def stop(self) -> None:
        self._task = None
        self._counters.go[self._index] += 1
        self._go.release()
        self._thread.join()


class _Counters:
    """Per helper: how many tasks it was handed (``go``) and has finished (``done``), each
    written by one thread only, and the compiled poll that waits for one to move."""

    def __init__(self, helpers: int) -> None:
        self.go = np.zeros(max(1, helpers), np.int64)
        self.done = np.zeros(max(1, helpers), np.int64)
        self.spin: Any = _UNRESOLVED

    def wait(self, counters: np.ndarray, i: int, seen: int) -> None:
        """Poll counters[i] until it differs from ``seen``, at most SPIN_TRIES reads. Only once
        another compiled kernel has loaded numba (a training step's backward does): loading it
        for this alone would cost a one-off forward (``shendu predict``) a second."""
        spin = self.spin
        if spin is _UNRESOLVED:
            if not compiled.loaded():
                return
            spin = self.spin = compiled.spin_kernel()
        if spin is not None and SPIN_TRIES > 0:
            spin(counters, i, int(seen), SPIN_TRIES)


_UNRESOLVED = object()


class _Pool:
    """n − 1 helpers; the calling thread is the n-th (see :func:`run`)."""

    def __init__(self, helpers: int) -> None:
        counters = _Counters(helpers)
        self.helpers = [_Helper(f"shendu_{i}", counters, i) for i in range(helpers)]
        self.busy = threading.Lock()  # held by the thread whose kernel has the helpers

    def shutdown(self) -> None:
        with self.busy:  # after the kernel in flight, if any
            for helper in self.helpers:
                helper.stop()


def _wait_all(helpers: list[_Helper]) -> None:
    """Wait for every helper, then raise the first interruption (Ctrl-C) met while waiting."""
    interrupted = [e for e in (helper.wait() for helper in helpers) if e is not None]
    if interrupted:
        raise interrupted[0]


def _get_pool() -> _Pool:
    """The n − 1 helper threads (the calling thread is the n-th: it works too, see :func:`run`)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = _Pool(get_num_threads() - 1)
        return _pool


def _forget_pool() -> None:
    """In a forked child: the parent's helper threads do not exist there; start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``[fn(item) for item in items]``, the items shared among the pool's threads.

    The calling thread and up to n − 1 helpers each take the next item not yet taken until none
    is left (a slow or busy core simply takes fewer), so one kernel costs n − 1 hand-offs, not
    one per item. Runs in the calling thread alone when there is one thread, one item, when
    called from a piece already running on the pool (a nested kernel: the pool is busy with the
    outer one), or while another thread's kernel has the pool (a server's request threads).
    Results come back in the items' order; the first exception propagates, once every thread
    has stopped (the others take no new item after it).
    """
    _limit_blas()
    if len(items) <= 1 or get_num_threads() == 1 or getattr(_local, "inside", False):
        return [fn(item) for item in items]
    results: list[Any] = [None] * len(items)
    taken = itertools.count()  # next() on it is atomic under the GIL: each item goes to one thread
    failed: list[BaseException] = []

    def work() -> None:
        _local.inside = True
        try:
            for i in iter(taken.__next__, None):
                if i >= len(items) or failed:
                    return
                results[i] = fn(items[i])
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            failed.append(error)
        finally:
            _local.inside = False

    pool = _get_pool()
    if not pool.busy.acquire(blocking=False):  # another thread's kernel has the helpers
        return [fn(item) for item in items]
    started = []
    try:
        for helper in pool.helpers[: min(get_num_threads(), len(items)) - 1]:
            helper.start(work)
            started.append(helper)
        work()
    finally:
        try:
            _wait_all(started)
        finally:
            pool.busy.release()
    if failed:
        raise failed[0]
    return results


def sum_in_order(parts: Sequence[np.ndarray]) -> np.ndarray:
    """parts[0] + parts[1] + … added in that order (the same bits whatever the threads), into a
    new array; the elements are shared among the threads (each element's sum is unchanged)."""
    total = np.array(parts[0], copy=True, order="C")
    flat = total.reshape(-1)
    rest = [np.ascontiguousarray(p).reshape(-1) for p in parts[1:]]

    def add(s: slice) -> None:
        for p in rest:
            flat[s] += p[s]

    if rest:
        run(add, row_pieces(flat.size, 1))
    return total


def elementwise(fn: Callable[..., Any], out: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
    """``fn(*arrays, out=out)`` with ``out``'s outermost axis in memory shared among the threads
    (the batch; for one image of a channels-last array, its rows): ``fn`` must compute each
    element from the same elements of ``arrays`` alone (a ufunc expression), so the result has
    the same bits however it is cut, and any memory layout works. Small arrays, or arrays of
    other shapes, run in one call."""
    axis = _outer_axis(out)
    if (
        axis is None
        or not worth_sharing(out.size)
        or any(type(a) is not np.ndarray or a.shape != out.shape for a in arrays)
    ):
        fn(*arrays, out=out)
        return out
    lead = (slice(None),) * axis

    def piece(s: slice) -> None:
        fn(*(a[lead + (s,)] for a in arrays), out=out[lead + (s,)])

    run(piece, row_pieces(out.shape[axis], out.size // out.shape[axis]))
    return out


def binary(ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """``ufunc(a, b)`` into a new array (``a + b`` for np.add), the rows shared among the threads
    when a and b are large NumPy arrays of one shape, dtype and layout (the same strides), their
    elements one run of memory (:func:`memory_run`):
    then the result has that layout, as NumPy's own. Anything else is one NumPy call."""
    if (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.shape == b.shape
        and a.dtype == b.dtype
        and a.strides == b.strides
        and worth_sharing(a.size)
        and memory_run(a) is not None
    ):
        return elementwise(ufunc, np.empty_like(a), a, b)
    return ufunc(a, b)


def memory_run(a: Any) -> np.ndarray | None:
    """A NumPy array's elements in memory order as a 1-D view, or None if they are not one
    contiguous run (or ``a`` is a GPU's array)."""
    if type(a) is not np.ndarray:
        return None
    t = a.transpose(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i])))
    return t.reshape(-1) if t.flags.c_contiguous else None


def _outer_axis(a: Any) -> int | None:
    """The axis of ``a`` (of two elements or more) with the largest stride: cutting it gives
    pieces that are each one stretch of memory. None for a non-NumPy array or a single element."""
    if type(a) is not np.ndarray:
        return None
    axes = [i for i in range(a.ndim) if a.shape[i] > 1]
    return max(axes, key=lambda i: abs(a.strides[i])) if axes else None


def copyto(out: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``out[...] = a`` (same shape, any layouts) with the rows shared among the threads."""
    return elementwise(_copy_into, out, a)


def _copy_into(a: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, a)


def row_pieces(rows: int, row_size: int) -> list[slice]:
    """[0, rows) cut into pieces of whole rows (``row_size`` elements each) for work whose result
    does not depend on the cut: about one piece per thread, none under ELEMENTWISE_PIECE elements."""
    elements = max(ELEMENTWISE_PIECE, -(-rows * row_size // get_num_threads()))
    return pieces(rows, max(1, -(-elements // row_size)))


def pieces(total: int, size: int) -> list[slice]:
    """[0, total) cut into consecutive slices of ``size`` (the last may be shorter)."""
    size = max(1, size)
    return [slice(i, min(i + size, total)) for i in range(0, total, size)]


def worth_sharing(elements: int) -> bool:
    """Whether element-wise work on this many elements is worth sharing among the threads now:
    2·ELEMENTWISE_PIECE or more (below that a hand-off costs about what it saves), and a free pool."""
    return elements >= 2 * ELEMENTWISE_PIECE and workers_idle()


def shares_rows(a: Any) -> bool:
    """Whether work over the rows (first axis) of ``a`` is worth sharing among the threads now: a
    NumPy array of two rows or more and at least 2·ELEMENTWISE_PIECE elements, and a free pool."""
    return type(a) is np.ndarray and a.ndim > 0 and a.shape[0] > 1 and worth_sharing(a.size)


def workers_idle() -> bool:
    """Whether a kernel called now may use the pool (it is not itself running on the pool)."""
    return get_num_threads() > 1 and not getattr(_local, "inside", False)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, split: bool = True) -> np.ndarray:
    """``a @ b`` for 2-D arrays, split into bands of rows (or columns) over the pool.

    ``split=False`` makes it one BLAS call (for a caller that already shares out its work
    by other means; it must decide from the shapes too). The bands depend on the shapes only,
    and each is one single-threaded BLAS call, so the result is the same whatever the number
    of threads. (It may differ in the last bit from one
    unsplit ``a @ b``: BLAS blocks a product by its size. ``matmul_reference`` computes the same
    bands one after another.)
    """
    if type(a) is not np.ndarray or type(b) is not np.ndarray:  # a GPU's arrays: its own product
        return a @ b if out is None else np.matmul(a, b, out=out)
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    bands = matmul_bands(m, k, n) if split else None
    if bands is None:
        return product(a, b, out)
    along_rows, cuts = bands

    def band(s: slice) -> None:
        if along_rows:
            product(a[s], b, out[s])
        else:
            product(a, b[:, s], out[:, s])

    run(band, cuts)
    return out


def matmul_bands(m: int, k: int, n: int) -> tuple[bool, list[slice]] | None:
    """How :func:`matmul` splits an (m, k)·(k, n) product: (along rows?, bands), or None (whole).

    The longer side is cut into as many bands as keep each at least MATMUL_BAND_WORK
    multiply-adds and about MATMUL_MIN_BAND wide, of nearly equal widths (cuts on whole
    MATMUL_BLOCKs): from the shapes only.
    """
    along_rows = m >= n
    length = m if along_rows else n
    bands = min(m * k * n // MATMUL_BAND_WORK, length // MATMUL_MIN_BAND)
    if bands < 2:
        return None
    cuts = [round(i * length / bands / MATMUL_BLOCK) * MATMUL_BLOCK for i in range(bands)] + [length]
    return along_rows, [slice(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def matmul_reference(a: np.ndarray, b: np.ndarray, split: bool = True) -> np.ndarray:
    """The plain version of :func:`matmul`: the same bands, one after another, in one thread."""
    bands = matmul_bands(a.shape[0], a.shape[1], b.shape[1]) if split else None
    if bands is None:
        return product(a, b)
    along_rows, cuts = bands
    if along_rows:
        return np.concatenate([product(a[s], b) for s in cuts], axis=0)
    return np.concatenate([product(a, b[:, s]) for s in cuts], axis=1)


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for NumPy arrays (a: (m, k) or (k,), b: (k, n)), as one BLAS call that lets go
    of the GIL, so that the threads' products run side by side.

    ``np.matmul`` keeps the GIL for a product of up to ~500 outputs (NumPy's threshold for
    releasing it), however long the product: a weight gradient such as (6, 5488)·(5488, 25),
    or the 1ᵀ·a of :func:`column_sums`, then runs one thread at a time. ``np.dot`` makes the
    same BLAS call (the same bits) and always lets go. Operands of two dtypes or not in one
    stretch of memory, or an ``out`` that is not C-contiguous of their dtype, go through
    ``np.matmul``: np.dot would cast or copy them (other bits), or refuse the ``out``.
    """
    if (
        a.dtype != b.dtype
        or not (_one_stretch(a) and _one_stretch(b))
        or (out is not None and not (out.flags.c_contiguous and out.dtype == a.dtype))
    ):
        return np.matmul(a, b, out=out)
    return np.dot(a, b, out=out)


def _one_stretch(a: np.ndarray) -> bool:
    return a.flags.c_contiguous or a.flags.f_contiguous


def column_sums(a: Any) -> Any:
    """Σ over the rows of a 2-D array a: (R, C) -> (C,), as one product 1ᵀ·a (BLAS, one thread).

    ``a.sum(axis=0)`` adds row after row in NumPy's inner loop, one short call per row: for the
    narrow matrices of bias gradients and BatchNorm (C = 6 … 512) the product is 2–10× faster.
    Its order depends on the shape only, so the bits do not depend on the thread count. A GPU's
    arrays, and integer ones, use their own ``sum``."""
    if type(a) is not np.ndarray or a.dtype.kind not in "fc":
        return a.sum(axis=0)
    return product(constant_run(1, a.shape[0], a.dtype), a)


_constant_runs: dict[tuple[int, np.dtype], np.ndarray] = {}


def constant_run(value: int, n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only run of n copies of ``value`` in this dtype (the ones of :func:`column_sums`,
    the zeros ReLU takes the max against): a view of one cached array, grown as needed."""
    key = (value, np.dtype(dtype))
    run = _constant_runs.get(key)
    if run is None or run.size < n:
        run = np.full(max(n, 2 * (0 if run is None else run.size)), value, dtype)
        run.flags.writeable = False
        _constant_runs[key] = run  # one assignment: threads see the old run or the new, both whole
    return run[:n]
