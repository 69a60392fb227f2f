"""DataLoader: walk a dataset in mini-batches, every sample exactly once per epoch.

One optimiser step per batch makes the course's three kinds of gradient descent the same loop:
``batch_size=len(dataset)`` is batch gradient descent, ``batch_size=1`` stochastic gradient descent,
anything between mini-batch gradient descent.

Each epoch visits a permutation of the dataset (never sampling with replacement), so an epoch
sees every sample once. Array-backed datasets (:class:`TensorDataset`, :class:`ArrayDataset` and
:class:`Subset` of them) are batched by fancy-indexing the whole arrays, ``images[idx]``, one
NumPy call per batch; other datasets, and subclasses that override ``__getitem__``, fall back to
``dataset[i]`` per sample, then :func:`default_collate` (or your ``collate_fn``).

Workers (``num_workers > 0``) are threads, not processes: nothing is pickled between processes,
and NumPy, PIL and file reads release the GIL, which is where per-sample loading spends its time.
As in PyTorch, batch ``k`` is loaded by worker ``k % num_workers`` and the batches come back in
order; each worker draws from its own generator seeded with ``base_seed + worker_id`` (the base
seed is drawn from the loader's generator every epoch), so random transforms inside
``__getitem__`` give the same results for the same seed whatever the threads' timing.

Reproducibility and resuming: with ``seed`` the order (and the random draws of ``transform``) of
epoch ``e`` comes from a generator seeded with ``(seed, e)``, whatever happened before. The loader
counts its epochs: the ``k``-th ``iter(loader)`` (from 0) is epoch ``k``. A run resumed after ``k``
finished epochs calls ``loader.set_epoch(k)`` and then sees exactly the batches an uninterrupted
run would. With ``generator=`` (a :class:`shendu.Generator`, as in PyTorch) or neither, the draws
come from that generator or shendu's global one, so restoring its state restores the order.

>>> import numpy as np
>>> from shendu.data import TensorDataset
>>> ds = TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
>>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
>>> len(loader), [len(y) for _, y in loader]
(3, [4, 4, 2])
"""

from __future__ import annotations

import numbers
import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from shendu import random as _random
from shendu.data.dataset import Dataset, Subset, TensorDataset
from shendu.data.transforms import call_transform
from shendu.tensor import Tensor

__all__ = ["DataLoader", "default_collate", "get_worker_info", "WorkerInfo"]


def _array_source(dataset: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray | None] | None:
    """``(arrays, index_map)`` when ``dataset`` is backed by whole arrays, else None.

    For a Subset, ``index_map`` turns the loader's positions into rows of the underlying arrays.
    """
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return dataset.arrays, None
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        inner = _array_source(dataset.dataset)
        if inner is None:
            return None
        arrays, index_map = inner
        rows = dataset.indices if index_map is None else index_map[dataset.indices]
        return arrays, rows
    return None


def _stack_leaves(samples: list[Any]) -> np.ndarray | None:
    """Stack tensors, arrays or numbers into one array (PyTorch's dtypes), or None if not leaves."""
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        if isinstance(first, np.ndarray) and first.dtype.kind in "OUS":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {first.dtype}")
        return np.stack([np.asarray(s) for s in samples])
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(samples, dtype=np.bool_)
    if isinstance(first, numbers.Integral):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, numbers.Real):
        return np.asarray(samples, dtype=np.float64)  # PyTorch: a Python float batches as float64
    return None


def default_collate(samples: list[Any]) -> Any:
    """Merge a list of samples into one batch, field by field, as PyTorch's ``default_collate``.

    Tensors, ndarrays and NumPy scalars are stacked along a new first axis; Python ints become an
    int64 Tensor, floats float64, bools bool; strings stay a list; dicts, tuples, lists and
    namedtuples are collated per key/position and keep their type. Example:
    ``[(x0, y0), (x1, y1)] -> (stack([x0, x1]), tensor([y0, y1]))``.

    >>> b = default_collate([{"x": np.zeros(2, np.float32), "y": 1}, {"x": np.ones(2, np.float32), "y": 2}])
    >>> b["x"].shape, b["y"].dtype, b["y"].tolist()
    ((2, 2), dtype('int64'), [1, 2])
    """
    if not samples:
        raise ValueError("default_collate: got an empty batch")
    first = samples[0]
    stacked = _stack_leaves(samples)
    if stacked is not None:
        return Tensor._wrap(stacked)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        return type(first)({k: default_collate([s[k] for s in samples]) for k in first})  # type: ignore[call-arg]
    if isinstance(first, Sequence):
        width = len(first)
        for s in samples:
            if not isinstance(s, Sequence) or len(s) != width:
                raise ValueError(
                    f"default_collate: every sample must have {width} fields like the first, got {s!r:.60}"
                )
        fields = [default_collate([s[i] for s in samples]) for i in range(width)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: samples must contain Tensors, ndarrays, numbers, strings, dicts or "
        f"sequences; found {type(first).__name__} (pass collate_fn= to batch other types)"
    )


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (``get_worker_info()`` inside a worker, as in PyTorch)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_local = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the calling DataLoader worker; None in the main thread."""
    return getattr(_worker_local, "info", None)


def _check_int(value: Any, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"DataLoader: {name} must be a {kind} integer, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a :class:`Dataset` (array-backed ones are batched without per-sample calls).
        batch_size: samples per batch (the last one is smaller unless ``drop_last``).
        shuffle: visit a new random permutation each epoch (else the dataset's order).
        sampler: an iterable of indices giving the order (instead of ``shuffle``).
        batch_sampler: an iterable of index lists, one per batch (instead of the four above).
        num_workers: worker threads loading batches ahead (0: load in the calling thread).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for PyTorch scripts; shendu's arrays live in ordinary memory.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        timeout: seconds to wait for a worker's batch before a RuntimeError (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker when it starts.
        generator: a :class:`shendu.Generator` for the order and the workers' base seed.
        prefetch_factor: batches loaded ahead per worker (default 2, only with workers).
        persistent_workers: keep the workers (and their generators) from one epoch to the next.
        seed: fixes the order and augmentation of every epoch: epoch ``e`` uses a generator made
            from ``(seed, e)``. (shendu's own, for exact resuming; cannot be used with ``generator``.)
        transform: applied to the first field (the images, ``(B, C, H, W)``) of each batch, with
            the epoch's generator, e.g. ``transforms.RandomAffine(10, (0.1, 0.1))``.

    For :class:`ArrayDataset` a batch is ``(images (B, C, H, W) float32, labels (B,) int64)``.
    """

    # declared here so type checkers know them before __init__ is analysed (import cycle via Tensor)
    dataset: Dataset
    batch_size: int
    shuffle: bool
    sampler: Iterable[int] | None
    batch_sampler: Iterable[Sequence[int]] | None
    num_workers: int
    collate_fn: Callable[[list[Any]], Any] | None
    pin_memory: bool
    pin_memory_device: str
    drop_last: bool
    timeout: float
    worker_init_fn: Callable[[int], Any] | None
    generator: _random.Generator | None
    prefetch_factor: int
    persistent_workers: bool
    seed: int | None
    transform: Callable | None
    epoch: int

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], Any] | None = None,
        generator: _random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        seed: int | None = None,
        transform: Callable | None = None,
    ) -> None:
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self.num_workers = _check_int(num_workers, "num_workers", 0)
        if seed is not None:
            seed = _check_int(seed, "seed", 0)
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed= or generator=, not both")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(
                f"DataLoader: generator must be a shendu.Generator, got {type(generator).__name__}"
            )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError(
                "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler "
                "and drop_last"
            )
        if self.num_workers == 0 and (persistent_workers or prefetch_factor is not None):
            raise ValueError(
                "DataLoader: persistent_workers and prefetch_factor need num_workers > 0, "
                f"got num_workers=0 (persistent_workers={persistent_workers}, "
                f"prefetch_factor={prefetch_factor})"
            )
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a non-negative number, got {timeout!r}")
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"DataLoader: {name} must be callable, got {type(fn).__name__}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)  # nothing to pin: no accelerator memory to copy to
        self.pin_memory_device = pin_memory_device
        self.drop_last = bool(drop_last)
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = (
            2 if prefetch_factor is None else _check_int(prefetch_factor, "prefetch_factor", 1)
        )
        self.persistent_workers = bool(persistent_workers)
        self.seed = seed
        self.transform = transform
        self.epoch = 0
        self._pool: _WorkerPool | None = None

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` epoch ``epoch`` (use when resuming a run)."""
        if not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _epoch_generator(self, epoch: int) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng(np.random.SeedSequence([self.seed, epoch]))
        return _random.numpy_generator(self.generator, "DataLoader")

    def _index_batches(self, gen: np.random.Generator) -> list[np.ndarray]:
        """This epoch's batches as index arrays."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.asarray(list(self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = gen.permutation(n) if self.shuffle else np.arange(n)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return [order[s : s + self.batch_size] for s in range(0, stop, self.batch_size)]

    def __iter__(self) -> Iterator[Any]:
        # the epoch advances when iteration starts, so a loop broken off mid-epoch still counts
        epoch = self.epoch
        self.epoch += 1
        gen = self._epoch_generator(epoch)
        batches = self._index_batches(gen)
        if self.num_workers == 0:
            return (self._finish(self._fetch(idx), gen) for idx in batches)
        base_seed = int(gen.integers(2**62))  # as PyTorch, drawn once per epoch for the workers
        return self._from_workers(batches, base_seed, gen)

    def _fetch(self, idx: np.ndarray) -> Any:
        """Load the samples at ``idx`` and collate them into one batch."""
        if self.collate_fn is None:
            source = _array_source(self.dataset)
            if source is not None:
                arrays, index_map = source
                rows = idx if index_map is None else index_map[idx]
                return tuple(Tensor._wrap(a[rows]) for a in arrays)
            return default_collate([self.dataset[int(i)] for i in idx])
        return self.collate_fn([self.dataset[int(i)] for i in idx])

    def _from_workers(
        self, batches: list[np.ndarray], base_seed: int, gen: np.random.Generator
    ) -> Iterator[Any]:
        pool = self._pool
        if pool is None or not self.persistent_workers:
            pool = _WorkerPool(self, base_seed)
            if self.persistent_workers:
                self._pool = pool
        try:
            yield from (self._finish(b, gen) for b in pool.run(batches))
        finally:
            if not self.persistent_workers:
                pool.close()

    def _finish(self, batch: Any, gen: np.random.Generator) -> Any:
        if self.transform is None:
            return batch
        if isinstance(batch, (tuple, list)):
            fields = list(batch)
            fields[0] = Tensor._wrap(_unwrap(call_transform(self.transform, _unwrap(fields[0]), gen)))
            return type(batch)(fields) if isinstance(batch, list) else tuple(fields)
        return Tensor._wrap(_unwrap(call_transform(self.transform, _unwrap(batch), gen)))

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, num_workers={self.num_workers}, seed={self.seed}, "
            f"epoch={self.epoch})"
        )


class _WorkerPool:
    """``num_workers`` threads; batch ``k`` of a run goes to worker ``k % num_workers``.

    Each worker keeps one queue in and one out and handles its batches first come first served, so
    reading worker ``k % n``'s out-queue gives batch ``k``: the loader yields batches in order.
    """

    def __init__(self, loader: DataLoader, base_seed: int) -> None:
        self.loader = loader
        self.n = loader.num_workers
        self.inboxes: list[queue.Queue] = [queue.Queue() for _ in range(self.n)]
        self.outboxes: list[queue.Queue] = [queue.Queue() for _ in range(self.n)]
        self.run_id = 0
        self.threads = [
            threading.Thread(target=self._work, args=(w, base_seed), daemon=True, name=f"shendu-loader-{w}")
            for w in range(self.n)
        ]
        for t in self.threads:
            t.start()

    def _work(self, wid: int, base_seed: int) -> None:
        info = WorkerInfo(wid, self.n, base_seed + wid, self.loader.dataset)
        _worker_local.info = info
        _random.set_worker_generator(np.random.default_rng(np.random.SeedSequence([base_seed, wid])))
        init_error: BaseException | None = None
        if self.loader.worker_init_fn is not None:
            try:
                self.loader.worker_init_fn(wid)
            except BaseException as e:  # reported with the first batch this worker owes
                init_error = e
        while True:
            task = self.inboxes[wid].get()
            if task is None:
                return
            run_id, k, idx = task
            if init_error is not None:
                self.outboxes[wid].put((run_id, k, False, init_error))
                continue
            try:
                self.outboxes[wid].put((run_id, k, True, self.loader._fetch(idx)))
            except BaseException as e:  # the main thread re-raises it
                self.outboxes[wid].put((run_id, k, False, e))

    def run(self, batches: list[np.ndarray]) -> Iterator[Any]:
        """Yield the collated batches in order, keeping ``prefetch_factor`` per worker in flight."""
        self.run_id += 1
        run_id, n, ahead = self.run_id, self.n, self.loader.prefetch_factor * self.n
        sent = 0
        for k in range(len(batches)):
            while sent < len(batches) and sent < k + ahead:
                self.inboxes[sent % n].put((run_id, sent, batches[sent]))
                sent += 1
            yield self._result(run_id, k)

    def _result(self, run_id: int, k: int) -> Any:
        outbox = self.outboxes[k % self.n]
        while True:
            try:
                got_run, got_k, ok, value = outbox.get(timeout=self.loader.timeout or None)
            except queue.Empty:
                raise RuntimeError(
                    f"DataLoader timed out after {self.loader.timeout} seconds waiting for batch {k}"
                ) from None
            if got_run != run_id:
                continue  # left over from an epoch that was broken off
            if not ok:
                raise value
            if got_k != k:  # cannot happen: a worker answers its batches in order
                raise RuntimeError(f"DataLoader worker returned batch {got_k} while batch {k} was expected")
            return value

    def close(self) -> None:
        for box in self.inboxes:
            while not box.empty():  # drop batches not started yet
                try:
                    box.get_nowait()
                except queue.Empty:
                    break
            box.put(None)
        for t in self.threads:
            t.join()


def _unwrap(x: Any) -> np.ndarray:
    return np.asarray(x)
