"""Datasets: indexable collections of samples, as ``torch.utils.data``.

A :class:`Dataset` answers ``len(ds)`` and ``ds[i]``. :class:`TensorDataset` holds whole arrays
(the first axis indexes the samples); the :class:`~shendu.data.DataLoader` batches such datasets by
fancy-indexing the arrays instead of calling ``ds[i]`` once per sample. :class:`ArrayDataset` is a
labelled image dataset (``images: (N, C, H, W)`` float32, ``labels: (N,)`` int64) with class names;
every named dataset (``load_dataset("mnist-5k")``...) is one.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from shendu import random as _random
from shendu.tensor import Tensor


class Dataset:
    """Abstract dataset: subclasses define ``__getitem__(i)`` and ``__len__()``.

    ``ds[i]`` usually returns a tuple ``(x, y)``; the DataLoader stacks the fields of a batch.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _as_array(x: Any, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return np.asarray(x)
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what}: expected a shendu Tensor or a NumPy array, got {type(x).__name__}")


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: ``ds[i] == (t[i] for t in tensors)``.

    Accepts shendu Tensors or ndarrays (kept without copying); ``.tensors`` gives them as Tensors,
    ``.arrays`` as ndarrays.

    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((3, 2), np.float32), np.arange(3))
    >>> len(ds), ds[2][1].item()
    (3, 2)
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        arrays = tuple(_as_array(t, f"TensorDataset argument {i}") for i, t in enumerate(tensors))
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a scalar; each needs a first (sample) axis")
        lengths = [a.shape[0] for a in arrays]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(
                f"TensorDataset: all tensors need the same first dimension (number of samples), "
                f"got shapes {shapes}"
            )
        self.arrays: tuple[np.ndarray, ...] = arrays

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(np.asarray(a[index])) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]


class ArrayDataset(TensorDataset):
    """A labelled image dataset held in memory.

    Attributes: ``images`` ``(N, C, H, W)`` float32, ``labels`` ``(N,)`` int64 in
    ``[0, num_classes)``, ``classes`` (names, ``classes[k]`` is label ``k``), ``num_classes``,
    ``name`` and ``split``. ``ds[i]`` is ``(image (C, H, W), label ())`` as Tensors.

    >>> import numpy as np
    >>> ds = ArrayDataset(np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 1, 0]), classes=["a", "b"])
    >>> ds.num_classes, ds.images.shape
    (2, (4, 1, 2, 2))
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str] | None = None,
        name: str = "",
        split: str = "",
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must be (N, C, H, W), got shape {images.shape}")
        if images.dtype != np.float32:
            raise ValueError(f"ArrayDataset: images must be float32, got {images.dtype}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(
                f"ArrayDataset: labels must be a 1-d integer array, got shape {labels.shape} "
                f"dtype {labels.dtype}"
            )
        labels = labels.astype(np.int64, copy=False)
        if classes is None:
            classes = [str(k) for k in range(int(labels.max()) + 1 if labels.size else 0)]
        classes = list(classes)
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"ArrayDataset {name or ''}: labels must lie in [0, {len(classes)}), "
                f"got range [{labels.min()}, {labels.max()}]"
            )
        super().__init__(images, labels)
        self.images: np.ndarray = images
        self.labels: np.ndarray = labels
        self.classes: list[str] = classes
        self.name = name
        self.split = split

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n={n}, "
            f"image_shape=({c}, {h}, {w}), num_classes={self.num_classes})"
        )


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}), got range [{idx.min()}, {idx.max()}]")
        self.dataset = dataset
        self.indices = idx % n if n else idx

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return int(self.indices.size)


class ConcatDataset(Dataset):
    """The samples of several datasets one after another: ``len`` is the sum of their lengths.

    >>> ds = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
    >>> len(ds), ds[3][0].item(), ds[-1][0].item()
    (5, 10, 11)
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if not hasattr(d, "__len__") or not hasattr(d, "__getitem__"):
                raise TypeError(f"ConcatDataset: expected map-style datasets, got {type(d).__name__}")
        self.cumulative_sizes: list[int] = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        index %= n
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: _random.Generator | None = None,
    seed: int | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (the remainder of
    the rounding goes to the first parts, as in PyTorch). The permutation comes from ``generator``
    (a :class:`shendu.Generator`, as in PyTorch) or a generator seeded with ``seed``; with
    neither, it draws from shendu's global generator.

    >>> a, b = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
    >>> len(a), len(b)
    (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1.0) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ValueError(
            f"random_split: lengths {lengths} must be counts summing to len(dataset)={n} "
            f"or fractions summing to 1"
        )
    if seed is not None and generator is not None:
        raise ValueError("random_split: give generator= or seed=, not both")
    rng = (
        np.random.default_rng(seed)
        if seed is not None
        else _random.numpy_generator(generator, "random_split")
    )
    perm = rng.permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[bounds[i] : bounds[i + 1]]) for i in range(len(counts))]


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(first, second)`` splitting each class so ``second`` holds ``fraction`` of it.

    The split is fixed by ``seed`` (not by the global generator); each class contributes
    ``round(fraction * count)`` samples to ``second``. Both index arrays are sorted.

    >>> first, second = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, seed=0)
    >>> len(first), len(second), sorted(np.array([0, 0, 0, 0, 1, 1, 1, 1])[second].tolist())
    (6, 2, [0, 1])
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"stratified_split: fraction must lie in [0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    second = []
    for k in np.unique(labels):  # a loop over classes, not samples
        members = np.flatnonzero(labels == k)
        take = int(round(fraction * members.size))
        second.append(rng.permutation(members)[:take])
    second_idx = np.sort(np.concatenate(second)) if second else np.zeros(0, np.int64)
    mask = np.ones(labels.shape[0], bool)
    mask[second_idx] = False
    return np.flatnonzero(mask), second_idx
