"""DataLoader: walk a dataset in mini-batches, every sample exactly once per epoch.

One optimiser step per batch makes the course's three kinds of gradient descent the same loop:
``batch_size=len(dataset)`` is batch gradient descent, ``batch_size=1`` stochastic gradient descent,
anything between mini-batch gradient descent.

Each epoch visits a permutation of the dataset (never sampling with replacement), so an epoch
sees every sample once. Array-backed datasets (:class:`TensorDataset`, :class:`ArrayDataset` and
:class:`Subset` of them) are batched by fancy-indexing the whole arrays, ``images[idx]``, one
NumPy call per batch; other datasets, and subclasses that override ``__getitem__``, fall back to
``dataset[i]`` per sample, then stacking.

Reproducibility and resuming: with ``seed`` the order (and the random draws of ``transform``) of
epoch ``e`` comes from a generator seeded with ``(seed, e)``, whatever happened before. The loader
counts its epochs: the ``k``-th ``iter(loader)`` (from 0) is epoch ``k``. A run resumed after ``k``
finished epochs calls ``loader.set_epoch(k)`` and then sees exactly the batches an uninterrupted
run would. Without ``seed`` the draws come from shendu's global generator, so restoring its state
(``shendu.set_rng_state``, stored in checkpoints) restores the order.

>>> import numpy as np
>>> from shendu.data import TensorDataset
>>> ds = TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
>>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
>>> len(loader), [len(y) for _, y in loader]
(3, [4, 4, 2])
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterator

import numpy as np

from shendu import random as _random
from shendu.data.dataset import Dataset, Subset, TensorDataset
from shendu.data.transforms import call_transform
from shendu.tensor import Tensor


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


def _as_field_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(value, dtype=np.bool_)
    if isinstance(value, numbers.Integral):
        return np.asarray(value, dtype=np.int64)
    if isinstance(value, numbers.Real):
        return np.asarray(value, dtype=np.float32)  # PyTorch's default for Python floats
    raise TypeError(
        f"DataLoader cannot batch a sample field of type {type(value).__name__}; "
        f"return Tensors, ndarrays or numbers from __getitem__"
    )


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of samples field by field: ``[(x0, y0), (x1, y1)] -> (stack(x), stack(y))``.

    Fields may be shendu Tensors, ndarrays or numbers (ints become int64, floats float32).
    Returns ndarrays with the same structure as one sample (tuple or single value).
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        for s in samples:
            if not isinstance(s, (tuple, list)) or len(s) != width:
                raise ValueError(f"DataLoader: samples must all have {width} fields, got {s!r:.60}")
        return tuple(np.stack([_as_field_array(s[i]) for s in samples]) for i in range(width))
    return np.stack([_as_field_array(s) for s in samples])


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``; each batch is a tuple of Tensors.

    Args:
        dataset: a :class:`Dataset` (array-backed ones are batched without per-sample calls).
        batch_size: samples per batch (the last one is smaller unless ``drop_last``).
        shuffle: visit a new random permutation each epoch (else the dataset's order).
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        seed: fixes the order and augmentation of every epoch: epoch ``e`` uses a generator made
            from ``(seed, e)``. None: draw from shendu's global generator.
        transform: applied to the first field (the images, ``(B, C, H, W)``) of each batch, with
            the epoch's generator, e.g. ``transforms.RandomAffine(10, (0.1, 0.1))``.

    For :class:`ArrayDataset` a batch is ``(images (B, C, H, W) float32, labels (B,) int64)``.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        transform: Callable | None = None,
    ) -> None:
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"DataLoader: seed must be a non-negative integer or None, got {seed!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = None if seed is None else int(seed)
        self.transform = transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` epoch ``epoch`` (use when resuming a run)."""
        if not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _generator(self, epoch: int) -> np.random.Generator:
        if self.seed is None:
            return _random.default_generator()
        return np.random.default_rng(np.random.SeedSequence([self.seed, epoch]))

    def __iter__(self) -> Iterator[Any]:
        # the epoch advances when iteration starts, so a loop broken off mid-epoch still counts
        epoch = self.epoch
        self.epoch += 1
        return self._batches(epoch)

    def _batches(self, epoch: int) -> Iterator[Any]:
        n = len(self.dataset)
        gen = self._generator(epoch)
        order = gen.permutation(n) if self.shuffle else np.arange(n)
        source = _array_source(self.dataset)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            if source is not None:
                arrays, index_map = source
                rows = idx if index_map is None else index_map[idx]
                batch: Any = tuple(a[rows] for a in arrays)
            else:
                batch = default_collate([self.dataset[int(i)] for i in idx])
            yield self._finish(batch, gen)

    def _finish(self, batch: Any, gen: np.random.Generator) -> Any:
        if isinstance(batch, tuple):
            fields = list(batch)
            if self.transform is not None:
                fields[0] = _unwrap(call_transform(self.transform, fields[0], gen))
            return tuple(Tensor._wrap(f) for f in fields)
        if self.transform is not None:
            batch = _unwrap(call_transform(self.transform, batch, gen))
        return Tensor._wrap(batch)

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed}, epoch={self.epoch})"
        )


def _unwrap(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)
